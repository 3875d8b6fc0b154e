/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
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
#include "sensors/psi.h"
#include "tmptree.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_line_equal(const struct psi_line *got, const struct psi_line *want)
{
	assert_int_equal(got->avg10, want->avg10);
	assert_int_equal(got->avg60, want->avg60);
	assert_int_equal(got->avg300, want->avg300);
	assert_true(got->total_usec == want->total_usec);
}

/* Exact values of the files captured from this machine and of the guest fixture. */
static void test_read_returns_the_values_of_captured_files(void **state)
{
	static const struct {
		const char *tree, *path;
		struct psi_stats want;
	} cases[] = {
		{ "host", "proc/pressure/memory",
		  { { 0, 0, 0, 0 }, { 0, 0, 0, 0 }, true } },
		{ "host", "proc/pressure/cpu",
		  { { 162, 573, 376, 20731952 }, { 0, 0, 0, 0 }, true } },
		{ "host", "proc/pressure/io",
		  { { 17, 75, 75, 7126410 }, { 17, 73, 71, 6610492 }, true } },
		{ "guest-tree", "proc/pressure/memory",
		  { { 341, 107, 22, 1843312 }, { 120, 38, 8, 712090 }, true } },
		{ "guest-tree", "proc/pressure/cpu",
		  { { 1250, 402, 113, 9021337 }, { 0, 0, 0, 0 }, true } },
		/* Real QEMU guest captures: idle after boot, and under memhog. */
		{ "qemu/boot", "proc/pressure/memory",
		  { { 0, 0, 0, 0 }, { 0, 0, 0, 0 }, true } },
		{ "qemu/pressure", "proc/pressure/memory",
		  { { 1231, 222, 46, 2713153 }, { 1231, 222, 46, 2565270 }, true } },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char dir[1024];
		struct psi_stats st;
		int rootfd;

		snprintf(dir, sizeof(dir), "%s/%s", SENSORS_DATA_DIR, cases[i].tree);
		rootfd = fileio_open_root(dir);
		assert_true(rootfd >= 0);
		assert_int_equal(psi_read(rootfd, cases[i].path, &st), 0);
		assert_line_equal(&st.some, &cases[i].want.some);
		assert_line_equal(&st.full, &cases[i].want.full);
		assert_int_equal(st.has_full, cases[i].want.has_full);
		close(rootfd);
	}
}

static void test_read_of_missing_file_is_enoent(void **state)
{
	struct psi_stats st;
	char dir[1024];
	int rootfd;

	snprintf(dir, sizeof(dir), "%s/host", SENSORS_DATA_DIR);
	rootfd = fileio_open_root(dir);
	assert_true(rootfd >= 0);
	assert_int_equal(psi_read(rootfd, "proc/pressure/nothing", &st), -ENOENT);
	close(rootfd);
}

static void test_parse_accepts_kernel_variants(void **state)
{
	static const struct {
		const char *in;
		struct psi_stats want;
	} cases[] = {
		/* The cpu file of kernels before 5.13 has no "full" line. */
		{ "some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n",
		  { { 100, 200, 300, 4 }, { 0, 0, 0, 0 }, false } },
		/* No final newline. */
		{ "some avg10=0.01 avg60=0.10 avg300=10.00 total=5\nfull avg10=100.00 avg60=99.99 avg300=0.00 total=6",
		  { { 1, 10, 1000, 5 }, { 10000, 9999, 0, 6 }, true } },
		/* Fields a newer kernel may add are skipped, order does not matter. */
		{ "some total=7 avg300=0.03 avg60=0.02 avg10=0.01 avg600=9.99\n",
		  { { 1, 2, 3, 7 }, { 0, 0, 0, 0 }, false } },
		/* A single fraction digit still means tenths. */
		{ "some avg10=0.5 avg60=12 avg300=0.05 total=18446744073709551615\n",
		  { { 50, 1200, 5, UINT64_MAX }, { 0, 0, 0, 0 }, false } },
		/* The largest average we can keep. */
		{ "some avg10=42949672.95 avg60=0.00 avg300=0.00 total=0\n",
		  { { UINT32_MAX, 0, 0, 0 }, { 0, 0, 0, 0 }, false } },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char *buf = testdata_exact(cases[i].in, strlen(cases[i].in));
		struct psi_stats st;

		assert_int_equal(psi_parse(buf, strlen(cases[i].in), &st), 0);
		assert_line_equal(&st.some, &cases[i].want.some);
		assert_line_equal(&st.full, &cases[i].want.full);
		assert_int_equal(st.has_full, cases[i].want.has_full);
		free(buf);
	}
}

