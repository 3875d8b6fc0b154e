/* SPDX-License-Identifier: MIT */
/* The guest daemon's privileges after start; sandbox.h says what and why. */
#include "vmrd/sandbox.h"

#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

void sandbox_plan(bool enabled, const char *backend, bool mlock, struct sandbox_plan *ret)
{
	struct sandbox_plan p = { 0 };

	if (!enabled) {
		p.why = "[security] sandbox = no";
	} else if (strcmp(backend, "exec") == 0) {
		p.no_new_privs = true;
		p.why = "backend exec: its commands inherit vmrd's capabilities and filter and may need "
			"any system call";
	} else {
		p.no_new_privs = p.drop_caps = p.seccomp = true;
		p.keep_caps = mlock ? SANDBOX_CAP(CAP_IPC_LOCK) : 0;
	}
	*ret = p;
}

/* ---- 2. capabilities ---- */

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

/* One 64-bit set out of the two 32-bit halves capget() fills. */
#define CAPS64(data, set) ((uint64_t)(data)[1].set << 32 | (data)[0].set)

static int caps_drop(uint64_t keep, struct sandbox_result *res)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t perm;
	int r;

	r = caps_get(data);
	if (r < 0)
		return r;
	perm = CAPS64(data, permitted);
	res->caps_before = res->caps_after = perm; /* caps_after changes once capset() succeeds */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	/*
	 * The bounding set first: dropping from it needs CAP_SETPCAP, which a
	 * service manager may have taken already (vmrd.service keeps only
	 * CAP_IPC_LOCK).  Then it is noted and not fatal: with no_new_privs,
	 * set before this, no exec can gain what the bounding set still holds.
	 */
	for (int c = 0; c < 64; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0)
			break; /* past the kernel's last capability */
		if (in == 1 && !(keep & SANDBOX_CAP(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 &&
		    !res->caps_err)
			res->caps_err = -errno;
	}
	perm &= keep;
	if (perm != res->caps_before ||
	    CAPS64(data, inheritable) != 0) {
		for (int i = 0; i < 2; i++) {
			data[i].permitted = data[i].effective = (uint32_t)(perm >> (32 * i));
			data[i].inheritable = 0;
		}
		/* A filter of the service manager may refuse capset (@privileged): noted too. */
		if (syscall(SYS_capset, &hdr, data) < 0) {
			res->caps_err = -errno;
			return 0;
		}
	}
	res->caps_after = perm;
	return 0;
}

/* ---- 3. seccomp ---- */

/*
 * By purpose.  Writes to sysfs and cgroup files are plain openat()/write();
 * which files is the mount namespace's business (vmrd.service), not the
 * filter's.  dlopen() of a plugin (the backend may open after start) needs
 * only openat, fstat, mmap and mprotect; the plugin's own calls must fit
 * here too, or [security] sandbox = no.
 */
static const char *const allowed[] = {
	/* files and descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "close_range",
	"open", "openat", "openat2", "stat", "fstat", "lstat", "newfstatat", "statx", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "fcntl", "dup", "dup2",
	"dup3", "pipe", "pipe2", "unlink", "unlinkat", "fsync", "fdatasync", "statfs", "fstatfs",
	"getcwd",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock", "mlock2", "munlock",
	"membarrier", "mincore",
	/* threads, signals, time */
	"clone", "clone3", "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq",
	"set_tid_address", "exit", "exit_group", "gettid", "getpid", "getppid", "tgkill", "tkill",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigsuspend",
	"sigaltstack", "restart_syscall", "sched_yield", "sched_getaffinity", "nanosleep",
	"clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
	/* the event loop */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
	"select", "pselect6", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"signalfd4",
	/* sockets (socket() itself below, by family; the control socket listens already) */
	"connect", "accept", "accept4", "getsockopt", "setsockopt",
	"getsockname", "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
	/* who and where we are */
	"getuid", "geteuid", "getgid", "getegid", "getgroups", "uname", "sysinfo", "getrandom",
	"prctl", "capget", "getpriority", "getrusage", "times",
#if SANDBOX_SANITIZED
	/* The ASan build's leak checker stops every thread with ptrace at exit. */
	"ptrace", "wait4", "waitid", "getdents", "kill",
#endif
};

/* Terminal and descriptor ioctls: a pty standing in for the port (host_link.c), isatty(). */
static const unsigned long allowed_ioctls[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, FIONREAD,
						FIONBIO, FIOCLEX, TIOCGWINSZ };

/* SCMP_An(SCMP_CMP_EQ, v) with every field set (clang's -Wmissing-field-initializers). */
static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}

static int seccomp_rules(scmp_filter_ctx ctx, unsigned *ret_n)
{
	unsigned n = 0;
	int r;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a system call on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return r;
		n++;
	}
	for (size_t i = 0; i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     arg_eq(1, allowed_ioctls[i]));
		if (r < 0)
			return r;
	}
	/* The host link (unix socket or AF_VSOCK), the control socket, sd_notify. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				  arg_eq(0, AF_UNIX))) < 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				  arg_eq(0, AF_VSOCK))) < 0)
		return r;
	/* getrlimit() only: prlimit64 without a new limit. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, arg_eq(2, 0));
	if (r < 0)
		return r;
	*ret_n = n + 3; /* ioctl, socket, prlimit64, each with its arguments checked */
	return 0;
}

static int seccomp_install(unsigned *ret_n)
{
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	/* Every thread; denials in the kernel log (a kernel without the flag still filters). */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0)
		goto out;
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	r = seccomp_rules(ctx, ret_n);
	if (r < 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

int sandbox_enter(const struct sandbox_plan *plan, struct sandbox_result *ret)
{
	struct sandbox_result res = { 0 };
	int r;

	if (plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (plan->drop_caps) {
		r = caps_drop(plan->keep_caps, &res);
		if (r < 0)
			return r;
	}
	if (plan->seccomp) {
		r = seccomp_install(&res.syscalls);
		if (r < 0)
			return r;
	}
	*ret = res;
	return 0;
}
