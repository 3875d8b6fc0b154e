/* SPDX-License-Identifier: MIT */
/*
 * The page-cache trimmer's thread and protocol, against a fixture cgroup
 * directory (the real memory.reclaim is exercised in the QEMU guest tests):
 * it writes in steps, reports what it did, refuses a second job while
 * busy, and reports a failing write.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmrd/reclaim.h"

#define MIB (1ull << 20)

struct fixture {
	char dir[64];
	int rootfd;
	struct reclaim rc;
};

static void fx_setup(struct fixture *fx, bool reclaim_is_dir)
{
	char path[128];
	int fd;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/vmrd-reclaim-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(path, sizeof(path), "%s/cg", fx->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/cg/memory.reclaim", fx->dir);
	if (reclaim_is_dir) {
		assert_int_equal(mkdir(path, 0755), 0);
	} else {
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	fx->rootfd = open(fx->dir, O_RDONLY | O_DIRECTORY);
	assert_true(fx->rootfd >= 0);
}

static void fx_teardown(struct fixture *fx)
{
	char cmd[128];

	reclaim_stop(&fx->rc);
	close(fx->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	assert_int_equal(system(cmd), 0);
}

static struct reclaim_result wait_result(struct reclaim *rc)
{
	struct pollfd pfd = { .fd = reclaim_fd(rc), .events = POLLIN };
	struct reclaim_result res;

	assert_int_equal(poll(&pfd, 1, 5000), 1); /* a hang fails, not blocks */
	assert_int_equal(reclaim_collect(rc, &res), 1);
	return res;
}

static void test_trim_writes_in_steps_and_reports(void **state)
{
	struct fixture fx;
	struct reclaim_result res;
	char buf[32] = { 0 };
	int fd;

	fx_setup(&fx, false);
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "cg"), 0);
	assert_false(reclaim_busy(&fx.rc));
	assert_int_equal(reclaim_submit(&fx.rc, 80 * MIB, 32 * MIB, 1), 0);
	assert_true(reclaim_busy(&fx.rc));
	/* One job at a time. */
	assert_int_equal(reclaim_submit(&fx.rc, MIB, MIB, 1), -EBUSY);
	res = wait_result(&fx.rc);
	assert_false(reclaim_busy(&fx.rc));
	assert_int_equal(res.status, 0);
	assert_true(res.asked_bytes == 80 * MIB);
	assert_true(res.reclaimed_bytes == 80 * MIB);
	/* The last step is the remainder: 80 = 32 + 32 + 16 MiB. */
	fd = openat(fx.rootfd, "cg/memory.reclaim", O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_int_equal(strncmp(buf, "16777216", 8), 0);
	/* Nothing more pending. */
	assert_int_equal(reclaim_collect(&fx.rc, &res), 0);
	fx_teardown(&fx);
}

static void test_failing_write_is_reported(void **state)
{
	struct fixture fx;
	struct reclaim_result res;

	fx_setup(&fx, true);
	/* A directory passes the W_OK check at start but cannot be written. */
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "cg"), 0);
	assert_int_equal(reclaim_submit(&fx.rc, 64 * MIB, 32 * MIB, 1), 0);
	res = wait_result(&fx.rc);
	assert_int_equal(res.status, -EISDIR);
	assert_true(res.reclaimed_bytes == 0);
	fx_teardown(&fx);
}

static void test_missing_reclaim_file_disables_trimming(void **state)
{
	struct fixture fx;
	char path[128];

	fx_setup(&fx, false);
	snprintf(path, sizeof(path), "%s/cg/memory.reclaim", fx.dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "cg"), -ENOENT);
	assert_int_equal(reclaim_fd(&fx.rc), -1);
	assert_int_equal(reclaim_submit(&fx.rc, MIB, MIB, 1), -ENOTCONN);
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "nosuch"), -ENOENT);
	fx_teardown(&fx);
}

/* memory.reclaim that takes swappiness= (a fixture file takes anything) spares anon memory. */
static void test_steps_ask_for_swappiness_0_where_the_kernel_takes_it(void **state)
{
	struct fixture fx;
	struct reclaim_result res;
	char buf[64] = { 0 };
	int fd;

	fx_setup(&fx, false);
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "cg"), 0);
	assert_true(fx.rc.swappiness);
	assert_int_equal(reclaim_submit(&fx.rc, 8 * MIB, 8 * MIB, 1), 0);
	res = wait_result(&fx.rc);
	assert_int_equal(res.status, 0);
	fd = openat(fx.rootfd, "cg/memory.reclaim", O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "8388608 swappiness=0");
	fx_teardown(&fx);
}

/*
 * A step that blocks (here: memory.reclaim became a FIFO nobody reads) is
 * interrupted, and stopping never waits on it.
 */
static void test_blocked_step_is_interrupted_and_stop_does_not_wait(void **state)
{
	struct fixture fx;
	struct reclaim_result res;
	char path[128];
	uint64_t t0;

	fx_setup(&fx, false);
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "cg"), 0);
	snprintf(path, sizeof(path), "%s/cg/memory.reclaim", fx.dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(reclaim_submit(&fx.rc, 8 * MIB, 8 * MIB, 1), 0);
	usleep(100000); /* the step is now blocked in open() */
	assert_true(reclaim_busy(&fx.rc));
	assert_true(reclaim_interrupt(&fx.rc));
	res = wait_result(&fx.rc);
	assert_int_equal(res.status, -EINTR);
	assert_true(res.reclaimed_bytes == 0);

	/* Blocked again, then stopped: stop returns at once, the thread ends on its own. */
	assert_int_equal(reclaim_submit(&fx.rc, 8 * MIB, 8 * MIB, 2), 0);
	usleep(100000);
	t0 = (uint64_t)time(NULL);
	reclaim_stop(&fx.rc);
	assert_true((uint64_t)time(NULL) - t0 <= 2);
	fx_teardown(&fx);
}

static void test_bad_jobs_are_refused(void **state)
{
	struct fixture fx;

	fx_setup(&fx, false);
	assert_int_equal(reclaim_start(&fx.rc, fx.rootfd, "cg"), 0);
	assert_int_equal(reclaim_submit(&fx.rc, 0, MIB, 1), -EINVAL);
	assert_int_equal(reclaim_submit(&fx.rc, MIB, 0, 1), -EINVAL);
	assert_false(reclaim_busy(&fx.rc));
	fx_teardown(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim_writes_in_steps_and_reports),
		cmocka_unit_test(test_failing_write_is_reported),
		cmocka_unit_test(test_missing_reclaim_file_disables_trimming),
		cmocka_unit_test(test_steps_ask_for_swappiness_0_where_the_kernel_takes_it),
		cmocka_unit_test(test_blocked_step_is_interrupted_and_stop_does_not_wait),
		cmocka_unit_test(test_bad_jobs_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
