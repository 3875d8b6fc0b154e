/* SPDX-License-Identifier: MIT */
/*
 * The exec backend runs an administrator's command for each request:
 *
 *   /bin/sh -c "$command" vmrd-exec <target_bytes>
 *
 * so the command string may use "$1" (and shell syntax), and a script
 * named in it reads the environment: VMRD_TARGET_BYTES, VMRD_SEQ,
 * VMRD_URGENCY (low, normal, high, critical) and VMRD_REASON.  It runs in
 * its own process group with stdin from /dev/null, stderr inherited (it
 * lands in the daemon's log) and stdout in a pipe.  The request is done
 * when the command exits:
 *
 *   exit 0           status 0, reason "ok"; current_bytes is the size the
 *                    command printed on the first line of stdout (a size as
 *                    in the config: "4294967296" or "4G"), or the target
 *                    when that line is not a size.
 *   exit N           status -EIO, reason "exit_N".
 *   killed by sig N  status -EIO, reason "signal_N".
 *   timeout          the whole process group is killed: -ETIMEDOUT, "timeout".
 *
 * fd() is an epoll descriptor holding the child's pidfd, its stdout pipe
 * and a timerfd for the timeout; it stays the same for the backend's life.
 * The daemon must not set SIGCHLD to SIG_IGN, or the kernel reaps the
 * child before we can read its status.
 *
 * Config keys ([backend]): command (required), timeout (duration, 30s),
 * current_command (optional: prints the current size; run synchronously
 * by query() within the same timeout, so it must be quick; without it the
 * current size is MemTotal of proc/meminfo), min (default: MemTotal when
 * the backend opens, so it never shrinks below the boot size unless told
 * to), max (required), block (default 2M).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "backends/backend.h"
#include "core/parse.h"
#include "core/proto.h"
#include "sensors/meminfo.h"

extern char **environ;

#define EXEC_OUT_MAX 256
#define EXEC_DEFAULT_TIMEOUT_USEC (30u * 1000000u)
#define EXEC_DEFAULT_BLOCK_BYTES (2u << 20)

struct exec_child {
	pid_t pid;
	int pidfd;
	int outfd;
	char out[EXEC_OUT_MAX];
	size_t out_len;
};

struct exec_backend {
	int rootfd;
	char *command;
	char *current_command;
	uint64_t timeout_usec;
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint64_t block_bytes;

	int epfd;
	int timerfd;
	bool busy;
	bool timed_out;
	uint64_t seq;
	uint64_t target_bytes;
	struct exec_child child;
};

/* The daemon's environment without our variables, plus extra; NULL-terminated. */
static char **exec_env(char *const extra[], size_t n_extra)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + n_extra + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "VMRD_", 5) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; i < n_extra; i++)
		env[k++] = extra[i];
	env[k] = NULL;
	return env;
}

static int exec_spawn(const char *command, const char *arg1, char *const extra_env[],
		      size_t n_extra, struct exec_child *ret)
{
	char *argv[] = { "sh", "-c", (char *)command, "vmrd-exec", (char *)arg1, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int pipefd[2] = { -1, -1 };
	char **env = NULL;
	pid_t pid;
	int pidfd, r;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	/* Only our end: the command's stdout must block like any other stdout. */
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto out;
	}
	env = exec_env(extra_env, n_extra);
	if (!env) {
		r = -ENOMEM;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawnattr_init(&attr);
	/* The daemon blocks signals for its signalfd; the command must not inherit that. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	/* Its own process group, so a timeout kills everything the command started. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					       POSIX_SPAWN_SETPGROUP);
	/* Without arg1 the list simply ends after $0. */
	r = -posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r < 0)
		goto out;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		r = -errno;
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	ret->pidfd = pidfd;
	ret->outfd = pipefd[0];
	pipefd[0] = -1;
	r = 0;
out:
	free(env);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	close(pipefd[1]);
	return r;
}

/* Keep the first EXEC_OUT_MAX - 1 bytes of stdout and discard the rest, so a chatty command cannot block. */
static void exec_drain(struct exec_child *c, int epfd)
{
	char scratch[512];

	while (c->outfd >= 0) {
		ssize_t n = read(c->outfd, scratch, sizeof(scratch));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (epfd >= 0)
				epoll_ctl(epfd, EPOLL_CTL_DEL, c->outfd, NULL);
			close(c->outfd);
			c->outfd = -1;
			return;
		}
		for (ssize_t i = 0; i < n && c->out_len + 1 < sizeof(c->out); i++)
			c->out[c->out_len++] = scratch[i];
		c->out[c->out_len] = '\0';
	}
}

/* 1 and *ret_info when the child has exited (and is reaped), 0 while it runs. */
static int exec_reap(struct exec_child *c, siginfo_t *ret_info)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, (id_t)c->pid, &info, WEXITED | WNOHANG) < 0)
		return -errno;
	if (info.si_pid == 0)
		return 0;
	*ret_info = info;
	return 1;
}

