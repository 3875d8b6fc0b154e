/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_STATE_WRITER_H
#define VMRD_HOST_STATE_WRITER_H

/*
 * The state file written off the event loop.  state_save() fsyncs the file
 * and its directory, which takes tens of milliseconds on a busy disk; the
 * broker writes after every change of target, so on the loop a host with
 * many VMs would spend most of its time there and answer guests late.
 *
 * The loop hands the writer a finished state (state_writer_submit); the
 * common worker thread writes it.  A state submitted while a write is
 * under way waits, and a newer one replaces it: the file always ends up
 * with the latest state and no write is queued behind another.  When a
 * write ends, done() is called on the loop with its result and the state
 * that was written.
 *
 * Until state_writer_start() (or when it failed) submit writes at once, on
 * the calling thread, as before: vmrd-host forks its guest reader before
 * it starts any thread.
 */

#include <stdbool.h>

#include "common/loop.h"
#include "common/worker.h"
#include "host/config.h"
#include "host/state.h"

struct state_writer_ops {
	/* A write ended: r is 0 or -errno; st is what was written (the callee may swap it out). */
	void (*done)(void *ctx, int r, struct state *st);
};

struct state_writer {
	struct loop *loop;
	struct worker *worker;         /* NULL: writes happen on the caller's thread */
	struct loop_watch w;           /* the worker's end-of-job descriptor */
	const struct state_writer_ops *ops;
	void *ctx;
	/* The job's input and output: the loop's except while the worker runs. */
	char job_path[CONFIG_PATH_MAX];
	struct state job;
	int job_result;
	/* The latest state waiting for the job to end. */
	char next_path[CONFIG_PATH_MAX];
	struct state next;
	bool has_next;
};

/* A writer that writes on the calling thread until started. */
void state_writer_init(struct state_writer *sw, struct loop *loop, const struct state_writer_ops *ops,
		       void *ctx);
/* Start the thread.  0 or -errno (the writer then keeps writing synchronously). */
int state_writer_start(struct state_writer *sw);
/* Write st to path; st's contents are taken over (st is left empty, its storage reused). */
void state_writer_submit(struct state_writer *sw, const char *path, struct state *st);
/* True while a write runs or waits. */
bool state_writer_busy(const struct state_writer *sw);
/* Wait for the write under way, write what waits, stop the thread and free everything. */
void state_writer_close(struct state_writer *sw);

#endif
