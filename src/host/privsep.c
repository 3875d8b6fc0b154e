/* SPDX-License-Identifier: MIT */
#include "host/privsep.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "host/privsep_child.h"

/* The uid and gid of nobody when the passwd database has none. */
#define PRIVSEP_NOBODY 65534

static int send_rec(struct privsep *ps, const struct privsep_rec *rec, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = (void *)rec, .iov_len = sizeof(*rec) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cm.h), &fd, sizeof(fd));
	}
	/* Never blocking: a child that does not take its records is replaced (child_failed()). */
	return sendmsg(ps->sock.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static void child_failed(struct privsep *ps, const char *why);

/* Send slot's pending ADD or DEL: 0, -EAGAIN (the socket is full), or another -errno. */
static int send_pending(struct privsep *ps, uint32_t i)
{
	struct privsep_slot *s = &ps->slots[i];
	struct privsep_rec rec = { .type = s->vm ? PRIVSEP_ADD : PRIVSEP_DEL, .slot = i, .id = s->id,
				   .lines_per_wakeup = ps->lines_per_wakeup,
				   .lines_tokens = s->vm ? vm_line_tokens(s->vm) : 0 };
	int r = send_rec(ps, &rec, s->vm ? s->fd : -1);

	if (r < 0)
		return r;
	if (s->vm)
		s->passed = true;
	else
		s->del_pending = false; /* free from now on */
	ps->n_pending--;
	return 0;
}

/*
 * Tell the child every ADD and DEL it has not been told.  A full socket
 * (a burst of channels at start, or at a restart with many of them) waits
 * for EPOLLOUT; any other failure replaces the child.
 */
static void flush(struct privsep *ps)
{
	int r = 0;

	for (uint32_t i = 0; r == 0 && ps->n_pending && ps->sock.fd >= 0 && i < ps->n_slots; i++)
		if ((ps->slots[i].vm && !ps->slots[i].passed) || ps->slots[i].del_pending)
			r = send_pending(ps, i);
	if (r < 0 && r != -EAGAIN) {
		child_failed(ps, strerror(-r));
		return;
	}
	if (ps->sock.fd >= 0 && loop_mod(ps->loop, &ps->sock, EPOLLIN | (r ? EPOLLOUT : 0)) < 0)
		child_failed(ps, "cannot watch its socket");
}

static void on_restart(struct loop_watch *w, uint32_t events);
static void on_records(struct loop_watch *w, uint32_t events);

/* Fork a child and give it every live channel. */
static int spawn(struct privsep *ps, uint64_t now_usec)
{
	struct privsep_sandbox sb = { .drop = ps->drop, .uid = ps->uid, .gid = ps->gid,
				      .parent = getpid() };
	int sv[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		privsep_child_main(sv[1], &sb);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return -errno;
	}
	ps->pid = pid;
	ps->started_usec = now_usec;
	ps->ping_usec = 0;
	ps->sock.fd = sv[0];
	r = loop_add(ps->loop, &ps->sock, EPOLLIN);
	if (r < 0) {
		child_failed(ps, "cannot watch its socket");
		return r;
	}
	/* The new child has nothing: every live channel is to be passed, no DEL is owed. */
	ps->n_pending = 0;
	for (uint32_t i = 0; i < ps->n_slots; i++) {
		ps->slots[i].passed = false;
		ps->slots[i].del_pending = false;
		ps->n_pending += ps->slots[i].vm != NULL;
	}
	flush(ps);
	return 0;
}

/* How a child ended, in words, for the one line that says so. */
static void describe(int status, char *buf, size_t size)
{
	const char *why;

	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		snprintf(buf, size, "killed by signal %d (SIG%s%s)", sig,
			 sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
			 sig == SIGSYS ? ": a system call outside its seccomp allow-list" : "");
		return;
	}
	why = privsep_exit_why(WEXITSTATUS(status));
	snprintf(buf, size, "exited with status %d (%s)", WEXITSTATUS(status),
		 why ? why : "unexpected");
}

/*
 * Reap the child (killed first: it may only have closed its socket), log
 * once how it ended, and fork the next one after the backoff.  why: the
 * parent's reason for killing it, NULL when it ended by itself.
 */
