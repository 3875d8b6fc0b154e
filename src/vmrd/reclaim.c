/* SPDX-License-Identifier: MIT */
#include "vmrd/reclaim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fileio.h"

/* The signal that interrupts a step; its handler does nothing but end the write. */
#define RECLAIM_SIGNAL (SIGRTMIN + 1)
#define RECLAIM_STOP_WAIT_USEC 1000000

static void on_interrupt(int sig)
{
	(void)sig;
}

static int write_step(struct reclaim *rc, uint64_t n)
{
	char text[48];

	snprintf(text, sizeof(text), rc->swappiness ? "%" PRIu64 " swappiness=0" : "%" PRIu64, n);
	return fileio_write_at(rc->dirfd, "memory.reclaim", text);
}

/* Runs on the worker thread; only this thread takes RECLAIM_SIGNAL. */
static void trim_job(void *arg)
{
	struct reclaim *rc = arg;
	struct reclaim_result *res = &rc->result;
	uint64_t start = clock_now_usec();
	sigset_t sig;

	sigemptyset(&sig);
	sigaddset(&sig, RECLAIM_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &sig, NULL);
	pthread_mutex_lock(&rc->job_lock);
	rc->job_thread = pthread_self();
	rc->job_running = true;
	pthread_mutex_unlock(&rc->job_lock);

	memset(res, 0, sizeof(*res));
	res->asked_bytes = rc->job_bytes;
	while (res->reclaimed_bytes < rc->job_bytes) {
		uint64_t n = rc->job_bytes - res->reclaimed_bytes;
		int r;

		if (worker_cancelled(rc->worker)) {
			res->status = -ECANCELED;
			break;
		}
		r = write_step(rc, n < rc->job_step ? n : rc->job_step);
		if (r < 0) {
			res->status = r;
			break;
		}
		res->reclaimed_bytes += n < rc->job_step ? n : rc->job_step;
	}
	res->elapsed_usec = clock_now_usec() - start;

	pthread_mutex_lock(&rc->job_lock);
	rc->job_running = false;
	pthread_mutex_unlock(&rc->job_lock);
	pthread_sigmask(SIG_BLOCK, &sig, NULL);
}

static int install_interrupt(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the blocked write must return. */
	return sigaction(RECLAIM_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int reclaim_start(struct reclaim *rc, int rootfd, const char *cgroup_path)
{
	int r;

	memset(rc, 0, sizeof(*rc));
	rc->dirfd = openat(rootfd, cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc->dirfd < 0)
		return -errno;
	if (faccessat(rc->dirfd, "memory.reclaim", W_OK, 0) < 0) {
		r = -errno;
		goto out;
	}
	r = install_interrupt();
	if (r < 0)
		goto out;
	/* Reclaiming nothing with swappiness= is refused (EINVAL) by kernels that lack it. */
	rc->swappiness = fileio_write_at(rc->dirfd, "memory.reclaim", "0 swappiness=0") == 0;
	pthread_mutex_init(&rc->job_lock, NULL);
	r = worker_new(trim_job, rc, &rc->worker);
	if (r < 0) {
		pthread_mutex_destroy(&rc->job_lock);
		goto out;
	}
	rc->started = true;
	return 0;
out:
	close(rc->dirfd);
	rc->dirfd = -1;
	return r;
}

void reclaim_stop(struct reclaim *rc)
{
	int r;

	if (!rc->started)
		return;
	rc->started = false;
	(void)reclaim_interrupt(rc);
	r = worker_stop(rc->worker, RECLAIM_STOP_WAIT_USEC);
	rc->worker = NULL;
	if (r < 0)
		return; /* the job still uses rc and its descriptor: leave both to the process's end */
	pthread_mutex_destroy(&rc->job_lock);
	close(rc->dirfd);
	rc->dirfd = -1;
}

int reclaim_submit(struct reclaim *rc, uint64_t bytes, uint64_t step_bytes, uint64_t now_usec)
{
	int r;

	if (!rc->started)
		return -ENOTCONN;
	if (rc->busy)
		return -EBUSY;
	if (bytes == 0 || step_bytes == 0)
		return -EINVAL;
	rc->job_bytes = bytes;
	rc->job_step = step_bytes;
	r = worker_start(rc->worker);
	if (r < 0)
		return r;
	rc->busy = true;
	rc->interrupted = false;
	rc->submitted_usec = now_usec;
	return 0;
}

void reclaim_abort(struct reclaim *rc)
{
	if (rc->started && rc->busy)
		worker_cancel(rc->worker);
}

bool reclaim_interrupt(struct reclaim *rc)
{
	bool sent = false;

	if (!rc->worker)
		return false;
	worker_cancel(rc->worker);
	pthread_mutex_lock(&rc->job_lock);
	if (rc->job_running)
		sent = pthread_kill(rc->job_thread, RECLAIM_SIGNAL) == 0;
	pthread_mutex_unlock(&rc->job_lock);
	rc->interrupted = rc->interrupted || sent;
	return sent;
}

bool reclaim_busy(const struct reclaim *rc)
{
	return rc->busy;
}

uint64_t reclaim_since_usec(const struct reclaim *rc)
{
	return rc->busy ? rc->submitted_usec : 0;
}

int reclaim_fd(const struct reclaim *rc)
{
	return rc->started ? worker_fd(rc->worker) : -1;
}

int reclaim_collect(struct reclaim *rc, struct reclaim_result *ret)
{
	if (!rc->started || worker_collect(rc->worker) != 1)
		return 0;
	*ret = rc->result;
	rc->busy = false;
	return 1;
}
