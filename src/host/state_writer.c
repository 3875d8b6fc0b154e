/* SPDX-License-Identifier: MIT */
/* The state file written by a worker thread: see state_writer.h. */
#include "host/state_writer.h"

#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>

static void job(void *arg)
{
	struct state_writer *sw = arg;

	sw->job_result = state_save(sw->job_path, &sw->job);
}

/* Swap a and b: the states keep their storage, so steady writing allocates nothing. */
static void swap(struct state *a, struct state *b)
{
	struct state t = *a;

	*a = *b;
	*b = t;
}

static void start_next(struct state_writer *sw)
{
	int r;

	snprintf(sw->job_path, sizeof(sw->job_path), "%s", sw->next_path);
	swap(&sw->job, &sw->next);
	sw->next.n = 0;
	sw->has_next = false;
	r = sw->worker ? worker_start(sw->worker) : -ENOTCONN;
	if (r < 0) {
		/* No thread to run it: write here, as the broker did before it had one. */
		sw->job_result = state_save(sw->job_path, &sw->job);
		sw->ops->done(sw->ctx, sw->job_result, &sw->job);
	}
}

static void on_done(struct loop_watch *w, uint32_t events)
{
	struct state_writer *sw = LOOP_OWNER(w, struct state_writer, w);

	if (worker_collect(sw->worker) != 1)
		return;
	sw->ops->done(sw->ctx, sw->job_result, &sw->job);
	if (sw->has_next)
		start_next(sw);
}

void state_writer_init(struct state_writer *sw, struct loop *loop, const struct state_writer_ops *ops,
		       void *ctx)
{
	*sw = (struct state_writer){ .loop = loop, .ops = ops, .ctx = ctx };
	loop_watch_init(&sw->w, on_done);
}

int state_writer_start(struct state_writer *sw)
{
	int r;

	if (sw->worker)
		return 0;
	r = worker_new(job, sw, &sw->worker);
	if (r < 0)
		goto out;
	sw->w.fd = worker_fd(sw->worker);
	r = loop_add(sw->loop, &sw->w, EPOLLIN);
	if (r < 0) {
		sw->w.fd = -1;
		worker_stop(sw->worker, UINT64_MAX);
		goto out;
	}
	return 0;
out:
	sw->worker = NULL;
	return r;
}

void state_writer_submit(struct state_writer *sw, const char *path, struct state *st)
{
	snprintf(sw->next_path, sizeof(sw->next_path), "%s", path);
	swap(&sw->next, st);
	st->n = 0;
	sw->has_next = true;
	if (!sw->worker || !worker_busy(sw->worker))
		start_next(sw);
}

bool state_writer_busy(const struct state_writer *sw)
{
	return sw->has_next || (sw->worker && worker_busy(sw->worker));
}

void state_writer_close(struct state_writer *sw)
{
	if (sw->worker) {
		loop_del(sw->loop, &sw->w);
		/* The write under way is not cancelled (it has no steps): its end is waited for. */
		worker_stop(sw->worker, UINT64_MAX);
		sw->worker = NULL;
	}
	if (sw->has_next)
		start_next(sw);
	state_free(&sw->job);
	state_free(&sw->next);
}
