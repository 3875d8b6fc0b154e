/* SPDX-License-Identifier: MIT */
#ifndef VMRD_WORKER_H
#define VMRD_WORKER_H

/*
 * One background thread that runs one job at a time and says so through an
 * eventfd, for work that can block for long and must stay off an event
 * loop: a sysfs memory block that takes seconds to offline, a
 * memory.reclaim write.
 *
 *	worker_new(job, arg, &w);          the thread waits for work
 *	loop_add(..., worker_fd(w), ...)   readable when a job has ended
 *	worker_start(w)                    run job(arg) once on the thread
 *	worker_collect(w) == 1             it ended; its outputs may be read
 *	worker_stop(w, timeout)            cancel, wait a bounded time, free
 *
 * The owner keeps the job's inputs and outputs in its own state (arg):
 * it writes the inputs before worker_start() and reads the outputs after
 * worker_collect() returned 1; the worker's mutex orders both.
 *
 * Cancellation is cooperative: worker_cancel() sets a flag the job polls
 * with worker_cancelled() between steps.  A job blocked inside a system
 * call cannot see it, so worker_stop() waits at most its timeout and then
 * leaves the thread behind: it finishes the job, sees it was abandoned and
 * frees the worker itself.  The owner must then keep whatever the job
 * uses alive (at exit, the process ending takes the thread with it).
 *
 * The thread blocks all signals (they stay with the daemon's signalfd) and
 * has a small stack, so mlockall() does not pin megabytes.
 */

#include <stdbool.h>
#include <stdint.h>

struct worker;

int worker_new(void (*job)(void *arg), void *arg, struct worker **ret);

/* Readable when a job has ended; the same descriptor for the worker's life. */
int worker_fd(const struct worker *w);

/* Run the job once; -EBUSY while the previous one runs or is not collected. */
int worker_start(struct worker *w);

/* 1 when the job ended (now collected), 0 while it runs or none was started. */
int worker_collect(struct worker *w);

/* Started and not yet collected. */
bool worker_busy(const struct worker *w);

/* Ask the running job to stop early; a job started later starts uncancelled. */
void worker_cancel(struct worker *w);

/* For the job: true once worker_cancel() or worker_stop() asked it to stop. */
bool worker_cancelled(const struct worker *w);

/*
 * Cancel the job, wait at most timeout_usec for it, and free the worker.
 * 0 when the thread was joined; -ETIMEDOUT when the job was still running
 * and the thread was left to finish it (see above).  The descriptor of
 * worker_fd() must be out of any epoll set before this is called.
 * UINT64_MAX waits for the job however long it takes.  NULL is ignored.
 */
int worker_stop(struct worker *w, uint64_t timeout_usec);

#endif
