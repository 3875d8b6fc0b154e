/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/worker.h"

static atomic_int job_runs;

/* Waits for a byte on the gate: a job that blocks in a system call until let go. */
static void gate_job(void *arg)
{
	int *gate = arg;
	char c;

	if (read(*gate, &c, 1) == 1)
		atomic_fetch_add(&job_runs, 1);
}

static void test_worker_signals_its_fd_when_a_job_ends(void **state)
{
	struct worker *w;
	struct pollfd p;
	int gate[2];

	atomic_store(&job_runs, 0);
	assert_int_equal(pipe(gate), 0);
	assert_int_equal(worker_new(gate_job, &gate[0], &w), 0);
	p = (struct pollfd){ .fd = worker_fd(w), .events = POLLIN };
	assert_int_equal(worker_collect(w), 0);
	assert_int_equal(worker_start(w), 0);
	assert_true(worker_busy(w));
	assert_int_equal(worker_start(w), -EBUSY);
	assert_int_equal(poll(&p, 1, 20), 0);
	assert_int_equal(worker_collect(w), 0);
	assert_int_equal(write(gate[1], "x", 1), 1);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(worker_collect(w), 1);
	assert_false(worker_busy(w));
	assert_int_equal(atomic_load(&job_runs), 1);
	/* Collected: the fd is quiet again and the next job may start. */
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(worker_start(w), 0);
	assert_int_equal(write(gate[1], "x", 1), 1);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(worker_collect(w), 1);
	assert_int_equal(atomic_load(&job_runs), 2);
	/* Stopping with a job that can finish waits for it. */
	assert_int_equal(worker_start(w), 0);
	assert_int_equal(write(gate[1], "x", 1), 1);
	assert_int_equal(worker_stop(w, 10 * 1000000ull), 0);
	assert_int_equal(atomic_load(&job_runs), 3);
	close(gate[0]);
	close(gate[1]);
}

struct steps {
	struct worker *w;
	atomic_int done;
	int cancelled_at;
};

/* A job of many short steps that looks at the cancel flag between them. */
static void step_job(void *arg)
{
	struct steps *s = arg;

	s->cancelled_at = -1;
	for (int i = 0; i < 10000; i++) {
		if (worker_cancelled(s->w)) {
			s->cancelled_at = i;
			break;
		}
		usleep(1000);
		atomic_fetch_add(&s->done, 1);
	}
}

static void test_cancel_is_seen_between_steps(void **state)
{
	static struct steps s;
	struct pollfd p;

	assert_int_equal(worker_new(step_job, &s, &s.w), 0);
	p = (struct pollfd){ .fd = worker_fd(s.w), .events = POLLIN };
	assert_int_equal(worker_start(s.w), 0);
	while (atomic_load(&s.done) < 3)
		usleep(1000);
	worker_cancel(s.w);
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(worker_collect(s.w), 1);
	assert_true(s.cancelled_at >= 3 && s.cancelled_at < 10000);
	/* The next job starts uncancelled and runs to its end unless asked again. */
	atomic_store(&s.done, 0);
	assert_int_equal(worker_start(s.w), 0);
	while (atomic_load(&s.done) < 5)
		usleep(1000);
	assert_false(worker_cancelled(s.w));
	assert_int_equal(worker_stop(s.w, 5 * 1000000ull), 0);
	assert_true(s.cancelled_at >= 5 && s.cancelled_at < 10000);
}

static void test_stop_does_not_wait_for_ever_on_a_blocked_job(void **state)
{
	struct worker *w;
	uint64_t t0;
	int gate[2];

	atomic_store(&job_runs, 0);
	assert_int_equal(pipe(gate), 0);
	assert_int_equal(worker_new(gate_job, &gate[0], &w), 0);
	assert_int_equal(worker_start(w), 0);
	/* The job sits in read(2); the cancel flag cannot reach it. */
	t0 = clock_now_usec();
	assert_int_equal(worker_stop(w, 200 * 1000), -ETIMEDOUT);
	assert_true(clock_now_usec() - t0 < 5 * 1000000ull);
	/* Let it go: it finishes and frees the worker itself (ASan's leak check sees it). */
	assert_int_equal(write(gate[1], "x", 1), 1);
	while (atomic_load(&job_runs) == 0)
		usleep(1000);
	usleep(200 * 1000);
	close(gate[0]);
	close(gate[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_signals_its_fd_when_a_job_ends),
		cmocka_unit_test(test_cancel_is_seen_between_steps),
		cmocka_unit_test(test_stop_does_not_wait_for_ever_on_a_blocked_job),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