static void child_failed(struct privsep *ps, const char *why)
{
	uint64_t now_usec = clock_now_usec(), delay;
	char how[160];
	int status = 0, live = 0;

	if (ps->pid < 0)
		return;
	loop_watch_close(ps->loop, &ps->sock);
	kill(ps->pid, SIGKILL);
	while (waitpid(ps->pid, &status, 0) < 0 && errno == EINTR)
		;
	describe(status, how, sizeof(how));
	if (now_usec - ps->started_usec >= PRIVSEP_STABLE_USEC)
		backoff_succeeded(&ps->backoff);
	delay = backoff_failed(&ps->backoff, now_usec);
	for (uint32_t i = 0; i < ps->n_slots; i++)
		live += ps->slots[i].vm != NULL;
	log_warnx("guest reader (pid %d) %s%s%s after %llu ms; restarting it in %llu ms with %d "
		  "channels", (int)ps->pid, how, why ? ", killed by vmrd-host: " : "", why ? why : "",
		  (unsigned long long)((now_usec - ps->started_usec) / 1000),
		  (unsigned long long)(delay / 1000), live);
	ps->pid = -1;
	ps->last_status = status;
	ps->restarts_total++;
	loop_timer_set(&ps->restart, delay, 0);
}

static void on_restart(struct loop_watch *w, uint32_t events)
{
	struct privsep *ps = LOOP_OWNER(w, struct privsep, restart);
	uint64_t now_usec = clock_now_usec();
	int r;

	loop_timer_read(w);
	if (ps->pid >= 0)
		return;
	r = spawn(ps, now_usec);
	if (r < 0 && ps->pid < 0) {
		log_warnc(r, "cannot fork the guest reader; trying again in %llu ms",
			  (unsigned long long)(backoff_failed(&ps->backoff, now_usec) / 1000));
		loop_timer_set(&ps->restart, ps->backoff.retry_at_usec - now_usec, 0);
	} else if (r == 0) {
		log_info("guest reader restarted (pid %d)", (int)ps->pid);
	}
}

/* One record: to its VM if the channel is still the one the record is about. */
static int take_record(struct privsep *ps)
{
	struct privsep_rec rec;
	ssize_t n = ps->sock.fd < 0 ? 0 : recv(ps->sock.fd, &rec, sizeof(rec), MSG_DONTWAIT | MSG_TRUNC);
	struct privsep_slot *s;

	if (ps->sock.fd < 0)
		return 0; /* a delivery above replaced the child */
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		child_failed(ps, NULL);
		return -EPIPE;
	}
	if (n == (ssize_t)sizeof(rec) && rec.type == PRIVSEP_PONG) {
		if (rec.id == ps->ping_id)
			ps->ping_usec = 0;
		return 1;
	}
	if (n != (ssize_t)sizeof(rec) || privsep_rec_check(&rec) < 0 || rec.slot >= ps->n_slots) {
		ps->bad_records_total++;
		child_failed(ps, "it sent a malformed record");
		return -EPROTO;
	}
	s = &ps->slots[rec.slot];
	if (s->vm && s->id == rec.id)
		privsep_deliver(s->vm, &rec, clock_now_usec());
	return 1;
}

static void on_records(struct loop_watch *w, uint32_t events)
{
	struct privsep *ps = LOOP_OWNER(w, struct privsep, sock);

	if (events & EPOLLOUT)
		flush(ps);
	for (int i = 0; i < PRIVSEP_RECS_PER_TURN; i++)
		if (take_record(ps) <= 0)
			return;
	/* More may wait: the other descriptors have their turn first. */
	loop_again(ps->loop, w);
}

/*
 * Every PRIVSEP_PING_USEC: a child that left a ping unanswered for
 * PRIVSEP_STUCK_USEC is stuck (alive, so nothing else would notice) and
 * replaced; otherwise it gets the next ping.  What it already answered
 * counts, however long this loop was busy: its records are taken first.
 */
static void on_watchdog(struct loop_watch *w, uint32_t events)
{
	struct privsep *ps = LOOP_OWNER(w, struct privsep, watchdog);
	struct privsep_rec ping = { .type = PRIVSEP_PING, .lines_per_wakeup = ps->lines_per_wakeup };
	uint64_t now_usec = clock_now_usec();
	char why[80];
	int r;

	loop_timer_read(w);
	if (ps->pid < 0)
		return;
	for (int i = 0; ps->ping_usec && i < PRIVSEP_RECS_PER_TURN * 16; i++)
		if (take_record(ps) <= 0)
			break;
	if (ps->pid < 0 || ps->sock.fd < 0)
		return;
	if (ps->ping_usec && now_usec - ps->ping_usec >= PRIVSEP_STUCK_USEC) {
		snprintf(why, sizeof(why), "it answered no ping for %llu ms (stuck)",
			 (unsigned long long)((now_usec - ps->ping_usec) / 1000));
		child_failed(ps, why);
		return;
	}
	if (ps->ping_usec)
		return;
	ping.id = ++ps->ping_id;
	/* A full socket is a child that does not read: the ping counts as sent. */
	r = send_rec(ps, &ping, -1);
	if (r < 0 && r != -EAGAIN) {
		child_failed(ps, "cannot ping it");
		return;
	}
	ps->ping_usec = now_usec;
}

