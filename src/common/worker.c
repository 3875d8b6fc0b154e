/* SPDX-License-Identifier: MIT */
#include "common/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WORKER_STACK_BYTES (256u * 1024u)

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* the thread waits for work; stop waits for the job */
	void (*job)(void *arg);
	void *arg;
	int efd;
	atomic_bool cancel;
	bool pending;            /* started, not yet picked up by the thread */
	bool running;            /* the job is on the thread now */
	bool busy;               /* started, not yet collected */
	bool quit;
	bool abandoned;          /* stop gave up waiting: the thread frees the worker */
};

static void worker_destroy(struct worker *w)
{
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* After a job: signal the owner, or free everything when the owner has gone. */
static bool job_ended(struct worker *w)
{
	uint64_t one = 1;

	w->running = false;
	if (w->abandoned)
		return false;
	/* Signalled under the lock: collect() then sees the job's writes. */
	while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_cond_broadcast(&w->cond);
	return true;
}

static void *worker_main(void *p)
{
	struct worker *w = p;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		/* A started job runs even when quit came meanwhile: stop waits for it. */
		while (!w->pending && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->pending)
			break;
		w->pending = false;
		w->running = true;
		pthread_mutex_unlock(&w->lock);
		w->job(w->arg);
		pthread_mutex_lock(&w->lock);
		if (!job_ended(w)) {
			pthread_mutex_unlock(&w->lock);
			worker_destroy(w);
			return NULL;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int worker_new(void (*job)(void *arg), void *arg, struct worker **ret)
{
	struct worker *w;
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->job = job;
	w->arg = arg;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
	/* The thread inherits this mask: every signal stays with the daemon's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&w->thread, &attr, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		worker_destroy(w);
		return r;
	}
	*ret = w;
	return 0;
}

int worker_fd(const struct worker *w)
{
	return w->efd;
}

int worker_start(struct worker *w)
{
	int r = 0;

	pthread_mutex_lock(&w->lock);
	if (w->busy) {
		r = -EBUSY;
	} else {
		atomic_store(&w->cancel, false);
		w->busy = true;
		w->pending = true;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

int worker_collect(struct worker *w)
{
	uint64_t n;
	int r = 0;

	pthread_mutex_lock(&w->lock);
	if (read(w->efd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		w->busy = false;
		r = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

bool worker_busy(const struct worker *w)
{
	return w->busy;
}

void worker_cancel(struct worker *w)
{
	atomic_store(&w->cancel, true);
}

bool worker_cancelled(const struct worker *w)
{
	return atomic_load(&((struct worker *)w)->cancel);
}

static struct timespec deadline_after(uint64_t usec)
{
	struct timespec ts;

	/* pthread_cond_timedwait measures CLOCK_REALTIME unless told otherwise. */
	clock_gettime(CLOCK_REALTIME, &ts);
	/* A timeout of centuries (UINT64_MAX: wait for the job) must not overflow time_t. */
	if (usec / 1000000 > (uint64_t)1 << 40)
		usec = ((uint64_t)1 << 40) * 1000000;
	ts.tv_sec += (time_t)(usec / 1000000);
	ts.tv_nsec += (long)(usec % 1000000) * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

int worker_stop(struct worker *w, uint64_t timeout_usec)
{
	struct timespec until;
	int r = 0;

	if (!w)
		return 0;
	atomic_store(&w->cancel, true);
	until = deadline_after(timeout_usec);
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->cond);
	/* A job started but not yet picked up still runs, cancelled from the start. */
	while ((w->running || w->pending) && r == 0)
		r = -pthread_cond_timedwait(&w->cond, &w->lock, &until);
	if (w->running || w->pending) {
		/* Once unlocked the thread may free w at any moment: copy first. */
		pthread_t thread = w->thread;

		w->abandoned = true;
		pthread_mutex_unlock(&w->lock);
		pthread_detach(thread);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	worker_destroy(w);
	return 0;
}
