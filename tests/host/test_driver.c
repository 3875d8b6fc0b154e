/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor-independent driver (driver.c) over a fake ops table that
 * counts what would go to the hypervisor: what a guest reports through the
 * balloon is not believed below the target it was given (issue 10, Why 8),
 * a guest's `done` flood becomes a bounded number of refreshes, and a
 * failed reconciliation on a link that stays up is asked again with
 * backoff (issue 10, Why 1).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"
#include "host/driver.h"

#define MIB (UINT64_C(1) << 20)
#define MS UINT64_C(1000)
#define SEC UINT64_C(1000000)

static unsigned queries, reconciles;

static int fake_open(struct driver *d) { return 0; }
static void fake_stop(struct driver *d) {}
static void fake_close(struct driver *d) {}
static void fake_tick(struct driver *d, uint64_t now_usec) {}
static int fake_query(struct driver *d, bool reconcile, uint64_t now_usec)
{
	queries++;
	reconciles += reconcile;
	return 0;
}
static int fake_set(struct driver *d, uint64_t v, uint64_t now_usec) { return 0; }
static const char *fake_word(const struct driver *d) { return "fake"; }
static unsigned fake_connects(const struct driver *d) { return 0; }

static const struct driver_ops fake_ops = {
	.name = "fake", .open = fake_open, .stop = fake_stop, .close = fake_close,
	.tick = fake_tick, .query = fake_query, .set_vmem = fake_set, .set_balloon = fake_set,
	.link_word = fake_word, .connects = fake_connects,
};

static struct driver_env env;

static void init_driver(struct driver *d, bool vmem, bool balloon)
{
	struct config_vm c = { .name = "t", .min_bytes = 256 * MIB, .max_bytes = 4096 * MIB };

	if (vmem)
		strcpy(c.vmem_id, "vmem0");
	if (balloon)
		strcpy(c.balloon_id, "balloon0");
	queries = reconciles = 0;
	assert_int_equal(driver_init(d, &env, &fake_ops, &c), 0);
}

static void test_balloon_actual_is_not_believed_below_the_target(void **state)
{
	struct driver d;

	init_driver(&d, false, true);
	d.sizes.boot_bytes = 2048 * MIB;
	d.sizes.balloon_target_bytes = 1024 * MIB;
	/* A guest that gave back what it was asked for, or is still on its way there. */
	d.sizes.balloon_actual_bytes = 1024 * MIB;
	assert_int_equal(driver_current_bytes(&d), 1024 * MIB);
	d.sizes.balloon_actual_bytes = 1536 * MIB;
	assert_int_equal(driver_current_bytes(&d), 1536 * MIB);
	/* A guest that claims it holds less than its target: not believed. */
	d.sizes.balloon_actual_bytes = 16 * MIB;
	assert_int_equal(driver_current_bytes(&d), 1024 * MIB);
	/* Nothing set yet: the actual size is all there is, up to the boot memory. */
	d.sizes.balloon_target_bytes = 0;
	assert_int_equal(driver_current_bytes(&d), 16 * MIB);
	d.sizes.balloon_actual_bytes = 4096 * MIB;
	assert_int_equal(driver_current_bytes(&d), 2048 * MIB);
	driver_close(&d);
}

static void test_done_floods_are_coalesced_into_few_refreshes(void **state)
{
	struct driver d;
	uint64_t t0 = 1000 * SEC;

	init_driver(&d, true, false);
	d.reconciled = true;
	/* 10 s of a `done` every millisecond, the loop ticking every 100 ms. */
	for (uint64_t t = 0; t < 10 * SEC; t += MS) {
		driver_refresh(&d, t0 + t);
		if (t % (100 * MS) == 0)
			driver_tick(&d, t0 + t);
	}
	assert_in_range(queries, 10, 2 + 10 * SEC / (500 * MS));
	/* The last one asked for is not lost: it goes out when the budget allows. */
	driver_tick(&d, t0 + 11 * SEC);
	assert_false(d.refresh_again);
	driver_close(&d);
}

