/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/proto.h"

/*
 * Feed input in chunks of `chunk` bytes through a reader over `size` bytes
 * and write what comes out into out: each line followed by "|", each
 * too_long report as "!".  The documented caller loop, verbatim.
 */
static void run(const char *in, size_t chunk, size_t size, char *out, size_t out_size)
{
	char buf[4096];
	struct proto_reader r;
	size_t o = 0, n = strlen(in);

	assert_true(size <= sizeof(buf));
	proto_reader_init(&r, buf, size);
	out[0] = '\0';
	for (size_t pos = 0; pos < n;) {
		size_t c = n - pos < chunk ? n - pos : chunk, off = 0;

		while (off < c) {
			const char *line;
			size_t len;
			int k;

			off += proto_reader_feed(&r, in + pos + off, c - off);
			assert_true(r.len <= size); /* bounded: never grows */
			while ((k = proto_reader_next(&r, &line, &len)) != 0) {
				if (k > 0)
					o += (size_t)snprintf(out + o, out_size - o, "%.*s|", (int)len, line);
				else
					o += (size_t)snprintf(out + o, out_size - o, "!");
				assert_true(o < out_size);
			}
		}
		pos += c;
	}
}

static void test_lines_come_out_whole_however_the_bytes_arrive(void **state)
{
	const char *in = "hello v=1\nreport a=1\n\ndone seq=1 current=2\npartial";
	char out[512];

	for (size_t chunk = 1; chunk <= strlen(in); chunk++) {
		run(in, chunk, 64, out, sizeof(out));
		/* An unterminated tail is held back, not returned. */
		assert_string_equal(out, "hello v=1|report a=1||done seq=1 current=2|");
	}
}

static void test_overlong_line_is_reported_once_and_skipped(void **state)
{
	char in[3 * 100 + 64], want[128], out[512];

	/* a 99-byte line (too long for a 32-byte limit) between two short ones */
	snprintf(in, sizeof(in), "a\n%0*d\nb\n", 99, 0);
	snprintf(want, sizeof(want), "a|!b|");
	for (size_t chunk = 1; chunk <= strlen(in); chunk++) {
		run(in, chunk, 32, out, sizeof(out));
		assert_string_equal(out, want);
	}
}

static void test_limit_is_exact_and_counts_the_newline(void **state)
{
	char out[512];

	/* Buffer of 8: "1234567\n" is 8 bytes with its "\n": fits.  "12345678\n" does not. */
	for (size_t chunk = 1; chunk <= 9; chunk++) {
		run("1234567\n12345678\nx\n", chunk, 8, out, sizeof(out));
		assert_string_equal(out, "1234567|!x|");
	}
}

static void test_overlong_line_stored_whole_in_a_large_buffer_is_rejected(void **state)
{
	char in[PROTO_LINE_MAX + 64], out[2048];

	/* With a 4096-byte buffer the whole 1100-byte line may sit in it: still rejected. */
	memset(in, 'x', PROTO_LINE_MAX + 10);
	memcpy(in + PROTO_LINE_MAX + 10, "\nok\n", 5);
	run(in, sizeof(in), 4096, out, sizeof(out));
	assert_string_equal(out, "!ok|");
	/* And a line of exactly PROTO_LINE_MAX bytes with "\n" passes. */
	memset(in, 'y', PROTO_LINE_MAX - 1);
	memcpy(in + PROTO_LINE_MAX - 1, "\n", 2);
	run(in, 100, 4096, out, sizeof(out));
	assert_int_equal(strlen(out), PROTO_LINE_MAX);
}

static void test_endless_line_keeps_memory_bounded(void **state)
{
	static char in[20000];
	char out[64];

	memset(in, 'z', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	run(in, 777, 64, out, sizeof(out));
	assert_string_equal(out, "!"); /* reported once, however long it goes on */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_come_out_whole_however_the_bytes_arrive),
		cmocka_unit_test(test_overlong_line_is_reported_once_and_skipped),
		cmocka_unit_test(test_limit_is_exact_and_counts_the_newline),
		cmocka_unit_test(test_overlong_line_stored_whole_in_a_large_buffer_is_rejected),
		cmocka_unit_test(test_endless_line_keeps_memory_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
