/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/strbuf.h"

static void test_fixed_appends_until_full_then_keeps_what_fitted(void **state)
{
	char buf[16];
	struct strbuf sb;

	strbuf_init(&sb, buf, sizeof(buf));
	assert_string_equal(strbuf_str(&sb), "");
	strbuf_printf(&sb, "%s=%d", "abc", 42);
	strbuf_puts(&sb, ", ");
	assert_string_equal(buf, "abc=42, ");
	assert_int_equal(strbuf_result(&sb), 8);
	assert_false(strbuf_truncated(&sb));
	/* 7 more bytes fit exactly (15 characters and the NUL). */
	strbuf_printf(&sb, "%07d", 1);
	assert_string_equal(buf, "abc=42, 0000001");
	assert_false(strbuf_truncated(&sb));
	/* One more does not: the text is cut and stays cut. */
	strbuf_puts(&sb, "x");
	assert_true(strbuf_truncated(&sb));
	assert_int_equal(strbuf_result(&sb), -ENOSPC);
	assert_string_equal(buf, "abc=42, 0000001");
	strbuf_reset(&sb);
	assert_string_equal(buf, "");
	assert_false(strbuf_truncated(&sb));
}

static void test_fixed_cut_keeps_the_part_that_fits(void **state)
{
	static const struct {
		size_t size;
		const char *first;
		const char *second;
		const char *want;
		bool truncated;
	} cases[] = {
		{ 8, "hello", " world", "hello w", true },
		{ 8, "hello, world", "!", "hello, ", true },
		{ 12, "hello", " world", "hello world", false },
		{ 1, "a", "", "", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		struct strbuf sb;

		strbuf_init(&sb, buf, cases[i].size);
		strbuf_printf(&sb, "%s", cases[i].first);
		strbuf_append(&sb, cases[i].second, strlen(cases[i].second));
		assert_string_equal(strbuf_str(&sb), cases[i].want);
		assert_int_equal(strbuf_len(&sb), strlen(cases[i].want));
		assert_int_equal(strbuf_truncated(&sb), cases[i].truncated);
	}
}

static void test_growable_grows_to_its_cap_and_no_further(void **state)
{
	struct strbuf sb;
	char line[100];

	assert_int_equal(strbuf_init_growable(&sb, 0, 10), -EINVAL);
	assert_int_equal(strbuf_init_growable(&sb, 20, 10), -EINVAL);
	assert_int_equal(strbuf_init_growable(&sb, 16, 1000), 0);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	for (int i = 0; i < 9; i++)
		strbuf_printf(&sb, "%s\n", line);
	assert_false(strbuf_truncated(&sb));
	assert_int_equal(strbuf_len(&sb), 900);
	assert_true(sb.size <= 1000);
	assert_int_equal(strbuf_result(&sb), 900);
	/* The tenth line needs 1000 bytes plus the NUL: over the cap. */
	strbuf_printf(&sb, "%s\n", line);
	assert_true(strbuf_truncated(&sb));
	assert_int_equal(strbuf_len(&sb), 999);
	assert_int_equal(strlen(strbuf_str(&sb)), 999);
	assert_false(sb.failed);
	/* Reset keeps the memory and starts over. */
	strbuf_reset(&sb);
	strbuf_puts(&sb, "again");
	assert_string_equal(strbuf_str(&sb), "again");
	strbuf_free(&sb);
	assert_null(strbuf_str(&sb));
}

static void test_growable_append_of_a_big_block(void **state)
{
	static char big[5000];
	struct strbuf sb;

	memset(big, 'y', sizeof(big));
	assert_int_equal(strbuf_init_growable(&sb, 8, 8192), 0);
	strbuf_append(&sb, big, sizeof(big));
	assert_int_equal(strbuf_len(&sb), sizeof(big));
	assert_int_equal(strbuf_str(&sb)[sizeof(big)], '\0');
	strbuf_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_appends_until_full_then_keeps_what_fitted),
		cmocka_unit_test(test_fixed_cut_keeps_the_part_that_fits),
		cmocka_unit_test(test_growable_grows_to_its_cap_and_no_further),
		cmocka_unit_test(test_growable_append_of_a_big_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