static void test_a_failed_reconciliation_is_asked_again_with_backoff(void **state)
{
	struct driver d;
	uint64_t now = clock_now_usec();

	init_driver(&d, true, false);
	driver_link_up(&d, now);
	assert_int_equal(reconciles, 1);
	driver_reconcile_done(&d, false);
	driver_tick(&d, now);
	assert_int_equal(reconciles, 1);
	driver_tick(&d, now + 600 * MS);
	assert_int_equal(reconciles, 2);
	driver_reconcile_done(&d, false);
	driver_tick(&d, now + 900 * MS);
	assert_int_equal(reconciles, 2); /* the second wait is longer */
	driver_tick(&d, now + 2 * SEC);
	assert_int_equal(reconciles, 3);
	driver_reconcile_done(&d, true);
	assert_true(driver_reconciled(&d));
	assert_true(driver_take_news(&d) & DRIVER_NEWS_RECONCILED);
	/* A link that went down is not asked: coming up again reconciles. */
	driver_link_down(&d, -ECONNRESET);
	driver_reconcile_done(&d, false);
	driver_tick(&d, now + 60 * SEC);
	assert_int_equal(reconciles, 3);
	driver_close(&d);
}

/*
 * A VM with both devices shrinks through the mechanism that frees more host
 * memory per MiB: virtio-mem with the measured defaults (99% against 72%),
 * the balloon when its efficiency is set higher, and the balloon alone
 * never decides anything for a VM without virtio-mem.
 */
static void test_shrink_goes_through_the_more_efficient_mechanism(void **state)
{
	struct config_vm c = { .name = "t", .vmem_id = "vmem0", .balloon_id = "balloon0",
			       .vmem_efficiency_centi = 9900, .balloon_efficiency_centi = 7200 };
	struct driver_sizes s = { .boot_bytes = 1024 * MIB, .vmem_requested_bytes = 512 * MIB,
				  .vmem_max_bytes = 2048 * MIB, .vmem_block_bytes = 2 * MIB };
	static const struct {
		uint32_t balloon_centi;
		uint64_t total, vmem, balloon;
	} cases[] = {
		/* virtio-mem first: it unplugs, the balloon stays deflated. */
		{ 7200, 1200 * MIB, 176 * MIB, 1024 * MIB },
		{ 7200, 900 * MIB, 0, 900 * MIB },
		/* The balloon first: virtio-mem keeps its 512 MiB. */
		{ 9950, 1200 * MIB, 512 * MIB, 688 * MIB },
		{ 9950, 1536 * MIB, 512 * MIB, 1024 * MIB },
		/* ...growth plugs only once the balloon is deflated... */
		{ 9950, 1800 * MIB, 776 * MIB, 1024 * MIB },
		/* ...and below the balloon's floor virtio-mem gives up the rest. */
		{ 9950, 300 * MIB, 298 * MIB, 2 * MIB },
		/* Equal: virtio-mem, as without the keys. */
		{ 9900, 1200 * MIB, 176 * MIB, 1024 * MIB },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t vmem, balloon;

		c.balloon_efficiency_centi = cases[i].balloon_centi;
		assert_int_equal(driver_prefers_balloon(&c), cases[i].balloon_centi > 9900);
		driver_split(&c, &s, cases[i].total, &vmem, &balloon);
		assert_int_equal(vmem, cases[i].vmem);
		assert_int_equal(balloon, cases[i].balloon);
		/* Every split adds up to the total (whole blocks: the total was block-aligned). */
		assert_int_equal(s.boot_bytes + vmem - (s.boot_bytes - balloon), cases[i].total);
	}
	c.vmem_id[0] = '\0';
	c.balloon_efficiency_centi = 10000;
	assert_false(driver_prefers_balloon(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balloon_actual_is_not_believed_below_the_target),
		cmocka_unit_test(test_done_floods_are_coalesced_into_few_refreshes),
		cmocka_unit_test(test_a_failed_reconciliation_is_asked_again_with_backoff),
		cmocka_unit_test(test_shrink_goes_through_the_more_efficient_mechanism),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
