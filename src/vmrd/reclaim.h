/* SPDX-License-Identifier: MIT */
#ifndef VMRD_RECLAIM_H
#define VMRD_RECLAIM_H

/*
 * The page-cache trimmer: writes cgroup v2 memory.reclaim in small steps on
 * a thread of its own.  A write can block for seconds while the kernel
 * reclaims; on its own thread that never delays sampling or growing.  The
 * daemon aborts a trim at once when pressure rises (the senpai idea): the
 * thread checks between steps, so at most one step is in flight.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct reclaim_result {
	uint64_t asked_bytes;
	uint64_t reclaimed_bytes; /* steps the kernel completed */
	uint64_t elapsed_usec;
	int status;               /* 0, -EAGAIN (kernel could not), -ECANCELED (aborted), -errno */
};

struct reclaim {
	int dirfd;   /* the cgroup directory */
	int eventfd; /* readable when a trim finished */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool abort;
	bool started;
	bool quit;
	bool busy;
	uint64_t job_bytes;
	uint64_t step_bytes;
	struct reclaim_result result;
};

/* -ENOENT when the cgroup has no memory.reclaim (cgroup v1, kernel < 5.19). */
int reclaim_start(struct reclaim *rc, int rootfd, const char *cgroup_path);
void reclaim_stop(struct reclaim *rc);

/* -EBUSY while a trim runs. */
int reclaim_submit(struct reclaim *rc, uint64_t bytes, uint64_t step_bytes);
void reclaim_abort(struct reclaim *rc);
bool reclaim_busy(struct reclaim *rc);
int reclaim_fd(const struct reclaim *rc);
/* After reclaim_fd() is readable: 1 and the result, or 0 if none is pending. */
int reclaim_collect(struct reclaim *rc, struct reclaim_result *ret);

#endif
