/* SPDX-License-Identifier: MIT */
/*
 * The page model (tools/pagemodel.c): every operation goes through a
 * wrapper that checks what must always hold (check()): the frames of each
 * use add up, the free lists hold exactly the free frames, QEMU's RSS is
 * the populated frames, and what the host gets back is never more than
 * what was given up.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pagemodel.h"
#include "pagemodel_scenario.h"

#define M (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)
#define PAGE PAGEMODEL_PAGE_BYTES

static void check(const struct pagemodel *m)
{
	uint64_t sum = 0, listed = 0;
	uint64_t populated = 0;

	for (int u = PAGEMODEL_FREE; u <= PAGEMODEL_UNPLUGGED; u++)
		sum += m->count[u];
	assert_int_equal(sum, m->n);
	for (int z = 0; z < 2; z++)
		for (uint32_t pfn = m->head[z]; pfn != UINT32_MAX; pfn = m->f[pfn].next) {
			assert_int_equal(m->f[pfn].use, PAGEMODEL_FREE);
			listed++;
		}
	assert_int_equal(listed, m->count[PAGEMODEL_FREE]);
	for (uint32_t pfn = 0; pfn < m->n; pfn++) {
		populated += m->f[pfn].flags & PAGEMODEL_POPULATED;
		/* The host holds nothing behind the balloon or unplugged memory. */
		if (m->f[pfn].use == PAGEMODEL_BALLOON || m->f[pfn].use == PAGEMODEL_UNPLUGGED)
			assert_false(m->f[pfn].flags & PAGEMODEL_POPULATED);
	}
	assert_int_equal(populated, m->populated);
	assert_int_equal(pagemodel_rss_bytes(m), populated * PAGE + m->p.overhead_bytes);
}

static void boot(struct pagemodel *m, bool fpr, enum pagemodel_order order, uint64_t movable)
{
	struct pagemodel_params p;

	pagemodel_params_defaults(&p);
	p.fpr = fpr;
	p.order = order;
	p.movable_bytes = movable;
	assert_int_equal(pagemodel_init(m, &p), 0);
	check(m);
}

/* What the host got back from a give-back: the RSS drop, never more than given. */
static uint64_t back_of(struct pagemodel *m, uint64_t (*give)(struct pagemodel *, uint64_t, uint64_t),
			uint64_t bytes, uint64_t now, uint64_t *ret_given)
{
	uint64_t before = pagemodel_rss_bytes(m), after;

	*ret_given = give(m, bytes, now);
	check(m);
	after = pagemodel_rss_bytes(m);
	assert_true(after <= before);
	assert_true(before - after <= *ret_given);
	return before - after;
}

static void test_params_are_checked(void **state)
{
	struct pagemodel_params p;
	struct pagemodel m;

	pagemodel_params_defaults(&p);
	p.boot_bytes = 3 * M;
	assert_int_equal(pagemodel_init(&m, &p), -EINVAL);
	pagemodel_params_defaults(&p);
	p.balloon_order = 10;
	assert_int_equal(pagemodel_init(&m, &p), -EINVAL);
	pagemodel_params_defaults(&p);
	p.kernel_bytes = p.boot_bytes;
	assert_int_equal(pagemodel_init(&m, &p), -EINVAL);
}

/* Writing populates; freeing does not give anything back; boot memory is what the kernel wrote. */
static void test_alloc_populates_and_free_keeps_it(void **state)
{
	struct pagemodel m;
	uint64_t rss0;

	boot(&m, false, PAGEMODEL_MRU, 0);
	rss0 = pagemodel_rss_bytes(&m);
	assert_int_equal(rss0, m.p.kernel_bytes + 4 * PAGE + m.p.overhead_bytes);
	assert_int_equal(pagemodel_alloc(&m, PAGEMODEL_ANON, 100 * M, 0), 100 * M);
	check(&m);
	assert_int_equal(pagemodel_rss_bytes(&m), rss0 + 100 * M);
	assert_int_equal(pagemodel_release(&m, 100 * M, SEC), 100 * M);
	check(&m);
	assert_int_equal(pagemodel_rss_bytes(&m), rss0 + 100 * M);
	assert_int_equal(pagemodel_report(&m, 10 * SEC), 0); /* FPR off */
	pagemodel_free(&m);
}