static void exec_child_close(struct exec_child *c, int epfd)
{
	if (c->outfd >= 0) {
		if (epfd >= 0)
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->outfd, NULL);
		close(c->outfd);
		c->outfd = -1;
	}
	if (c->pidfd >= 0) {
		if (epfd >= 0)
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->pidfd, NULL);
		close(c->pidfd);
		c->pidfd = -1;
	}
}

/* The size on the first line of the output, if it is one. */
static int exec_output_size(const char *out, uint64_t *ret)
{
	char line[EXEC_OUT_MAX];
	size_t n = 0;

	while (*out == ' ' || *out == '\t')
		out++;
	while (out[n] && out[n] != '\n' && n + 1 < sizeof(line)) {
		line[n] = out[n];
		n++;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	line[n] = '\0';
	return parse_size(line, ret);
}

/* Run current_command to completion within the timeout; its first line is the size. */
static int exec_run_current(struct exec_backend *s, uint64_t *ret_bytes)
{
	uint64_t deadline = clock_now_usec() + s->timeout_usec;
	struct exec_child c;
	siginfo_t info;
	int r;

	r = exec_spawn(s->current_command, NULL, NULL, 0, &c);
	if (r < 0)
		return r;
	for (;;) {
		struct pollfd p[2] = { { .fd = c.pidfd, .events = POLLIN },
				       { .fd = c.outfd, .events = POLLIN } };
		uint64_t now = clock_now_usec();

		exec_drain(&c, -1);
		r = exec_reap(&c, &info);
		if (r != 0)
			break;
		if (now >= deadline) {
			kill(-c.pid, SIGKILL);
			waitid(P_PID, (id_t)c.pid, &info, WEXITED);
			r = -ETIMEDOUT;
			goto out;
		}
		p[1].fd = c.outfd;
		poll(p, 2, (int)((deadline - now + 999) / 1000));
	}
	if (r < 0)
		goto out;
	exec_drain(&c, -1);
	if (info.si_code != CLD_EXITED || info.si_status != 0) {
		r = -EIO;
		goto out;
	}
	r = exec_output_size(c.out, ret_bytes) < 0 ? -EBADMSG : 0;
out:
	exec_child_close(&c, -1);
	return r;
}

static int exec_open(const struct vmrd_backend_env *env, void **ret_state)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct exec_backend *s;
	struct meminfo mi;
	const char *v;
	int r;

	backend_set_last_error(NULL);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rootfd = env->rootfd;
	s->epfd = s->timerfd = -1;
	s->child.pidfd = s->child.outfd = -1;
	s->timeout_usec = EXEC_DEFAULT_TIMEOUT_USEC;
	s->block_bytes = EXEC_DEFAULT_BLOCK_BYTES;

	r = -EINVAL;
	v = backend_config(env, "command");
	if (!v || !*v) {
		backend_set_last_error("exec: no command configured");
		goto fail;
	}
	s->command = strdup(v);
	v = backend_config(env, "current_command");
	if (v && *v)
		s->current_command = strdup(v);
	if (!s->command || (v && *v && !s->current_command)) {
		r = -ENOMEM;
		goto fail;
	}
	if ((r = backend_config_duration(env, "exec", "timeout", &s->timeout_usec)) < 0)
		goto fail;
	if ((r = backend_config_size(env, "exec", "block", &s->block_bytes)) < 0)
		goto fail;
	if ((r = backend_config_size(env, "exec", "max", &s->max_bytes)) <= 0) {
		if (r == 0)
			backend_set_last_error("exec: no max configured");
		r = -EINVAL;
		goto fail;
	}
	if ((r = backend_config_size(env, "exec", "min", &s->min_bytes)) < 0)
		goto fail;
	if (r == 0) {
		r = meminfo_read(s->rootfd, &mi);
		if (r < 0) {
			backend_set_last_error("exec: no min configured and proc/meminfo unreadable");
			goto fail;
		}
		s->min_bytes = mi.mem_total_bytes;
	}
	if (s->block_bytes == 0 || s->min_bytes > s->max_bytes) {
		backend_set_last_error("exec: block is 0 or min above max");
		r = -EINVAL;
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->epfd < 0 || s->timerfd < 0) {
		r = -errno;
		goto fail;
	}
	ev.data.fd = s->timerfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	*ret_state = s;
	return 0;
fail:
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	free(s->command);
	free(s->current_command);
	free(s);
	return r;
}

static int exec_query(void *state, struct vmrd_backend_info *ret_info)
{
	struct exec_backend *s = state;
	uint64_t current;
	int r;

	if (s->current_command) {
		r = exec_run_current(s, &current);
		if (r < 0)
			return r;
	} else {
		struct meminfo mi;

		r = meminfo_read(s->rootfd, &mi);
		if (r < 0)
			return r;
		current = mi.mem_total_bytes;
	}
	ret_info->current_bytes = current;
	ret_info->min_bytes = s->min_bytes;
	ret_info->max_bytes = s->max_bytes;
	ret_info->block_bytes = s->block_bytes;
	return 0;
}

