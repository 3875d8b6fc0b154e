/* SPDX-License-Identifier: MIT */
#include "vmrd/reclaim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"

static void trim(struct reclaim *rc, uint64_t bytes, uint64_t step, struct reclaim_result *res)
{
	uint64_t start = clock_now_usec();
	char text[32];

	memset(res, 0, sizeof(*res));
	res->asked_bytes = bytes;
	while (res->reclaimed_bytes < bytes) {
		uint64_t n = bytes - res->reclaimed_bytes;
		int r;

		if (atomic_load(&rc->abort)) {
			res->status = -ECANCELED;
			break;
		}
		if (n > step)
			n = step;
		snprintf(text, sizeof(text), "%" PRIu64, n);
		r = fileio_write_at(rc->dirfd, "memory.reclaim", text);
		if (r < 0) {
			res->status = r;
			break;
		}
		res->reclaimed_bytes += n;
	}
	res->elapsed_usec = clock_now_usec() - start;
}

static void *worker(void *arg)
{
	struct reclaim *rc = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&rc->lock);
	for (;;) {
		struct reclaim_result res;
		uint64_t bytes, step;

		while (!rc->quit && rc->job_bytes == 0)
			pthread_cond_wait(&rc->cond, &rc->lock);
		if (rc->quit)
			break;
		bytes = rc->job_bytes;
		step = rc->step_bytes;
		rc->job_bytes = 0;
		pthread_mutex_unlock(&rc->lock);

		trim(rc, bytes, step, &res);

		pthread_mutex_lock(&rc->lock);
		rc->result = res;
		if (write(rc->eventfd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow with one write per trim; nothing to do. */
		}
	}
	pthread_mutex_unlock(&rc->lock);
	return NULL;
}

int reclaim_start(struct reclaim *rc, int rootfd, const char *cgroup_path)
{
	pthread_attr_t attr;
	int r;

	memset(rc, 0, sizeof(*rc));
	rc->dirfd = rc->eventfd = -1;
	rc->dirfd = openat(rootfd, cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc->dirfd < 0)
		return -errno;
	if (faccessat(rc->dirfd, "memory.reclaim", W_OK, 0) < 0) {
		r = -errno;
		goto out;
	}
	rc->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rc->eventfd < 0) {
		r = -errno;
		goto out;
	}
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->cond, NULL);
	/*
	 * With mlockall(MCL_FUTURE) a default 8 MiB stack would be locked in
	 * full; the trimmer needs a few KiB.
	 */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	r = -pthread_create(&rc->thread, &attr, worker, rc);
	pthread_attr_destroy(&attr);
	if (r < 0)
		goto out;
	rc->started = true;
	return 0;
out:
	if (rc->eventfd >= 0)
		close(rc->eventfd);
	close(rc->dirfd);
	rc->dirfd = rc->eventfd = -1;
	return r;
}

void reclaim_stop(struct reclaim *rc)
{
	if (!rc->started)
		return;
	atomic_store(&rc->abort, true);
	pthread_mutex_lock(&rc->lock);
	rc->quit = true;
	pthread_cond_signal(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	pthread_join(rc->thread, NULL);
	close(rc->eventfd);
	close(rc->dirfd);
	rc->started = false;
}

int reclaim_submit(struct reclaim *rc, uint64_t bytes, uint64_t step_bytes)
{
	if (!rc->started)
		return -ENOTCONN;
	if (rc->busy)
		return -EBUSY;
	if (bytes == 0 || step_bytes == 0)
		return -EINVAL;
	atomic_store(&rc->abort, false);
	pthread_mutex_lock(&rc->lock);
	rc->job_bytes = bytes;
	rc->step_bytes = step_bytes;
	rc->busy = true;
	pthread_cond_signal(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	return 0;
}

void reclaim_abort(struct reclaim *rc)
{
	atomic_store(&rc->abort, true);
}

bool reclaim_busy(struct reclaim *rc)
{
	return rc->busy;
}

int reclaim_fd(const struct reclaim *rc)
{
	return rc->started ? rc->eventfd : -1;
}

int reclaim_collect(struct reclaim *rc, struct reclaim_result *ret)
{
	uint64_t n;

	if (!rc->started || read(rc->eventfd, &n, sizeof(n)) != sizeof(n))
		return 0;
	pthread_mutex_lock(&rc->lock);
	*ret = rc->result;
	rc->busy = false;
	pthread_mutex_unlock(&rc->lock);
	return 1;
}
