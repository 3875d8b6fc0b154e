/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/ratelimit.h"

#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)

/* Events at now: how many of n in a row go ahead. */
static unsigned take_n(struct ratelimit *rl, uint64_t now, unsigned n)
{
	unsigned ok = 0;

	while (n-- > 0)
		ok += ratelimit_take(rl, now);
	return ok;
}

static void test_a_burst_then_one_per_interval(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 5, 100 * MS);
	assert_int_equal(take_n(&rl, 1000 * SEC, 100), 5);
	assert_int_equal(ratelimit_take_suppressed(&rl), 95);
	assert_int_equal(ratelimit_take_suppressed(&rl), 0);
	/* 99 ms later nothing, at 100 ms one. */
	assert_int_equal(take_n(&rl, 1000 * SEC + 99 * MS, 10), 0);
	assert_int_equal(take_n(&rl, 1000 * SEC + 100 * MS, 10), 1);
	/* A partial interval is not lost: 150 ms, then 50 ms more, make the next token. */
	assert_int_equal(take_n(&rl, 1000 * SEC + 250 * MS, 10), 1);
	assert_int_equal(take_n(&rl, 1000 * SEC + 300 * MS, 10), 1);
	assert_int_equal(rl.suppressed_total, 95 + 10 + 9 + 9 + 9);
}

static void test_a_flood_gets_the_rate_and_no_more(void **state)
{
	struct ratelimit rl;
	unsigned ok = 0;

	/* 10 s of one event every millisecond against 10 per second with a burst of 20. */
	ratelimit_init(&rl, 20, 100 * MS);
	for (uint64_t t = 0; t < 10 * SEC; t += MS)
		ok += ratelimit_take(&rl, 5 * SEC + t);
	assert_in_range(ok, 20 + 99, 20 + 100);
	assert_int_equal(ratelimit_take_suppressed(&rl), 10000 - ok);
}

static void test_idle_time_fills_the_bucket_but_no_further(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 3, SEC);
	assert_int_equal(take_n(&rl, 0, 3), 3);
	/* An hour idle is worth a burst, not 3600 tokens. */
	assert_int_equal(take_n(&rl, 3600 * SEC, 100), 3);
	assert_int_equal(ratelimit_wait_usec(&rl, 3600 * SEC), SEC);
	assert_int_equal(ratelimit_wait_usec(&rl, 3600 * SEC + 400 * MS), 600 * MS);
	assert_int_equal(ratelimit_wait_usec(&rl, 3601 * SEC), 0);
}

static void test_zero_burst_refuses_and_zero_interval_allows(void **state)
{
	struct ratelimit none, all;

	ratelimit_init(&none, 0, SEC);
	ratelimit_init(&all, 0, 0);
	assert_int_equal(take_n(&none, 0, 10), 0);
	assert_int_equal(take_n(&none, 100 * SEC, 10), 0);
	assert_true(ratelimit_wait_usec(&none, 100 * SEC) == UINT64_MAX);
	assert_int_equal(take_n(&all, 0, 1000), 1000);
	assert_int_equal(ratelimit_take_suppressed(&all), 0);
}

static void test_new_limits_keep_tokens_up_to_the_new_burst(void **state)
{
	struct ratelimit rl;

	ratelimit_init(&rl, 10, SEC);
	assert_int_equal(take_n(&rl, 0, 2), 2); /* 8 left */
	ratelimit_set(&rl, 4, SEC);
	assert_int_equal(take_n(&rl, 0, 10), 4);
	/* A clock that steps back earns nothing and breaks nothing. */
	assert_int_equal(take_n(&rl, 0, 1), 0);
	assert_int_equal(take_n(&rl, SEC, 2), 1);
}

/* A bucket handed over holds what it was given, and refills from then on. */
static void test_a_bucket_handed_over_keeps_its_level(void **state)
{
	struct ratelimit from, to;

	ratelimit_init(&from, 10, 100 * MS);
	assert_int_equal(ratelimit_tokens(&from, 50 * SEC), 10);
	assert_int_equal(take_n(&from, 50 * SEC, 8), 8);
	assert_int_equal(ratelimit_tokens(&from, 50 * SEC + 50 * MS), 2);

	ratelimit_init(&to, 10, 100 * MS);
	ratelimit_start(&to, ratelimit_tokens(&from, 50 * SEC + 50 * MS), 50 * SEC + 50 * MS);
	assert_int_equal(take_n(&to, 50 * SEC + 50 * MS, 10), 2);
	assert_int_equal(take_n(&to, 50 * SEC + 150 * MS, 10), 1);
	/* More than the burst is capped. */
	ratelimit_start(&to, 1000, 60 * SEC);
	assert_int_equal(take_n(&to, 60 * SEC, 100), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_burst_then_one_per_interval),
		cmocka_unit_test(test_a_flood_gets_the_rate_and_no_more),
		cmocka_unit_test(test_idle_time_fills_the_bucket_but_no_further),
		cmocka_unit_test(test_zero_burst_refuses_and_zero_interval_allows),
		cmocka_unit_test(test_new_limits_keep_tokens_up_to_the_new_burst),
		cmocka_unit_test(test_a_bucket_handed_over_keeps_its_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
