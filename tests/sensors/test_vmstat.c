/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fileio.h"
#include "sensors/vmstat.h"
#include "tmptree.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_vmstat_equal(const struct vmstat *got, const struct vmstat *want)
{
	assert_true(got->oom_kill == want->oom_kill);
	assert_true(got->workingset_refault_anon == want->workingset_refault_anon);
	assert_true(got->workingset_refault_file == want->workingset_refault_file);
	assert_true(got->pgmajfault == want->pgmajfault);
	assert_true(got->allocstall == want->allocstall);
	assert_true(got->pswpin == want->pswpin);
	assert_true(got->pswpout == want->pswpout);
	assert_true(got->allocstall_kernel == want->allocstall_kernel);
	assert_true(got->allocstall_movable == want->allocstall_movable);
	assert_true(got->workingset_activate_file == want->workingset_activate_file);
	assert_true(got->pgscan == want->pgscan);
	assert_true(got->pgsteal == want->pgsteal);
}

static void test_read_returns_the_values_of_captured_files(void **state)
{
	static const struct {
		const char *tree;
		struct vmstat want;
	} cases[] = {
		{ "host",
		  { .oom_kill = 0, .workingset_refault_anon = 0, .workingset_refault_file = 104336,
		    .pgmajfault = 1128, .allocstall = 0, .pswpin = 0, .pswpout = 0,
		    .workingset_activate_file = 4419 } },
		/* allocstall_dma32 5 + allocstall_movable 17. */
		{ "guest-tree",
		  { .oom_kill = 2, .workingset_refault_anon = 0, .workingset_refault_file = 8712,
		    .pgmajfault = 1543, .allocstall = 22, .pswpin = 0, .pswpout = 0,
		    .allocstall_kernel = 5, .allocstall_movable = 17, .workingset_activate_file = 119 } },
		/* Real QEMU guest: nothing after boot; swapping under memhog (3 + 241 stalls). */
		{ "qemu/boot", { 0 } },
		{ "qemu/pressure",
		  { .oom_kill = 0, .workingset_refault_anon = 33, .workingset_refault_file = 0,
		    .pgmajfault = 37, .allocstall = 244, .pswpin = 44, .pswpout = 11919,
		    .allocstall_kernel = 3, .allocstall_movable = 241, .pgscan = 229185,
		    .pgsteal = 11880 } },
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct vmstat vs;
		char dir[1024];
		int rootfd;

		snprintf(dir, sizeof(dir), "%s/%s", SENSORS_DATA_DIR, cases[i].tree);
		rootfd = fileio_open_root(dir);
		assert_true(rootfd >= 0);
		assert_int_equal(vmstat_read(rootfd, &vs), 0);
		assert_vmstat_equal(&vs, &cases[i].want);
		close(rootfd);
	}
}

static void test_parse_accepts_kernel_variants(void **state)
{
	static const struct {
		const char *in;
		struct vmstat want;
	} cases[] = {
		/* Before 4.10 direct reclaim was one "allocstall" counter. */
		{ "nr_free_pages 100\nallocstall 7\npgmajfault 3\n",
		  { .allocstall = 7, .pgmajfault = 3 } },
		/* Before 5.9: no oom_kill, and refaults were file refaults only. */
		{ "workingset_refault 9\npswpin 1\npswpout 2",
		  { .workingset_refault_file = 9, .pswpin = 1, .pswpout = 2 } },
		{ "allocstall_dma 1\nallocstall_dma32 2\nallocstall_normal 4\nallocstall_movable 8\n"
		  "allocstall_device 16\noom_kill 5\n",
		  { .allocstall = 31, .oom_kill = 5, .allocstall_kernel = 7, .allocstall_movable = 8 } },
		{ "pgscan_kswapd 10\npgscan_direct 5\npgsteal_kswapd 3\npgsteal_direct 1\n"
		  "pgscan_anon 99\nworkingset_activate_file 6\n",
		  { .pgscan = 15, .pgsteal = 4, .workingset_activate_file = 6 } },
		{ "oom_kill 18446744073709551615\n", { .oom_kill = UINT64_MAX } },
		/* Blank lines and unknown counters of any shape are someone else's. */
		{ "\n\nnr_foo -3\npgmajfault 4\n\n", { .pgmajfault = 4 } },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		struct vmstat vs;

		assert_int_equal(vmstat_parse(buf, len, &vs), 0);
		assert_vmstat_equal(&vs, &cases[i].want);
		free(buf);
	}
}

static void test_parse_refuses_malformed_input(void **state)
{
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		{ "", -ENODATA },
		{ "nr_free_pages 1\nnr_zone_active_anon 2\n", -ENODATA },
		{ "pgmajfault\n", -EINVAL },
		{ "pgmajfault 12x\n", -EINVAL },
		{ "pgmajfault 1 2\n", -EINVAL },
		{ "pgmajfault -1\n", -EINVAL },
		{ "pgmajfault 0x10\n", -EINVAL },
		{ "nr_free_pages\npgmajfault 1\n", -EINVAL },
		{ "pgmajfault 1\npgmajfault 2\n", -EINVAL },
		{ "workingset_activate_file 1\nworkingset_activate_file 2\n", -EINVAL },
		{ "pgscan_kswapd 18446744073709551615\npgscan_direct 1\n", -ERANGE },
		{ "allocstall_normal 1x\n", -EINVAL },
		{ "\x01\x02\x03\xff", -EINVAL },
		{ "oom_kill 18446744073709551616\n", -ERANGE },
		{ "allocstall_normal 18446744073709551615\nallocstall_movable 1\n", -ERANGE },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		struct vmstat vs;

		memset(&vs, 0xa5, sizeof(vs));
		assert_int_equal(vmstat_parse(buf, len, &vs), cases[i].err);
		assert_true(vs.oom_kill == UINT64_C(0xa5a5a5a5a5a5a5a5));
		free(buf);
	}
}

/* A cut inside a counter's value gives its prefix, never a read past len. */
static void test_parse_stops_at_len(void **state)
{
	static const char in[] = "pgmajfault 1128\noom_kill 0\n";
	char *buf = testdata_exact(in, 13);
	struct vmstat vs;

	assert_int_equal(vmstat_parse(buf, 13, &vs), 0);
	assert_true(vs.pgmajfault == 11);
	free(buf);
}

static void test_read_of_missing_file_is_enoent(void **state)
{
	struct tmptree tree;
	struct vmstat vs;

	tmptree_create(&tree);
	assert_int_equal(vmstat_read(tree.fd, &vs), -ENOENT);
	tmptree_remove(&tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_returns_the_values_of_captured_files),
		cmocka_unit_test(test_parse_accepts_kernel_variants),
		cmocka_unit_test(test_parse_refuses_malformed_input),
		cmocka_unit_test(test_parse_stops_at_len),
		cmocka_unit_test(test_read_of_missing_file_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