/* Only whole free blocks are reported, and only after the delay. */
static void test_report_takes_whole_blocks_after_the_delay(void **state)
{
	struct pagemodel m;
	uint64_t rss0;

	boot(&m, true, PAGEMODEL_MRU, 0);
	rss0 = pagemodel_rss_bytes(&m);
	pagemodel_alloc(&m, PAGEMODEL_ANON, 64 * M, 0);
	pagemodel_release(&m, 64 * M, SEC);
	assert_int_equal(pagemodel_report(&m, 2 * SEC), 0);
	/* The first frames went into the four blocks with a kernel page: never reported. */
	assert_int_equal(pagemodel_report(&m, 3 * SEC), 64 * M - 4 * (PAGEMODEL_BLOCK_PAGES - 1) * PAGE);
	check(&m);
	assert_int_equal(pagemodel_rss_bytes(&m), rss0 + 4 * (PAGEMODEL_BLOCK_PAGES - 1) * PAGE);
	assert_int_equal(pagemodel_report(&m, 4 * SEC), 0);
	pagemodel_free(&m);
}

/*
 * The balloon right after a process freed its memory, with older memory
 * reported long ago at lower addresses: reusing the most recently freed
 * frames gives the host that memory back, first-fit takes the reported
 * frames and gives back nothing.
 */
static void test_mru_reuse_frees_more_than_first_fit(void **state)
{
	uint64_t back[2], given;

	for (int o = 0; o < 2; o++) {
		struct pagemodel m;

		boot(&m, true, o == 0 ? PAGEMODEL_MRU : PAGEMODEL_FIRST_FIT, 0);
		pagemodel_alloc(&m, PAGEMODEL_ANON, 100 * M, 0);       /* A, low */
		pagemodel_alloc(&m, PAGEMODEL_ANON, 100 * M, 0);       /* B, above it */
		pagemodel_release(&m, 100 * M, SEC);                   /* A exits... */
		pagemodel_report(&m, 10 * SEC);                        /* ...and is reported */
		pagemodel_release(&m, 100 * M, 11 * SEC);              /* B exits now */
		check(&m);
		back[o] = back_of(&m, pagemodel_balloon, 96 * M, 11 * SEC, &given);
		assert_int_equal(given, 96 * M);
		pagemodel_free(&m);
	}
	assert_int_equal(back[0], 96 * M);
	assert_true(back[1] < 8 * M);
}

/* Huge balloon pages need whole free blocks: after a fragmenting burst they find only untouched ones. */
static void test_balloon_order_zero_frees_fragmented_memory(void **state)
{
	uint64_t back[2], given;

	for (int o = 0; o < 2; o++) {
		struct pagemodel_params p;
		struct pagemodel m;

		pagemodel_params_defaults(&p);
		p.fpr = false;
		p.balloon_order = o == 0 ? 0 : 9;
		assert_int_equal(pagemodel_init(&m, &p), 0);
		for (int i = 0; i < 100; i++) {
			pagemodel_alloc(&m, PAGEMODEL_ANON, 2 * M - PAGE, 0);
			pagemodel_alloc(&m, PAGEMODEL_KERNEL, PAGE, 0);
		}
		pagemodel_release(&m, 200 * M, SEC);
		check(&m);
		back[o] = back_of(&m, pagemodel_balloon, 64 * M, 2 * SEC, &given);
		assert_int_equal(given, 64 * M);
		pagemodel_free(&m);
	}
	assert_int_equal(back[0], 64 * M);
	assert_int_equal(back[1], 0);
}

