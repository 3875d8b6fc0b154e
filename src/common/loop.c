/* SPDX-License-Identifier: MIT */
#include "common/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Events taken per epoll_wait; more wait for the next turn, none are lost. */
#define LOOP_BATCH 64

int loop_init(struct loop *l)
{
	l->n_again = 0;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

static int ctl(struct loop *l, int op, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(l->epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

int loop_add(struct loop *l, struct loop_watch *w, uint32_t events)
{
	return ctl(l, EPOLL_CTL_ADD, w, events);
}

int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events)
{
	return ctl(l, EPOLL_CTL_MOD, w, events);
}

void loop_del(struct loop *l, struct loop_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	/* Its owner may free it after this turn: no pointer to it may stay. */
	for (unsigned i = 0; i < l->n_again; i++)
		if (l->again[i] == w)
			l->again[i--] = l->again[--l->n_again];
	w->again = false;
}

void loop_watch_close(struct loop *l, struct loop_watch *w)
{
	if (w->fd < 0)
		return;
	loop_del(l, w);
	close(w->fd);
	w->fd = -1;
}

int loop_again(struct loop *l, struct loop_watch *w)
{
	if (w->again)
		return 0;
	if (l->n_again == LOOP_AGAIN_MAX)
		return -ENOSPC;
	l->again[l->n_again++] = w;
	w->again = true;
	return 0;
}

/*
 * Those that asked before this turn, taken before its handlers run: one
 * that asks again during the turn is called on the next one.
 */
static unsigned take_again(struct loop *l, struct loop_watch **todo)
{
	unsigned n = l->n_again;

	memcpy(todo, l->again, n * sizeof(todo[0]));
	l->n_again = 0;
	return n;
}

static void run_again(struct loop_watch **todo, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct loop_watch *w = todo[i];

		/* An earlier handler of this turn may have deleted it (loop_del clears again). */
		if (!w->again)
			continue;
		w->again = false;
		if (w->fd >= 0)
			w->fn(w, 0);
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	struct loop_watch *todo[LOOP_AGAIN_MAX];
	int n = epoll_wait(l->epfd, evs, LOOP_BATCH, l->n_again ? 0 : timeout_ms);
	unsigned again;

	if (n < 0 && errno != EINTR)
		return -errno;
	if (n < 0)
		n = 0;
	again = take_again(l, todo);
	for (int i = 0; i < n; i++) {
		struct loop_watch *w = evs[i].data.ptr;

		/*
		 * A handler earlier in this batch may have closed this watch
		 * (its owner keeps the memory until the turn is over).
		 */
		if (w->fd >= 0)
			w->fn(w, evs[i].events);
	}
	run_again(todo, again);
	return n + (int)again;
}

int loop_signal_open(struct loop_watch *w, const sigset_t *mask)
{
	if (sigprocmask(SIG_BLOCK, mask, NULL) < 0)
		return -errno;
	w->fd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return w->fd < 0 ? -errno : 0;
}

int loop_timer_open(struct loop_watch *w)
{
	w->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return w->fd < 0 ? -errno : 0;
}

static struct timespec usec_ts(uint64_t usec)
{
	return (struct timespec){ .tv_sec = (time_t)(usec / 1000000),
				  .tv_nsec = (long)(usec % 1000000) * 1000 };
}

int loop_timer_set(struct loop_watch *w, uint64_t first_usec, uint64_t period_usec)
{
	struct itimerspec its = { .it_value = usec_ts(first_usec), .it_interval = usec_ts(period_usec) };

	return timerfd_settime(w->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

uint64_t loop_timer_read(struct loop_watch *w)
{
	uint64_t ticks;

	return read(w->fd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks) ? ticks : 0;
}

int loop_flush(int fd, char *buf, size_t *len)
{
	while (*len > 0) {
		ssize_t n = send(fd, buf, *len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		memmove(buf, buf + n, *len - (size_t)n);
		*len -= (size_t)n;
	}
	return 0;
}

int loop_connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
