/* SPDX-License-Identifier: MIT */
#ifndef VMRD_LOOP_H
#define VMRD_LOOP_H

/*
 * The one event loop of each daemon: epoll, where every registered
 * descriptor is a struct loop_watch embedded in its owner.  epoll hands the
 * watch back and the loop calls its handler, so dispatch is one indirect
 * call, owners need no lookup table, and no integer tag ever shares the
 * epoll data field with a pointer.  The owner finds itself from the watch
 * with LOOP_OWNER().
 *
 * Signals and timers are descriptors like any other (signalfd, timerfd),
 * opened here so both daemons do it the same way.
 *
 * Fairness: a handler does a bounded amount of work per call.  One that
 * stopped at its bound with work left (a peer that floods it) calls
 * loop_again(); the next turn then does not wait, lets every descriptor
 * that is ready have its turn, and calls the handler again with events 0.
 * So a flood on one descriptor slows its own handling only: timers,
 * signals and the other descriptors keep their pace.
 */

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop_watch;
typedef void loop_handler(struct loop_watch *w, uint32_t events);

struct loop_watch {
	int fd;              /* -1 while not open */
	loop_handler *fn;    /* called with the epoll events */
	bool again;          /* loop_again() asked for a call on the next turn */
};

/* Watches that may wait for a call on the next turn at once. */
#define LOOP_AGAIN_MAX 8

struct loop {
	int epfd;
	struct loop_watch *again[LOOP_AGAIN_MAX];
	unsigned n_again;
};

/* The struct that embeds watch w as its member `member`. */
#define LOOP_OWNER(w, type, member) ((type *)(void *)((char *)(w) - offsetof(type, member)))

static inline void loop_watch_init(struct loop_watch *w, loop_handler *fn)
{
	w->fd = -1;
	w->fn = fn;
	w->again = false;
}

int loop_init(struct loop *l);
void loop_close(struct loop *l);

/* Register w->fd for events; the handler runs from loop_run_once(). */
int loop_add(struct loop *l, struct loop_watch *w, uint32_t events);
int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events);
/* Unregister w->fd (and forget a loop_again()); the descriptor stays open. */
void loop_del(struct loop *l, struct loop_watch *w);
/* Unregister and close w->fd; it becomes -1.  Harmless on a closed watch. */
void loop_watch_close(struct loop *l, struct loop_watch *w);

/*
 * Call w's handler (events 0) on the next turn, after the descriptors that
 * are ready then; the turn does not wait.  Asking twice is asking once.
 * -ENOSPC when LOOP_AGAIN_MAX watches already wait.
 */
int loop_again(struct loop *l, struct loop_watch *w);

/*
 * Wait up to timeout_ms (-1: no limit, 0: do not wait; no wait while a
 * loop_again() is pending), call the handler of every watch that has
 * events, then of every watch that asked to be called again.  Returns how
 * many were dispatched, or -errno (never -EINTR: that is 0).
 */
int loop_run_once(struct loop *l, int timeout_ms);

/* Block the signals in mask and open a non-blocking signalfd for them into w->fd. */
int loop_signal_open(struct loop_watch *w, const sigset_t *mask);

/* A non-blocking monotonic timerfd into w->fd, disarmed. */
int loop_timer_open(struct loop_watch *w);
/* Fire after first_usec (0: disarm), then every period_usec (0: once). */
int loop_timer_set(struct loop_watch *w, uint64_t first_usec, uint64_t period_usec);
/* Read the expiration count (0 if none, after a spurious wakeup). */
uint64_t loop_timer_read(struct loop_watch *w);

/*
 * Send as much of buf[0..*len) as the socket takes without blocking and
 * keep the rest at the front of buf; *len is what is left.  0 or -errno.
 */
int loop_flush(int fd, char *buf, size_t *len);

/*
 * A non-blocking, close-on-exec client connection to a unix stream socket.
 * Unix sockets connect at once or fail, so there is no in-progress state.
 */
int loop_connect_unix(const char *path);

#endif
