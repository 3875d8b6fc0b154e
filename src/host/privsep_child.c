/* SPDX-License-Identifier: MIT */
#include "host/privsep_child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/loop.h"
#include "host/privsep.h"
#include "host/privsep_read.h"

#if defined(__SANITIZE_ADDRESS__)
#define PRIVSEP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PRIVSEP_ASAN 1
#endif
#endif

/* Our end of the socketpair, where the parent expects nothing else. */
#define CHILD_SOCK_FD 3
/* How often throttled channels look at their line budget. */
#define CHILD_THROTTLE_POLL_MS 50

struct child {
	struct loop loop;
	struct loop_watch sock;
	struct privsep_chan **chans;     /* by slot */
	uint32_t cap;
	struct privsep_chan **dead;      /* closed this turn, freed after it */
	uint32_t n_dead;
	uint32_t cap_dead;
	bool hang;                       /* self-test: stuck at the first ping */
};

static const char *const exit_why[] = {
	[PRIVSEP_EXIT_SETUP - PRIVSEP_EXIT_SETUP] = "could not set up its descriptors or signals",
	[PRIVSEP_EXIT_PRIVS - PRIVSEP_EXIT_SETUP] = "could not drop privileges (setgroups/setgid/setuid)",
	[PRIVSEP_EXIT_NO_NEW_PRIVS - PRIVSEP_EXIT_SETUP] = "could not set no_new_privs",
	[PRIVSEP_EXIT_SECCOMP - PRIVSEP_EXIT_SETUP] = "could not load its seccomp filter",
	[PRIVSEP_EXIT_LOOP - PRIVSEP_EXIT_SETUP] = "epoll failed or it ran out of memory",
	[PRIVSEP_EXIT_PROTO - PRIVSEP_EXIT_SETUP] = "the parent sent it a malformed record",
	[PRIVSEP_EXIT_SELFTEST - PRIVSEP_EXIT_SETUP] = "self-test: open() was allowed",
};

const char *privsep_exit_why(int status)
{
	if (status == PRIVSEP_EXIT_OK)
		return "its socket closed";
	if (status < PRIVSEP_EXIT_SETUP || status > PRIVSEP_EXIT_SELFTEST)
		return NULL;
	return exit_why[status - PRIVSEP_EXIT_SETUP];
}

/*
 * The system calls the reader makes once sandboxed, and why; anything
 * else kills it (SECCOMP_RET_KILL_PROCESS, seen by the parent as SIGSYS).
 */
static const int allowed[] = {
	SCMP_SYS(recvfrom),      /* recv() of guest bytes */
	SCMP_SYS(recvmsg),       /* the parent's records, with a descriptor */
	SCMP_SYS(sendto),        /* send() of our records */
	SCMP_SYS(epoll_wait),    /* the loop (glibc uses either) */
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),     /* watching channels */
	SCMP_SYS(close),         /* channels the parent let go */
	SCMP_SYS(clock_gettime), /* line budgets, when the vDSO falls back */
	SCMP_SYS(brk),           /* malloc */
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),        /* realloc of the channel table */
	SCMP_SYS(madvise),       /* free() giving pages back */
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(exit_group),
	SCMP_SYS(exit),
#ifdef PRIVSEP_ASAN
	/* AddressSanitizer's allocator and its reports (the make check build). */
	SCMP_SYS(mprotect),
	SCMP_SYS(sched_yield),
	SCMP_SYS(futex),
	SCMP_SYS(getpid),
	SCMP_SYS(gettid),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction),
#endif
};

/* SCMP_An(SCMP_CMP_EQ, v) with every field set (clang's -Wmissing-field-initializers). */
static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}

static int load_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* write() only to stderr: glibc's and the sanitizers' last words before an abort. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
				     arg_eq(0, STDERR_FILENO));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* Signals: the parent's are not ours; we end with it (PDEATHSIG) or when its socket closes. */
