/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/backoff.h"

#define SEC UINT64_C(1000000)

/* One step: at now, the attempt fails (delay expected) or succeeds (delay 0). */
struct step {
	uint64_t now;
	bool ok;
	uint64_t delay;
	uint32_t failures;
};

static void run(uint64_t min, uint64_t max, const struct step *steps, size_t n)
{
	struct backoff b;

	backoff_init(&b, min, max);
	for (size_t i = 0; i < n; i++) {
		const struct step *s = &steps[i];

		if (s->ok) {
			backoff_succeeded(&b);
			assert_false(backoff_waiting(&b, s->now));
		} else {
			assert_int_equal(backoff_next_usec(&b), s->delay);
			assert_int_equal(backoff_failed(&b, s->now), s->delay);
			assert_int_equal(b.retry_at_usec, s->now + s->delay);
			assert_true(backoff_waiting(&b, s->now));
			assert_false(backoff_waiting(&b, s->now + s->delay));
		}
		assert_int_equal(b.failures, s->failures);
	}
}

static void test_doubles_from_min_to_max(void **state)
{
	static const struct step steps[] = {
		{ 0, false, 1 * SEC, 1 },   { 1, false, 2 * SEC, 2 },  { 2, false, 4 * SEC, 3 },
		{ 3, false, 8 * SEC, 4 },   { 4, false, 16 * SEC, 5 }, { 5, false, 30 * SEC, 6 },
		{ 6, false, 30 * SEC, 7 },
	};

	run(1 * SEC, 30 * SEC, steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_only_success_starts_over(void **state)
{
	/* Nothing but backoff_succeeded() resets: a connect that is dropped again is a failure. */
	static const struct step steps[] = {
		{ 0, false, 100, 1 }, { 100, false, 200, 2 }, { 300, false, 400, 3 },
		{ 700, true, 0, 0 },  { 800, false, 100, 1 }, { 900, false, 200, 2 },
	};

	run(100, 5000, steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_never_overflows(void **state)
{
	struct backoff b;

	/* A huge max and many failures: the delay saturates, retry_at too. */
	backoff_init(&b, 3, UINT64_MAX);
	for (int i = 0; i < 200; i++)
		backoff_failed(&b, UINT64_MAX - 10);
	assert_int_equal(backoff_next_usec(&b), UINT64_MAX);
	assert_true(b.retry_at_usec == UINT64_MAX);
	assert_int_equal(b.failures, 200);
	/* A zero min stays zero: retry at once, however often it failed. */
	backoff_init(&b, 0, 10 * SEC);
	for (int i = 0; i < 100; i++)
		assert_int_equal(backoff_failed(&b, 5), 0);
	assert_false(backoff_waiting(&b, 5));
}

static void test_limits(void **state)
{
	struct backoff b;

	/* max below min is min. */
	backoff_init(&b, 10 * SEC, 1 * SEC);
	assert_int_equal(backoff_failed(&b, 0), 10 * SEC);
	assert_int_equal(backoff_failed(&b, 0), 10 * SEC);
	/* A reload changes the limits and keeps the count. */
	backoff_init(&b, 1 * SEC, 60 * SEC);
	backoff_failed(&b, 0);
	backoff_failed(&b, 0);
	backoff_set_limits(&b, 2 * SEC, 60 * SEC);
	assert_int_equal(b.failures, 2);
	assert_int_equal(backoff_next_usec(&b), 8 * SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_from_min_to_max),
		cmocka_unit_test(test_only_success_starts_over),
		cmocka_unit_test(test_never_overflows),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
