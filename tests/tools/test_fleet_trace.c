/* SPDX-License-Identifier: MIT */
/*
 * vmrd-fleet's CSV traces (tools/fleet_trace.c): what a good trace gives,
 * and every way a bad one is refused, with the line and a message that says
 * what is wrong.
 */
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

#include "fleet_trace.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)

/* Feed lines[] to a fresh parser; returns the result of the last one. */
static int feed(struct fleet_trace_parser *p, const char *const *lines, size_t n,
		struct fleet_trace_row *row)
{
	int r = 0;

	fleet_trace_parser_init(p);
	for (size_t i = 0; i < n; i++) {
		r = fleet_trace_parse_line(p, lines[i], strlen(lines[i]), row);
		if (r < 0 && i + 1 < n)
			fail_msg("line %zu \"%s\" refused early: %s", i + 1, lines[i], p->err);
	}
	return r;
}

static void test_header_any_order_and_rows(void **state)
{
	static const char *const lines[] = { "# a comment", "", "  ", "unmovable,demand,t_s,cache,hot\r",
					     "0,1G,0,2G,512M", "128M, 1536M ,10,2G,1G" };
	struct fleet_trace_parser p;
	struct fleet_trace_row row;

	assert_int_equal(feed(&p, lines, 5, &row), 1);
	assert_true(row.t_usec == 0 && row.demand_bytes == G && row.cache_bytes == 2 * G);
	assert_int_equal(fleet_trace_parse_line(&p, lines[5], strlen(lines[5]), &row), 1);
	assert_true(row.t_usec == 10 * SEC);
	assert_true(row.demand_bytes == 1536 * M && row.unmovable_bytes == 128 * M && row.hot_bytes == G);
}

static void test_milliseconds_and_optional_columns(void **state)
{
	static const char *const lines[] = { "t_ms,demand", "1500,700M" };
	struct fleet_trace_parser p;
	struct fleet_trace_row row;

	assert_int_equal(feed(&p, lines, 2, &row), 1);
	assert_true(row.t_usec == 1500000 && row.demand_bytes == 700 * M);
	assert_true(row.unmovable_bytes == 0 && row.cache_bytes == 0);
}

/* Each bad input: the lines, and a piece of the message it must give. */
static void test_bad_inputs_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *lines[3];
		const char *says;
	} bad[] = {
		{ { "t_s,demand,colour" }, "unknown column \"colour\"" },
		{ { "t_s,demand,demand" }, "column demand given twice" },
		{ { "demand" }, "exactly one time column" },
		{ { "t_s,t_ms,demand" }, "exactly one time column" },
		{ { "t_s,cache" }, "no demand column" },
		{ { "t_s,demand,hot" }, "hot needs a cache column" },
		{ { "t_s,demand,cache,hot,unmovable,t_ms,x,y" }, "more than 6 columns" },
		{ { "t_s,demand,", }, "unknown column \"\"" },
		{ { "t_s,demand", "1" }, "1 fields, the header has 2" },
		{ { "t_s,demand", "1,2,3" }, "3 fields, the header has 2" },
		{ { "t_s,demand", "1,2M,3,4,5,6,7,8" }, "more fields than the header's 2" },
		{ { "t_s,demand", "1," }, "empty demand" },
		{ { "t_s,demand", ",1G" }, "empty t_s" },
		{ { "t_s,demand", "1,12x" }, "bad demand \"12x\"" },
		{ { "t_s,demand", "1,1.5G" }, "bad demand \"1.5G\"" },
		{ { "t_s,demand", "1,-5M" }, "negative demand \"-5M\"" },
		{ { "t_s,demand,cache", "1,1G,-1" }, "negative cache" },
		{ { "t_s,demand", "-1,1G" }, "negative t_s \"-1\"" },
		{ { "t_s,demand", "1.5,1G" }, "bad t_s \"1.5\" (whole seconds)" },
		{ { "t_ms,demand", "1e3,1G" }, "bad t_ms \"1e3\" (whole milliseconds)" },
		{ { "t_s,demand", "1,2T" }, "absurd demand \"2T\"" },
		{ { "t_s,demand", "1,99999999999999999999" }, "absurd demand" },
		{ { "t_s,demand", "1,123456789012345678901234567890123G" }, "absurd demand" },
		{ { "t_s,demand", "40000000,1G" }, "absurd t_s \"40000000\"" },
		{ { "t_s,demand", "99999999999999999999999,1G" }, "absurd t_s" },
		{ { "t_s,demand", "5,1G", "3,1G" }, "time goes backwards: 3000 ms after 5000 ms" },
		{ { "t_s,demand", "5,1G", "5,2G" }, "time goes backwards: 5000 ms after 5000 ms" },
		{ { "t_s,demand,unmovable", "1,1G,2G" }, "unmovable 2048 MiB is more than demand 1024 MiB" },
		{ { "t_s,demand,cache,hot", "1,1G,1G,2G" }, "hot 2048 MiB is more than cache 1024 MiB" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fleet_trace_parser p;
		struct fleet_trace_row row;
		size_t n = 0;

		while (n < 3 && bad[i].lines[n])
			n++;
		if (feed(&p, bad[i].lines, n, &row) != -EINVAL)
			fail_msg("case %zu (\"%s\") was not refused", i, bad[i].lines[n - 1]);
		if (!strstr(p.err, bad[i].says))
			fail_msg("case %zu: message \"%s\" does not say \"%s\"", i, p.err, bad[i].says);
	}
}