static int ps_attach(void *ctx, struct vm *vm)
{
	struct privsep *ps = ctx;
	uint32_t i = 0;

	while (i < ps->n_slots && (ps->slots[i].vm || ps->slots[i].del_pending))
		i++;
	if (i == ps->n_slots) {
		struct privsep_slot *t;

		if (i == PRIVSEP_MAX_SLOTS)
			return -ENOSPC;
		t = realloc(ps->slots, (i + 1) * sizeof(*t));
		if (!t)
			return -ENOMEM;
		ps->slots = t;
		ps->n_slots++;
	}
	ps->slots[i] = (struct privsep_slot){ .vm = vm, .id = ++ps->next_id, .fd = vm->ch.fd };
	ps->n_pending++;
	flush(ps);
	return 0;
}

static void ps_detach(void *ctx, struct vm *vm)
{
	struct privsep *ps = ctx;

	for (uint32_t i = 0; i < ps->n_slots; i++) {
		struct privsep_slot *s = &ps->slots[i];

		if (s->vm != vm)
			continue;
		/* The child closes its copy when told; a slot it never had is free at once. */
		if (!s->passed)
			ps->n_pending--;
		*s = (struct privsep_slot){ .vm = NULL, .fd = -1, .id = s->id,
					    .del_pending = s->passed && ps->sock.fd >= 0 };
		ps->n_pending += s->del_pending;
	}
	flush(ps);
}

static void ps_stats(void *ctx, struct vm_reader_stats *ret)
{
	const struct privsep *ps = ctx;

	*ret = (struct vm_reader_stats){ .pid = ps->pid, .restarts = ps->restarts_total,
					 .bad_records = ps->bad_records_total };
}

const struct vm_reader_ops privsep_reader_ops = { .attach = ps_attach, .detach = ps_detach,
						  .stats = ps_stats };

/* Who the child becomes when we are root: nobody, looked up now (NSS may open files). */
static void lookup_nobody(struct privsep *ps)
{
	const struct passwd *pw;

	ps->drop = geteuid() == 0;
	if (!ps->drop)
		return;
	pw = getpwnam("nobody");
	ps->uid = pw ? pw->pw_uid : PRIVSEP_NOBODY;
	ps->gid = pw ? pw->pw_gid : PRIVSEP_NOBODY;
}

int privsep_start(struct privsep *ps, struct loop *loop, uint32_t lines_per_wakeup)
{
	int r;

	memset(ps, 0, sizeof(*ps));
	ps->loop = loop;
	ps->pid = -1;
	ps->last_status = -1;
	ps->lines_per_wakeup = lines_per_wakeup;
	backoff_init(&ps->backoff, PRIVSEP_BACKOFF_MIN_USEC, PRIVSEP_BACKOFF_MAX_USEC);
	loop_watch_init(&ps->sock, on_records);
	loop_watch_init(&ps->restart, on_restart);
	loop_watch_init(&ps->watchdog, on_watchdog);
	lookup_nobody(ps);
	if ((r = loop_timer_open(&ps->restart)) < 0 || (r = loop_add(loop, &ps->restart, EPOLLIN)) < 0 ||
	    (r = loop_timer_open(&ps->watchdog)) < 0 || (r = loop_add(loop, &ps->watchdog, EPOLLIN)) < 0 ||
	    (r = loop_timer_set(&ps->watchdog, PRIVSEP_PING_USEC, PRIVSEP_PING_USEC)) < 0)
		return r;
	r = spawn(ps, clock_now_usec());
	if (r == 0)
		log_info("guest reader started (pid %d)%s", (int)ps->pid,
			 ps->drop ? ", running as nobody" : "");
	return r;
}

void privsep_set_lines_per_wakeup(struct privsep *ps, uint32_t lines_per_wakeup)
{
	ps->lines_per_wakeup = lines_per_wakeup;
}

void privsep_stop(struct privsep *ps)
{
	if (ps->pid >= 0) {
		loop_watch_close(ps->loop, &ps->sock);
		kill(ps->pid, SIGKILL);
		while (waitpid(ps->pid, NULL, 0) < 0 && errno == EINTR)
			;
		ps->pid = -1;
	}
	loop_watch_close(ps->loop, &ps->restart);
	loop_watch_close(ps->loop, &ps->watchdog);
	free(ps->slots);
	ps->slots = NULL;
	ps->n_slots = 0;
}
