/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/parse.h"

static void test_u64_accepts_decimal_and_limits(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(parse_u64("99999999999999999999999", &v), -ERANGE);
}

static void test_u64_rejects_everything_else(void **state)
{
	static const char *const bad[] = { "", " 1", "1 ", "+1", "-1", "0x10", "1e3", "12a", "1.0" };
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_u64(bad[i], &v), -EINVAL);
		assert_int_equal(v, 42); /* untouched on failure */
	}
}

static void test_size_suffixes(void **state)
{
	static const struct {
		const char *in;
		uint64_t out;
	} ok[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "4096B", 4096 },
		{ "2K", 2048 },
		{ "2KiB", 2048 },
		{ "512M", 512ull << 20 },
		{ "4G", 4ull << 30 },
		{ "1T", 1ull << 40 },
		{ "3GiB", 3ull << 30 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse_size(ok[i].in, &v), 0);
		assert_true(v == ok[i].out);
	}
	assert_int_equal(parse_size("4g", &v), -EINVAL);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("1.5G", &v), -EINVAL);
	assert_int_equal(parse_size("16777216T", &v), -ERANGE);
}

static void test_duration_units(void **state)
{
	uint64_t v;

	assert_int_equal(parse_duration_usec("250", &v), 0);
	assert_true(v == 250000);
	assert_int_equal(parse_duration_usec("250ms", &v), 0);
	assert_true(v == 250000);
	assert_int_equal(parse_duration_usec("10s", &v), 0);
	assert_true(v == 10000000);
	assert_int_equal(parse_duration_usec("2m", &v), 0);
	assert_true(v == 120000000);
	assert_int_equal(parse_duration_usec("7us", &v), 0);
	assert_true(v == 7);
	assert_int_equal(parse_duration_usec("1h", &v), 0);
	assert_true(v == 3600000000ull);
	assert_int_equal(parse_duration_usec("10 s", &v), -EINVAL);
	assert_int_equal(parse_duration_usec("s", &v), -EINVAL);
}

static void test_centi_fixed_point(void **state)
{
	uint64_t v;

	assert_int_equal(parse_centi("12.34", &v), 0);
	assert_int_equal(v, 1234);
	assert_int_equal(parse_centi("0.5", &v), 0);
	assert_int_equal(v, 50);
	assert_int_equal(parse_centi("100", &v), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(parse_centi("0.00", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_centi("1.234", &v), -EINVAL);
	assert_int_equal(parse_centi("1.", &v), -EINVAL);
	assert_int_equal(parse_centi(".5", &v), -EINVAL);
	assert_int_equal(parse_centi("1.-5", &v), -EINVAL);
	assert_int_equal(parse_centi_n("3.25xyz", 3, &v), 0);
	assert_int_equal(v, 320);
}

static void test_bool_words(void **state)
{
	bool b;

	assert_int_equal(parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_accepts_decimal_and_limits),
		cmocka_unit_test(test_u64_rejects_everything_else),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_centi_fixed_point),
		cmocka_unit_test(test_bool_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