static int exec_request(void *state, const struct vmrd_backend_request *req)
{
	struct exec_backend *s = state;
	struct epoll_event ev = { .events = EPOLLIN };
	struct itimerspec its = { 0 };
	char target[24], e_target[48], e_seq[48], e_urg[48], e_reason[64];
	char *extra[] = { e_target, e_seq, e_urg, e_reason };
	int r;

	if (s->busy)
		return -EBUSY;
	snprintf(target, sizeof(target), "%" PRIu64, req->target_bytes);
	snprintf(e_target, sizeof(e_target), "VMRD_TARGET_BYTES=%" PRIu64, req->target_bytes);
	snprintf(e_seq, sizeof(e_seq), "VMRD_SEQ=%" PRIu64, req->seq);
	snprintf(e_urg, sizeof(e_urg), "VMRD_URGENCY=%s", proto_urgency_name(backend_urgency_from_abi(req->urgency)));
	snprintf(e_reason, sizeof(e_reason), "VMRD_REASON=%.*s", VMRD_BACKEND_REASON_MAX,
		 req->reason);
	r = exec_spawn(s->command, target, extra, 4, &s->child);
	if (r < 0)
		return r;
	ev.data.fd = s->child.pidfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->child.pidfd, &ev) < 0)
		goto fail;
	ev.data.fd = s->child.outfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->child.outfd, &ev) < 0)
		goto fail;
	its.it_value.tv_sec = (time_t)(s->timeout_usec / 1000000u);
	its.it_value.tv_nsec = (long)(s->timeout_usec % 1000000u) * 1000;
	if (timerfd_settime(s->timerfd, 0, &its, NULL) < 0)
		goto fail;
	s->busy = true;
	s->timed_out = false;
	s->seq = req->seq;
	s->target_bytes = req->target_bytes;
	return 0;
fail:
	r = -errno;
	kill(-s->child.pid, SIGKILL);
	waitpid(s->child.pid, NULL, 0);
	exec_child_close(&s->child, s->epfd);
	return r;
}

static int exec_fd(void *state)
{
	struct exec_backend *s = state;

	return s->epfd;
}

static void exec_fill_done(struct exec_backend *s, const siginfo_t *info,
			   struct vmrd_backend_event *ev)
{
	uint64_t printed;

	memset(ev, 0, sizeof(*ev));
	ev->type = VMRD_BACKEND_EV_DONE;
	ev->seq = s->seq;
	ev->target_bytes = s->target_bytes;
	ev->current_bytes = s->target_bytes;
	if (s->timed_out) {
		ev->status = -ETIMEDOUT;
		snprintf(ev->reason, sizeof(ev->reason), "timeout");
	} else if (info->si_code == CLD_EXITED && info->si_status == 0) {
		ev->status = 0;
		snprintf(ev->reason, sizeof(ev->reason), "ok");
		if (exec_output_size(s->child.out, &printed) == 0)
			ev->current_bytes = ev->target_bytes = printed;
	} else if (info->si_code == CLD_EXITED) {
		ev->status = -EIO;
		snprintf(ev->reason, sizeof(ev->reason), "exit_%d", info->si_status);
	} else {
		ev->status = -EIO;
		snprintf(ev->reason, sizeof(ev->reason), "signal_%d", info->si_status);
	}
	/* A failed command changed nothing we can vouch for. */
	if (ev->status < 0)
		ev->current_bytes = ev->target_bytes = 0;
}

static int exec_next_event(void *state, struct vmrd_backend_event *ret_event)
{
	struct exec_backend *s = state;
	struct itimerspec off = { 0 };
	uint64_t expirations;
	siginfo_t info;
	int r;

	if (!s->busy)
		return 0;
	exec_drain(&s->child, s->epfd);
	if (read(s->timerfd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations) &&
	    !s->timed_out) {
		/* The group is ours until the leader is reaped, so its id cannot be reused yet. */
		kill(-s->child.pid, SIGKILL);
		s->timed_out = true;
	}
	r = exec_reap(&s->child, &info);
	if (r <= 0)
		return r;
	exec_drain(&s->child, s->epfd);
	timerfd_settime(s->timerfd, 0, &off, NULL);
	exec_fill_done(s, &info, ret_event);
	exec_child_close(&s->child, s->epfd);
	s->busy = false;
	return 1;
}

static void exec_close(void *state)
{
	struct exec_backend *s = state;

	if (!s)
		return;
	if (s->busy) {
		kill(-s->child.pid, SIGKILL);
		waitpid(s->child.pid, NULL, 0);
		exec_child_close(&s->child, s->epfd);
	}
	close(s->epfd);
	close(s->timerfd);
	free(s->command);
	free(s->current_command);
	free(s);
}

const struct vmrd_backend_ops backend_exec_ops = {
	.abi_version = VMRD_BACKEND_ABI_VERSION,
	.name = "exec",
	.open = exec_open,
	.query = exec_query,
	.request = exec_request,
	.fd = exec_fd,
	.next_event = exec_next_event,
	.close = exec_close,
};
