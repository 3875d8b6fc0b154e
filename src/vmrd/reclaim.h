/* SPDX-License-Identifier: MIT */
#ifndef VMRD_RECLAIM_H
#define VMRD_RECLAIM_H

/*
 * The page-cache trimmer: writes cgroup v2 memory.reclaim in small steps on
 * the common worker thread.  A write can block for seconds while the
 * kernel reclaims; on its own thread that never delays sampling or
 * growing.  The daemon stops a trim at once when pressure rises (the
 * senpai idea): the job checks between steps, so at most one step is in
 * flight, and a step that runs past its timeout is interrupted (the
 * kernel's reclaim loop ends with EINTR on a signal).  Stopping the daemon
 * never waits on a blocked write: the thread is left to finish it.
 *
 * On kernels whose memory.reclaim takes "swappiness=" (6.13 and later),
 * every step asks for swappiness=0: trim page cache, spare anonymous
 * memory even where there is swap.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/worker.h"

struct reclaim_result {
	uint64_t asked_bytes;
	uint64_t reclaimed_bytes; /* steps the kernel completed */
	uint64_t elapsed_usec;
	/* 0, -EAGAIN (kernel could not), -ECANCELED (aborted), -EINTR (timed out), -errno */
	int status;
};

struct reclaim {
	int dirfd;                /* the cgroup directory */
	struct worker *worker;
	bool started;
	bool busy;                /* submitted and not yet collected */
	bool swappiness;          /* memory.reclaim takes swappiness= */
	bool interrupted;         /* reclaim_interrupt() was called for this job */
	uint64_t submitted_usec;

	/* The job: inputs before worker_start(), outputs after worker_collect(). */
	uint64_t job_bytes;
	uint64_t job_step;
	pthread_t job_thread;     /* set by the job, for reclaim_interrupt() */
	bool job_running;
	pthread_mutex_t job_lock; /* orders job_thread/job_running with reclaim_interrupt() */
	struct reclaim_result result;
};

/* -ENOENT when the cgroup has no memory.reclaim (cgroup v1, kernel < 5.19). */
int reclaim_start(struct reclaim *rc, int rootfd, const char *cgroup_path);
/* Stop, waiting at most 1 s for a running step; the descriptor must be out of the loop. */
void reclaim_stop(struct reclaim *rc);

/* -EBUSY while a trim runs, -ENOTCONN without memory.reclaim. */
int reclaim_submit(struct reclaim *rc, uint64_t bytes, uint64_t step_bytes, uint64_t now_usec);
/* Stop the running trim between steps. */
void reclaim_abort(struct reclaim *rc);
/*
 * Interrupt a step blocked in the kernel (the trim then ends with -EINTR).
 * Returns true when a step was running and was signalled.
 */
bool reclaim_interrupt(struct reclaim *rc);
bool reclaim_busy(const struct reclaim *rc);
/* When the running trim was submitted (0 when none runs). */
uint64_t reclaim_since_usec(const struct reclaim *rc);
int reclaim_fd(const struct reclaim *rc);
/* After reclaim_fd() is readable: 1 and the result, or 0 if none is pending. */
int reclaim_collect(struct reclaim *rc, struct reclaim_result *ret);

#endif