static int setup_signals(const struct privsep_sandbox *sb)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	sigset_t none;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	/* The parent may have died before PDEATHSIG was set. */
	return getppid() == sb->parent ? 0 : -ESRCH;
}

/* Nothing but our socket and stderr; stdin and stdout are /dev/null. */
static int setup_fds(int sock)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		return -errno;
	if (sock != CHILD_SOCK_FD && dup2(sock, CHILD_SOCK_FD) < 0)
		return -errno;
	if (close_range(CHILD_SOCK_FD + 1, ~0u, 0) < 0)
		return -errno;
	return 0;
}

static int drop_privileges(const struct privsep_sandbox *sb)
{
	if (!sb->drop)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
	    setresuid(sb->uid, sb->uid, sb->uid) < 0)
		return -errno;
	/* There must be no way back. */
	return setuid(0) == 0 ? -EPERM : 0;
}

static void send_rec(void *ctx, struct privsep_chan *c, const struct privsep_rec *rec)
{
	/* Blocking: a parent that is busy slows us, and so the guests, down. */
	while (send(CHILD_SOCK_FD, rec, sizeof(*rec), MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			_exit(PRIVSEP_EXIT_OK); /* the parent is gone */
}

static void chan_del(struct child *ch, uint32_t slot)
{
	struct privsep_chan *c = slot < ch->cap ? ch->chans[slot] : NULL;
	struct privsep_chan **d;

	if (!c)
		return;
	privsep_chan_close(c);
	ch->chans[slot] = NULL;
	/* An event for it may still be in this turn's batch: freed after the turn. */
	if (ch->n_dead == ch->cap_dead) {
		d = realloc(ch->dead, (ch->cap_dead * 2 + 8) * sizeof(*d));
		if (!d)
			_exit(PRIVSEP_EXIT_LOOP);
		ch->dead = d;
		ch->cap_dead = ch->cap_dead * 2 + 8;
	}
	ch->dead[ch->n_dead++] = c;
}

static void chan_add(struct child *ch, const struct privsep_rec *rec, int fd)
{
	struct privsep_chan *c;

	if (rec->slot >= PRIVSEP_MAX_SLOTS || fd < 0)
		_exit(PRIVSEP_EXIT_PROTO);
	if (rec->slot >= ch->cap) {
		uint32_t cap = rec->slot + 64 < PRIVSEP_MAX_SLOTS ? rec->slot + 64 : PRIVSEP_MAX_SLOTS;
		struct privsep_chan **t = realloc(ch->chans, cap * sizeof(*t));

		if (!t)
			_exit(PRIVSEP_EXIT_LOOP);
		memset(t + ch->cap, 0, (cap - ch->cap) * sizeof(*t));
		ch->chans = t;
		ch->cap = cap;
	}
	chan_del(ch, rec->slot);
	c = malloc(sizeof(*c));
	if (!c || privsep_chan_open(c, &ch->loop, fd, rec->slot, rec->id, rec->lines_per_wakeup,
				    send_rec, ch) < 0)
		_exit(PRIVSEP_EXIT_LOOP);
	privsep_chan_budget(c, rec->lines_tokens);
	ch->chans[rec->slot] = c;
}

/*
 * The watchdog's ping, answered; the self-test stands for a parser stuck in
 * a loop.  The ping carries the lines per wakeup of now (a reload changes it).
 */
static void pong(struct child *ch, const struct privsep_rec *ping)
{
	struct privsep_rec rec = { .type = PRIVSEP_PONG, .id = ping->id };

	for (uint32_t i = 0; ping->lines_per_wakeup && i < ch->cap; i++)
		if (ch->chans[i])
			ch->chans[i]->lines_per_wakeup = ping->lines_per_wakeup;
	while (*(volatile bool *)&ch->hang)
		;
	send_rec(ch, NULL, &rec);
}

/* One record from the parent (and the descriptor an ADD carries). */
static bool take_record(struct child *ch)
{
	struct privsep_rec rec;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = &rec, .iov_len = sizeof(rec) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	ssize_t n = recvmsg(CHILD_SOCK_FD, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0)
		_exit(PRIVSEP_EXIT_OK);
	h = CMSG_FIRSTHDR(&mh);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
	    h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	if (n != (ssize_t)sizeof(rec) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		_exit(PRIVSEP_EXIT_PROTO);
	if (rec.type == PRIVSEP_ADD)
		chan_add(ch, &rec, fd);
	else if (rec.type == PRIVSEP_DEL && fd < 0)
		chan_del(ch, rec.slot);
	else if (rec.type == PRIVSEP_PING && fd < 0)
		pong(ch, &rec);
	else
		_exit(PRIVSEP_EXIT_PROTO);
	return true;
}

static void on_sock(struct loop_watch *w, uint32_t events)
{
	struct child *ch = LOOP_OWNER(w, struct child, sock);

	for (int i = 0; i < PRIVSEP_RECS_PER_TURN; i++)
		if (!take_record(ch))
			return;
	loop_again(&ch->loop, w);
}

/* Backlogs and throttled channels, after every turn; the wait for the next one. */
static int after_turn(struct child *ch)
{
	uint64_t now_usec = clock_now_usec();
	int timeout_ms = -1;

	for (uint32_t i = 0; i < ch->n_dead; i++)
		free(ch->dead[i]);
	ch->n_dead = 0;
	for (uint32_t i = 0; i < ch->cap; i++) {
		struct privsep_chan *c = ch->chans[i];

		if (!c)
			continue;
		privsep_chan_tick(c, now_usec);
		if (c->backlog)
			privsep_chan_drain(c, now_usec);
		/* A drain may have closed nothing (only the parent's DEL does), so c is still ours. */
		if (c->backlog)
			timeout_ms = 0;
		else if (c->throttled && timeout_ms < 0)
			timeout_ms = CHILD_THROTTLE_POLL_MS;
	}
	return timeout_ms;
}

void privsep_child_main(int sock, const struct privsep_sandbox *sb)
{
	static struct child ch;
	const char *selftest = getenv("VMRD_PRIVSEP_SELFTEST");
	int timeout_ms = -1;

	if (setup_fds(sock) < 0)
		_exit(PRIVSEP_EXIT_SETUP);
	if (drop_privileges(sb) < 0)
		_exit(PRIVSEP_EXIT_PRIVS);
	/* After the uid change, which clears the parent-death signal. */
	if (setup_signals(sb) < 0)
		_exit(PRIVSEP_EXIT_SETUP);
	if (loop_init(&ch.loop) < 0)
		_exit(PRIVSEP_EXIT_LOOP);
	loop_watch_init(&ch.sock, on_sock);
	ch.sock.fd = CHILD_SOCK_FD;
	if (loop_add(&ch.loop, &ch.sock, EPOLLIN) < 0)
		_exit(PRIVSEP_EXIT_LOOP);
	/* Not dumpable: no one but root may ptrace us or read our memory. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
		_exit(PRIVSEP_EXIT_NO_NEW_PRIVS);
	if (load_filter() < 0)
		_exit(PRIVSEP_EXIT_SECCOMP);
	/* VMRD_PRIVSEP_SELFTEST=hang: stuck at the first ping, for the watchdog's test. */
	ch.hang = selftest && strcmp(selftest, "hang") == 0;
	/* Otherwise the test that the filter is real: this open() must kill us with SIGSYS. */
	if (selftest && !ch.hang && open("/dev/null", O_RDONLY) != -2)
		_exit(PRIVSEP_EXIT_SELFTEST);
	for (;;) {
		if (loop_run_once(&ch.loop, timeout_ms) < 0)
			_exit(PRIVSEP_EXIT_LOOP);
		timeout_ms = after_turn(&ch);
	}
}