static void test_nul_byte_is_refused(void **state)
{
	static const char line[] = "1,1G\0x";
	static const char *const head[] = { "t_s,demand" };
	struct fleet_trace_parser p;
	struct fleet_trace_row row;

	feed(&p, head, 1, &row);
	assert_int_equal(fleet_trace_parse_line(&p, line, sizeof(line) - 1, &row), -EINVAL);
	assert_non_null(strstr(p.err, "NUL"));
}

/* A file with these contents; returns its path (a static buffer). */
static const char *write_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test-fleet-trace-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load text; returns the result, the message in msg. */
static int load(const char *text, struct fleet_trace *t, char *msg, size_t len)
{
	const char *path = write_file(text);
	FILE *err = fmemopen(msg, len, "w");
	int r;

	assert_non_null(err);
	r = fleet_trace_load(path, t, err);
	fclose(err);
	unlink(path);
	return r;
}

static void test_loader_names_file_and_line(void **state)
{
	static const struct {
		const char *text;
		const char *says;
	} bad[] = {
		{ "# t\nt_s,demand\n0,1G\n\n7,12x\n", ":5: bad demand \"12x\"" },
		{ "t_s,demand\n", ": no rows after the header" },
		{ "# only comments\n", ": no header" },
		{ "", ": no header" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fleet_trace t;
		char msg[256] = "";

		assert_int_equal(load(bad[i].text, &t, msg, sizeof(msg)), -EINVAL);
		if (!strstr(msg, "/tmp/test-fleet-trace-") || !strstr(msg, bad[i].says))
			fail_msg("case %zu: \"%s\" does not say \"%s\" with the path", i, msg, bad[i].says);
	}
}

static void test_loader_refuses_long_lines(void **state)
{
	char text[FLEET_TRACE_LINE_MAX + 64] = "", msg[256] = "";
	struct fleet_trace t;

	snprintf(text, sizeof(text), "t_s,demand\n0,1G\n");
	memset(text + strlen(text), '1', FLEET_TRACE_LINE_MAX + 10);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(load(text, &t, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ":3: line longer than 512 bytes"));
}

static void test_loader_missing_file(void **state)
{
	char msg[256] = "";
	FILE *err = fmemopen(msg, sizeof(msg), "w");
	struct fleet_trace t;

	assert_int_equal(fleet_trace_load("/nonexistent/x.csv", &t, err), -ENOENT);
	fclose(err);
	assert_non_null(strstr(msg, "/nonexistent/x.csv: No such file"));
}

/* A row holds until the next one; before the first row the first, after the last the last. */
static void test_replay_holds_rows(void **state)
{
	struct fleet_trace t;
	size_t cursor = 0;
	char msg[256] = "";

	assert_int_equal(load("t_s,demand\n10,1G\n20,2G\n30,3G\n", &t, msg, sizeof(msg)), 0);
	assert_int_equal(t.n_rows, 3);
	assert_true(fleet_trace_at(&t, &cursor, 0)->demand_bytes == G);
	assert_true(fleet_trace_at(&t, &cursor, 19 * SEC)->demand_bytes == G);
	assert_true(fleet_trace_at(&t, &cursor, 20 * SEC)->demand_bytes == 2 * G);
	assert_true(fleet_trace_at(&t, &cursor, 1000 * SEC)->demand_bytes == 3 * G);
	assert_false(t.has_cache);
	fleet_trace_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_any_order_and_rows),
		cmocka_unit_test(test_milliseconds_and_optional_columns),
		cmocka_unit_test(test_bad_inputs_are_refused_with_a_reason),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_loader_names_file_and_line),
		cmocka_unit_test(test_loader_refuses_long_lines),
		cmocka_unit_test(test_loader_missing_file),
		cmocka_unit_test(test_replay_holds_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