static void test_parse_refuses_malformed_input(void **state)
{
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		{ "", -EINVAL },
		{ "\n\n", -EINVAL },
		{ "some", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.0", -EINVAL },
		{ "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nbogus\n", -EINVAL },
		{ "sometimes avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10= avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=1.234 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=1,00 avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=1. avg60=0.00 avg300=0.00 total=0\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=0x10\n", -EINVAL },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=1e6\n", -EINVAL },
		{ "some avg10=42949672.96 avg60=0.00 avg300=0.00 total=0\n", -ERANGE },
		{ "some avg10=99999999999999999999.00 avg60=0.00 avg300=0.00 total=0\n", -ERANGE },
		{ "some avg10=0.00 avg60=0.00 avg300=0.00 total=18446744073709551616\n", -ERANGE },
		{ "\x01\xff\x7f garbage", -EINVAL },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		struct psi_stats st;

		memset(&st, 0xa5, sizeof(st));
		assert_int_equal(psi_parse(buf, len, &st), cases[i].err);
		/* ret is written only on success. */
		assert_int_equal(st.some.avg10, 0xa5a5a5a5);
		free(buf);
	}
}

/* A NUL inside the text is not text; it must not end parsing quietly either. */
static void test_parse_refuses_embedded_nul(void **state)
{
	static const char in[] = "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\0 junk\n";
	struct psi_stats st;

	assert_int_equal(psi_parse(in, sizeof(in) - 1, &st), -EINVAL);
}

/* The parser stops at len even when the bytes after it would continue a number. */
static void test_parse_stops_at_len(void **state)
{
	static const char in[] = "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345";
	struct psi_stats st;
	char *buf = testdata_exact(in, sizeof(in) - 1 - 3);

	assert_int_equal(psi_parse(buf, sizeof(in) - 1 - 3, &st), 0);
	assert_true(st.some.total_usec == 12);
	free(buf);
	/* Cut inside a key: the field is not there. */
	assert_int_equal(psi_parse(in, 40, &st), -EINVAL);
}

static void test_trigger_format_writes_the_kernel_syntax(void **state)
{
	static const struct {
		enum psi_kind kind;
		uint64_t stall, window;
		size_t buflen;
		int ret;
		const char *out;
	} cases[] = {
		{ PSI_SOME, 150000, 1000000, 64, 19, "some 150000 1000000" },
		{ PSI_FULL, 1, 2000000, 64, 14, "full 1 2000000" },
		{ PSI_SOME, 2000000, 2000000, 64, 20, "some 2000000 2000000" },
		{ PSI_SOME, UINT32_MAX, UINT32_MAX, 64, 26, "some 4294967295 4294967295" },
		{ PSI_SOME, 150000, 1000000, 20, 19, "some 150000 1000000" },
		{ PSI_SOME, 150000, 1000000, 19, -ENOSPC, NULL },
		{ PSI_SOME, 0, 1000000, 64, -EINVAL, NULL },
		{ PSI_SOME, 1000001, 1000000, 64, -EINVAL, NULL },
		{ PSI_SOME, 1, (uint64_t)UINT32_MAX + 1, 64, -ERANGE, NULL },
		{ (enum psi_kind)7, 1, 1000000, 64, -EINVAL, NULL },
	};

	for (size_t i = 0; i < N(cases); i++) {
		char buf[64];
		int n = psi_trigger_format(cases[i].kind, cases[i].stall, cases[i].window, buf,
					   cases[i].buflen);

		assert_int_equal(n, cases[i].ret);
		if (cases[i].out)
			assert_string_equal(buf, cases[i].out);
	}
}

