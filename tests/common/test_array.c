/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/array.h"

struct item {
	char name[32];
	uint64_t bytes;
};

/* Appending 10,000 elements keeps every one of them, and the capacity only doubles. */
static void test_grow_keeps_elements_and_doubles(void **state)
{
	struct item *items = NULL;
	size_t n = 0, cap = 0, grows = 0;

	for (size_t i = 0; i < 10000; i++) {
		size_t before = cap;

		assert_int_equal(ARRAY_GROW(items, cap, n + 1), 0);
		assert_true(cap >= n + 1);
		if (cap != before) {
			grows++;
			assert_true(before == 0 || cap == 2 * before);
		}
		snprintf(items[n].name, sizeof(items[n].name), "vm%zu", i);
		items[n++].bytes = i;
	}
	/* 8, 16, ... 16384: 12 allocations for 10,000 appends. */
	assert_int_equal(grows, 12);
	for (size_t i = 0; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "vm%zu", i);
		assert_string_equal(items[i].name, want);
		assert_true(items[i].bytes == i);
	}
	free(items);
}

/* A new slot reads as zero, also after the array grew past elements that were written. */
static void test_new_slots_are_zeroed(void **state)
{
	struct item *items = NULL;
	size_t cap = 0;

	assert_int_equal(ARRAY_GROW(items, cap, 3), 0);
	assert_int_equal(cap, 8);
	for (size_t i = 0; i < cap; i++) {
		assert_true(items[i].bytes == 0);
		memset(&items[i], 0xff, sizeof(items[i]));
	}
	assert_int_equal(ARRAY_GROW(items, cap, 9), 0);
	assert_int_equal(cap, 16);
	assert_true(items[7].bytes == UINT64_MAX);
	for (size_t i = 8; i < cap; i++) {
		assert_true(items[i].bytes == 0);
		assert_string_equal(items[i].name, "");
	}
	free(items);
}

/* A request that fits changes nothing; one past the largest size_t product fails cleanly. */
static void test_no_op_and_overflow(void **state)
{
	struct item *items = NULL;
	struct item *before;
	size_t cap = 0;

	assert_int_equal(ARRAY_GROW(items, cap, 0), 0);
	assert_non_null(items);
	before = items;
	assert_int_equal(ARRAY_GROW(items, cap, cap), 0);
	assert_ptr_equal(items, before);
	assert_int_equal(ARRAY_GROW(items, cap, SIZE_MAX / 2), -ENOMEM);
	assert_ptr_equal(items, before);
	assert_int_equal(cap, 8);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_keeps_elements_and_doubles),
		cmocka_unit_test(test_new_slots_are_zeroed),
		cmocka_unit_test(test_no_op_and_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