/* Unplugging anonymous memory migrates it into untouched frames: the host gains little. */
static void test_unplug_migrates_anon_and_drops_cache(void **state)
{
	uint64_t given, back;
	struct pagemodel m;

	boot(&m, false, PAGEMODEL_MRU, 256 * M);
	pagemodel_alloc(&m, PAGEMODEL_ANON, 128 * M, 0);   /* the top of ZONE_MOVABLE is cache */
	pagemodel_alloc(&m, PAGEMODEL_CACHE, 128 * M, 0);
	back = back_of(&m, pagemodel_unplug, 128 * M, SEC, &given);
	assert_int_equal(given, 128 * M);
	assert_int_equal(back, 128 * M);
	assert_int_equal(pagemodel_bytes(&m, PAGEMODEL_CACHE), 0);
	back = back_of(&m, pagemodel_unplug, 128 * M, SEC, &given);
	assert_int_equal(given, 128 * M);
	assert_int_equal(back, 0); /* 128 MiB moved into never-touched boot memory */
	assert_int_equal(pagemodel_bytes(&m, PAGEMODEL_ANON), 128 * M);
	assert_int_equal(pagemodel_bytes(&m, PAGEMODEL_UNPLUGGED), 256 * M);
	assert_int_equal(pagemodel_unplug(&m, 2 * M, SEC), 0); /* nothing left to unplug */
	pagemodel_free(&m);
}

/* A trim gives the host nothing by itself; free page reporting does, after its delay. */
static void test_trim_needs_reporting(void **state)
{
	struct pagemodel m;
	uint64_t rss;

	boot(&m, true, PAGEMODEL_MRU, 0);
	pagemodel_alloc(&m, PAGEMODEL_CACHE, 200 * M, 0);
	rss = pagemodel_rss_bytes(&m);
	assert_int_equal(pagemodel_trim(&m, 5 * SEC), 200 * M);
	check(&m);
	assert_int_equal(pagemodel_rss_bytes(&m), rss);
	assert_int_equal(pagemodel_report(&m, 6 * SEC), 0);
	assert_true(pagemodel_report(&m, 7 * SEC) >= 190 * M);
	check(&m);
	pagemodel_free(&m);
}

/* The balloon reclaims page cache when no frame is free, and stops when nothing is left. */
static void test_balloon_reclaims_cache_then_stops(void **state)
{
	struct pagemodel m;
	uint64_t given, back;

	boot(&m, false, PAGEMODEL_MRU, 0);
	pagemodel_alloc(&m, PAGEMODEL_CACHE, 320 * M, 0);
	assert_int_equal(pagemodel_bytes(&m, PAGEMODEL_FREE), (512 - 120 - 320) * M - 4 * PAGE);
	back = back_of(&m, pagemodel_balloon, 1024 * M, SEC, &given);
	/* All but the kernel's: the untouched free memory first (nothing back), then the cache. */
	assert_int_equal(given, 512 * M - m.p.kernel_bytes - 4 * PAGE);
	assert_int_equal(back, 320 * M);
	assert_int_equal(pagemodel_bytes(&m, PAGEMODEL_CACHE), 0);
	pagemodel_free(&m);
}

/* Every measured scenario runs, and the host never gets back more than was given up. */
static void test_scenarios_run(void **state)
{
	struct pagemodel_params p;

	pagemodel_params_defaults(&p);
	for (size_t i = 0; i < pagemodel_n_cases; i++) {
		struct pagemodel_result r;

		assert_int_equal(pagemodel_run(&pagemodel_cases[i], &p, &r), 0);
		assert_true(r.given_bytes > 0);
		assert_true(r.before_bytes <= r.peak_bytes);
		assert_true(pagemodel_per_mille(&r) <= 1000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_are_checked),
		cmocka_unit_test(test_alloc_populates_and_free_keeps_it),
		cmocka_unit_test(test_report_takes_whole_blocks_after_the_delay),
		cmocka_unit_test(test_mru_reuse_frees_more_than_first_fit),
		cmocka_unit_test(test_balloon_order_zero_frees_fragmented_memory),
		cmocka_unit_test(test_unplug_migrates_anon_and_drops_cache),
		cmocka_unit_test(test_trim_needs_reporting),
		cmocka_unit_test(test_balloon_reclaims_cache_then_stops),
		cmocka_unit_test(test_scenarios_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