static void test_trigger_adjust_rounds_window_up_and_scales_stall(void **state)
{
	static const struct {
		uint64_t stall, window;
		int ret;
		uint64_t want_stall, want_window;
	} cases[] = {
		{ 100000, 1000000, 0, 200000, 2000000 },
		{ 150000, 1000000, 0, 300000, 2000000 },
		{ 150000, 500000, 0, 600000, 2000000 },
		{ 300000, 3000000, 0, 400000, 4000000 },
		{ 1, 3000000, 0, 1, 4000000 },
		/* A stall as long as the window stays 1 us shorter. */
		{ 1000000, 1000000, 0, 1999999, 2000000 },
		{ 2999999, 3000000, 0, 3999998, 4000000 },
		{ 100000, 2000000, -EINVAL, 0, 0 },
		{ 100000, 10000000, -EINVAL, 0, 0 },
		{ 0, 1000000, -EINVAL, 0, 0 },
		{ 1000001, 1000000, -EINVAL, 0, 0 },
		{ 1, (uint64_t)UINT32_MAX + 1, -EINVAL, 0, 0 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		uint64_t stall = 42, window = 42;

		assert_int_equal(psi_trigger_adjust(cases[i].stall, cases[i].window, &stall, &window),
				 cases[i].ret);
		if (cases[i].ret < 0) {
			assert_true(stall == 42 && window == 42);
			continue;
		}
		assert_true(stall == cases[i].want_stall);
		assert_true(window == cases[i].want_window);
		assert_true(stall < window);
	}
}

/*
 * On a regular file the write always succeeds, which shows the exact bytes
 * handed to the kernel: the line and its NUL, which psi_write() needs.
 */
static void test_trigger_arm_writes_line_with_nul(void **state)
{
	static const char want[] = "full 150000 2000000";
	struct psi_trigger t;
	struct tmptree tree;
	char buf[64];
	size_t len;
	int fd;

	tmptree_create(&tree);
	tmptree_write_str(&tree, "proc/pressure/memory", "");
	fd = openat(tree.fd, "proc/pressure/memory", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(psi_trigger_arm(fd, PSI_FULL, 150000, 2000000, &t), 0);
	assert_true(t.fd >= 0);
	assert_int_equal(t.kind, PSI_FULL);
	assert_true(t.stall_usec == 150000 && t.window_usec == 2000000);
	assert_false(t.adjusted);
	psi_trigger_close(&t);
	assert_int_equal(t.fd, -1);
	psi_trigger_close(&t); /* closing twice is harmless */
	len = tmptree_read(&tree, "proc/pressure/memory", buf, sizeof(buf));
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	tmptree_remove(&tree);
}

/* A captured tree's plain file is never written: -ENOTTY, content intact. */
static void test_trigger_open_refuses_plain_files(void **state)
{
	struct psi_trigger t = { .fd = -7 };
	struct tmptree tree;
	char buf[64];
	size_t len;

	tmptree_create(&tree);
	tmptree_write_str(&tree, "proc/pressure/memory", "some avg10=0.00\n");
	assert_int_equal(psi_trigger_open(tree.fd, "proc/pressure/memory", PSI_SOME, 100000,
					  2000000, &t),
			 -ENOTTY);
	assert_int_equal(t.fd, -7);
	len = tmptree_read(&tree, "proc/pressure/memory", buf, sizeof(buf));
	assert_int_equal(len, strlen("some avg10=0.00\n"));
	assert_memory_equal(buf, "some avg10=0.00\n", len);
	tmptree_remove(&tree);
}

static void test_trigger_open_reports_missing_file_and_bad_args(void **state)
{
	struct psi_trigger t = { .fd = -7 };
	struct tmptree tree;

	tmptree_create(&tree);
	assert_int_equal(psi_trigger_open(tree.fd, "proc/pressure/memory", PSI_SOME, 100000,
					  1000000, &t),
			 -ENOENT);
	tmptree_write_str(&tree, "proc/pressure/memory", "");
	assert_int_equal(psi_trigger_open(tree.fd, "proc/pressure/memory", PSI_SOME, 0, 1000000, &t),
			 -EINVAL);
	assert_int_equal(t.fd, -7);
	tmptree_remove(&tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_returns_the_values_of_captured_files),
		cmocka_unit_test(test_read_of_missing_file_is_enoent),
		cmocka_unit_test(test_parse_accepts_kernel_variants),
		cmocka_unit_test(test_parse_refuses_malformed_input),
		cmocka_unit_test(test_parse_refuses_embedded_nul),
		cmocka_unit_test(test_parse_stops_at_len),
		cmocka_unit_test(test_trigger_format_writes_the_kernel_syntax),
		cmocka_unit_test(test_trigger_adjust_rounds_window_up_and_scales_stall),
		cmocka_unit_test(test_trigger_arm_writes_line_with_nul),
		cmocka_unit_test(test_trigger_open_refuses_plain_files),
		cmocka_unit_test(test_trigger_open_reports_missing_file_and_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
