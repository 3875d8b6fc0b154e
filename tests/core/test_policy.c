/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of single policy decisions, the grow side: hand-made inputs,
 * one or a few evaluations, assertions on action, reason, zone, target and
 * the numbers.  Shrinking and trimming are in test_policy_shrink.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy_fixture.h"

static void test_first_evaluation_holds_when_steady(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(5 * SEC);

	fx_init(&fx);
	eval(&fx, &in);
	/* Surplus exists, but the policy waits one calm hold after start. */
	assert_decision(&fx, POLICY_HOLD, POLICY_R_STEADY);
	assert_true(fx.d.hold_until_usec == 10 * SEC);
	assert_true(fx.d.headroom_target_bytes == 4 * GIB / 10);
	assert_true(fx.d.velocity_bytes_per_sec == 0);
	assert_true(fx.d.deficit_bytes == 0);
	assert_true(fx.d.surplus_bytes == 2 * GIB - 4 * GIB / 10 - 64 * MIB);
	assert_true(fx.d.demand_bytes == 2 * GIB);
	/* Kernel zones: 590 free above high + 192 of file pages; slab is theirs, not spare. */
	assert_true(fx.d.kernel_available_bytes == 782 * MIB);
	assert_true(fx.d.kernel_headroom_bytes == 64 * MIB);
	assert_true(fx.d.kernel_max_bytes == 8 * GIB);
}

/*
 * Three earlier samples give the velocity and prime the counters; the
 * fourth is the one under test.  fall is MemAvailable's drop per second.
 */
static void primed(struct fixture *fx, struct policy_input *in, uint64_t avail, uint64_t fall)
{
	for (int k = 0; k < 3; k++) {
		*in = base_input((uint64_t)k * SEC);
		in->mem_available_bytes = avail + (uint64_t)(3 - k) * fall;
		in->oom_kill = 10;
		in->allocstall = 100;
		in->psi_some_total_usec = 1000;
		in->psi_full_total_usec = 1000;
		eval(fx, in);
	}
	*in = base_input(3 * SEC);
	in->mem_available_bytes = avail;
	in->oom_kill = 10;
	in->allocstall = 100;
	in->psi_some_total_usec = 1000;
	in->psi_full_total_usec = 1000;
}

static void test_grow_reasons_and_urgency(void **state)
{
	static const struct {
		const char *name;
		uint64_t avail;
		uint64_t fall; /* per second before the check */
		uint32_t trigger;
		uint32_t full_avg10;
		uint64_t some_stall; /* usec of some stall in the last second */
		uint64_t oom_delta;
		uint64_t allocstall_delta;
		enum policy_action action;
		enum policy_reason reason;
		enum urgency urgency;
		uint64_t min_step;
	} cases[] = {
		{ "calm", 2 * GIB, 0, 0, 0, 0, 0, 0, POLICY_HOLD, POLICY_R_STEADY, URGENCY_LOW, 0 },
		{ "low", 300 * MIB, 0, 0, 0, 0, 0, 0, POLICY_GROW, POLICY_R_LOW_HEADROOM, URGENCY_NORMAL, BLOCK },
		/* 700 MiB/s over the 1.5 s lead time crosses the 64 MiB reserve. */
		{ "falling", 1 * GIB, 700 * MIB, 0, 0, 0, 0, 0, POLICY_GROW, POLICY_R_FALLING_FAST, URGENCY_HIGH, 8 * BLOCK },
		/* Below the 64 MiB reserve and still falling: the earlier grows came too late or were held. */
		{ "into the reserve", 50 * MIB, 10 * MIB, 0, 0, 0, 0, 0, POLICY_GROW, POLICY_R_EMERGENCY, URGENCY_CRITICAL, 2 * BLOCK },
		{ "below the reserve, steady", 50 * MIB, 0, 0, 0, 0, 0, 0, POLICY_GROW, POLICY_R_LOW_HEADROOM, URGENCY_NORMAL, BLOCK },
		{ "low and stalled", 300 * MIB, 0, 1, 0, 50000, 0, 0, POLICY_GROW, POLICY_R_LOW_HEADROOM, URGENCY_HIGH, BLOCK },
		{ "full", 300 * MIB, 0, 1, 600, 50000, 0, 0, POLICY_GROW, POLICY_R_EMERGENCY, URGENCY_CRITICAL, BLOCK },
		{ "allocstall low", 300 * MIB, 0, 0, 0, 0, 0, 7, POLICY_GROW, POLICY_R_EMERGENCY, URGENCY_CRITICAL, BLOCK },
		{ "oom", 1 * GIB, 0, 0, 0, 0, 1, 0, POLICY_GROW, POLICY_R_EMERGENCY, URGENCY_CRITICAL, 2 * BLOCK },
		/* Stalls with memory to spare are page cache turning over: nothing to grow for. */
		{ "trigger alone", 1 * GIB, 0, 2, 0, 50000, 0, 0, POLICY_HOLD, POLICY_R_CACHE_TURNOVER, URGENCY_LOW, 0 },
		{ "full alone", 1 * GIB, 0, 2, 600, 50000, 0, 0, POLICY_HOLD, POLICY_R_CACHE_TURNOVER, URGENCY_LOW, 0 },
		{ "allocstall alone", 1 * GIB, 0, 0, 0, 0, 0, 7, POLICY_HOLD, POLICY_R_CACHE_TURNOVER, URGENCY_LOW, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		primed(&fx, &in, cases[i].avail, cases[i].fall);
		in.trigger_events = cases[i].trigger;
		in.psi_full_avg10 = cases[i].full_avg10;
		in.psi_some_total_usec += cases[i].some_stall;
		in.oom_kill += cases[i].oom_delta;
		in.allocstall += cases[i].allocstall_delta;
		eval(&fx, &in);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason ||
		    fx.d.urgency != cases[i].urgency)
			fail_msg("%s: got %s/%s urgency %u", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason), fx.d.urgency);
		if (cases[i].action == POLICY_GROW) {
			assert_int_equal(fx.d.zone, POLICY_ZONE_MOVABLE);
			if (fx.d.target_bytes - in.current_bytes < cases[i].min_step)
				fail_msg("%s: step %llu MiB too small", cases[i].name,
					 (unsigned long long)((fx.d.target_bytes - in.current_bytes) >> 20));
		}
	}
}

static void test_counters_prime_on_first_evaluation(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.mem_available_bytes = 300 * MIB;
	in.oom_kill = 42;
	in.allocstall = 1000;
	in.psi_full_total_usec = 50 * SEC;
	eval(&fx, &in);
	assert_int_not_equal(fx.d.reason, POLICY_R_EMERGENCY);
	/* Unchanged counters stay quiet. */
	in.now_usec = SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
}

static void test_full_stall_total_is_critical_before_avg10_moves(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.mem_available_bytes = 300 * MIB;
	in.psi_full_total_usec = 1000;
	eval(&fx, &in);
	in.now_usec = 2 * SEC;
	in.psi_full_total_usec += 200000; /* 10 % of 2 s stalled */
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_EMERGENCY);
	assert_true(fx.d.signals & POLICY_SIG_FULL_STALL);
	/* 4 % of the elapsed time is below the 5 % emergency level. */
	in.now_usec = 4 * SEC;
	in.psi_full_total_usec += 80000;
	eval(&fx, &in);
	assert_false(fx.d.signals & POLICY_SIG_FULL_STALL);
}

static void test_velocity_is_least_squares_slope_net_of_memtotal(void **state)
{
	struct fixture fx;
	struct policy_input in;

	fx_init(&fx);
	for (int k = 0; k <= 3; k++) {
		in = base_input((uint64_t)k * SEC);
		/* Falls 10 MiB/s; a plug of 512 MiB lands at k = 2 and must not show. */
		in.mem_total_bytes = 4 * GIB + (k >= 2 ? 512 * MIB : 0);
		in.mem_available_bytes = 2 * GIB - (uint64_t)k * 10 * MIB + (k >= 2 ? 512 * MIB : 0);
		eval(&fx, &in);
		if (k == 0)
			assert_true(fx.d.velocity_bytes_per_sec == 0);
	}
	assert_true(fx.d.velocity_bytes_per_sec == -(int64_t)(10 * MIB));

	/* Samples older than the 3 s window are forgotten: now it rises. */
	for (int k = 4; k <= 10; k++) {
		in = base_input((uint64_t)k * SEC);
		in.mem_available_bytes = 2 * GIB + (uint64_t)k * 4 * MIB;
		eval(&fx, &in);
	}
	assert_true(fx.d.velocity_bytes_per_sec == (int64_t)(4 * MIB));
}

/*
 * The step is the deficit plus the fall over the lead time (1 s plug
 * latency + 0.5 s margin).  Escalation doubles the fall part only, and only
 * when stalls continue after a grow landed: a deficit that persists while
 * a plug is under way buys nothing more, and without a trend escalation
 * adds nothing.
 */
static void test_step_follows_the_trend_and_escalates_only_on_stalls(void **state)
{
	struct fixture fx;
	struct policy_input in;
	uint64_t stall = 1000;

	/* A constant deficit of 109.6 MiB with stalls: the step stays the deficit. */
	fx_init(&fx);
	for (int k = 0; k < 5; k++) {
		in = base_input((uint64_t)k * SEC);
		in.block_bytes = 2 * MIB;
		in.mem_available_bytes = 300 * MIB;
		in.psi_some_total_usec = stall += 100000;
		eval(&fx, &in);
		assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
		assert_int_equal(fx.d.escalation, k < 3 ? k : 3);
		assert_true(fx.d.target_bytes - in.current_bytes == 110 * MIB);
		policy_backend_done(&fx.st, &fx.cfg, in.now_usec, 0, 0, fx.d.target_bytes);
	}

	/* Falling 200 MiB/s: deficit + 300 MiB; after a landed grow, stalls escalate the fall part. */
	for (uint32_t esc = 0; esc <= 2; esc += 2) {
		fx_init(&fx);
		fx.cfg.grow_step_max_bytes = 2 * GIB;
		for (int k = 0; k <= 3; k++) {
			in = base_input((uint64_t)k * SEC);
			in.block_bytes = 2 * MIB;
			in.mem_available_bytes = 300 * MIB + (uint64_t)(3 - k) * 200 * MIB;
			in.psi_some_total_usec = stall += k == 3 ? 100000 : 0;
			if (k == 3 && esc) {
				fx.st.escalation = esc - 1;
				fx.st.grow_landed = true;
			}
			eval(&fx, &in);
		}
		assert_int_equal(fx.d.action, POLICY_GROW);
		assert_int_equal(fx.d.escalation, esc);
		assert_true(fx.d.target_bytes - in.current_bytes == (esc ? 1310 : 410) * MIB);
	}

	/* No shortage: escalation back to 0. */
	in = base_input(10 * SEC);
	in.psi_some_total_usec = stall;
	eval(&fx, &in);
	assert_int_not_equal(fx.d.action, POLICY_GROW);
	assert_int_equal(fx.st.escalation, 0);
}

static void test_grow_step_is_capped_and_stops_at_max(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.mem_available_bytes = 50 * MIB;
	in.mem_total_bytes = in.current_bytes = 40 * GIB;
	in.kernel_free_bytes = 40 * GIB;
	in.max_bytes = 64 * GIB;
	eval(&fx, &in);
	/* Deficit of 4 GiB, but one step is at most grow_step_max. */
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	assert_true(fx.d.target_bytes - in.current_bytes <= 1 * GIB);

	/* Closer to max than one step: the target is max on the block grid. */
	in.now_usec = SEC;
	in.max_bytes = in.current_bytes + 3 * BLOCK + 5 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	assert_true(fx.d.target_bytes == in.current_bytes + 3 * BLOCK);

	/* Less than one block below max. */
	in.now_usec = 2 * SEC;
	in.max_bytes = in.current_bytes + 5 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_AT_MAX);
	assert_int_equal(fx.d.urgency, URGENCY_NORMAL);
}

/* Struct pages of hot-added memory come out of the kernel zones' available memory. */
static void test_memmap_overhead_caps_step_but_keeps_one_block(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	eval(&fx, &in);
	/* 7 MiB available in the kernel zones pays struct pages for 437 MiB: three blocks. */
	in.now_usec = SEC;
	in.mem_available_bytes = 400 * MIB;
	in.kernel_free_bytes = 17 * MIB;
	in.kernel_file_bytes = 0;
	in.slab_reclaimable_bytes = 0;
	in.oom_kill = 1;
	eval(&fx, &in);
	assert_int_equal(fx.d.action, POLICY_GROW);
	assert_true(fx.d.target_bytes - in.current_bytes == 3 * BLOCK);

	/* 1 MiB pays for less than a block: still one block, so the plug can finish. */
	in.now_usec = 2 * SEC;
	in.kernel_free_bytes = 11 * MIB;
	in.oom_kill = 2;
	eval(&fx, &in);
	assert_int_equal(fx.d.action, POLICY_GROW);
	assert_true(fx.d.target_bytes - in.current_bytes == BLOCK);

	/* With memmap_on_memory (overhead 0) the full emergency step goes out. */
	fx_init(&fx);
	fx.cfg.memmap_overhead_centi = 0;
	in.now_usec = 0;
	eval(&fx, &in);
	in.now_usec = SEC;
	in.oom_kill = 3;
	eval(&fx, &in);
	assert_true(fx.d.target_bytes - in.current_bytes >= 256 * MIB);
}

/*
 * Which zone a shortage needs.  The kernel zones are short (20 MiB
 * available for a 64 MiB target) in every case but the first; what decides
 * is whether ZONE_MOVABLE could take the pages and what grows.
 */
static void test_zone_of_a_shortage(void **state)
{
	static const struct {
		const char *name;
		bool zones;
		uint64_t kernel_free;   /* MiB */
		uint64_t movable_free;  /* MiB */
		uint64_t unmovable_per_sec; /* MiB/s of slab growth before the check */
		uint64_t avail;         /* MiB */
		enum policy_reason reason;
		enum policy_zone zone;
		uint64_t step;          /* MiB */
	} cases[] = {
		{ "movable short", true, 600, 20, 0, 300, POLICY_R_LOW_HEADROOM, POLICY_ZONE_MOVABLE, 128 },
		/* Slab filling the kernel zones while ZONE_MOVABLE sits free. */
		{ "unmovable", true, 20, 1024, 0, 2048, POLICY_R_KERNEL_SHORT, POLICY_ZONE_KERNEL, 128 },
		/* ZONE_MOVABLE full too, but slab grows: still the kernel zones. */
		{ "unmovable at base", true, 20, 0, 30, 300, POLICY_R_KERNEL_SHORT, POLICY_ZONE_KERNEL, 128 },
		/* ZONE_MOVABLE full and nothing unmovable grows: user pages spill over. */
		{ "spill", true, 20, 0, 0, 600, POLICY_R_LOW_HEADROOM, POLICY_ZONE_MOVABLE, 128 },
		/* Without zone awareness a kernel shortage is invisible. */
		{ "zones off", false, 20, 1024, 0, 2048, POLICY_R_STEADY, POLICY_ZONE_MOVABLE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		fx.cfg.zones = cases[i].zones;
		for (int k = 0; k <= 3; k++) {
			in = base_input((uint64_t)k * SEC);
			in.kernel_free_bytes = (cases[i].kernel_free + (uint64_t)(3 - k) * cases[i].unmovable_per_sec) * MIB;
			in.kernel_file_bytes = 0;
			in.slab_reclaimable_bytes = 0;
			in.unmovable_bytes = (100 + (uint64_t)k * cases[i].unmovable_per_sec) * MIB;
			in.movable_free_bytes = cases[i].movable_free * MIB;
			in.mem_available_bytes = (cases[i].avail + (uint64_t)(3 - k) * cases[i].unmovable_per_sec) * MIB;
			eval(&fx, &in);
		}
		if (fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
		if (cases[i].step == 0) {
			assert_int_equal(fx.d.action, POLICY_HOLD);
			continue;
		}
		assert_int_equal(fx.d.action, POLICY_GROW);
		if (fx.d.zone != cases[i].zone)
			fail_msg("%s: zone %s", cases[i].name, policy_zone_name(fx.d.zone));
		if (fx.d.target_bytes - in.current_bytes < cases[i].step * MIB)
			fail_msg("%s: step %llu MiB", cases[i].name,
				 (unsigned long long)((fx.d.target_bytes - in.current_bytes) >> 20));
		if (fx.d.zone == POLICY_ZONE_KERNEL)
			assert_true(fx.d.signals & POLICY_SIG_UNMOVABLE);
	}
}

/* A kernel grow comes in whole memory blocks, plus what the kernel plugs into ZONE_MOVABLE first. */
static void test_kernel_step_is_whole_blocks_plus_movable_slack(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.block_bytes = 2 * MIB;
	in.kernel_free_bytes = 20 * MIB;
	in.kernel_file_bytes = 0;
	in.slab_reclaimable_bytes = 0;
	/* 6 MiB of a ZONE_MOVABLE block is not plugged yet. */
	in.movable_present_bytes = in.movable_managed_bytes + 6 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_KERNEL_SHORT);
	assert_int_equal(fx.d.zone, POLICY_ZONE_KERNEL);
	assert_true(fx.d.need_kernel_bytes == 54 * MIB);
	assert_true(fx.d.target_bytes - in.current_bytes == BLOCK + 6 * MIB);
	assert_true(fx.d.need_movable_bytes == 0);
}

/*
 * Both short: the kernel zones first, since their memory serves user pages
 * too; ZONE_MOVABLE gets only what is left, by a later request.
 */
static void test_both_short_serves_the_kernel_zones_first(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.kernel_free_bytes = 20 * MIB;
	in.kernel_file_bytes = 0;
	in.slab_reclaimable_bytes = 0;
	in.movable_free_bytes = 200 * MIB;
	in.mem_available_bytes = 209 * MIB; /* 200 MiB below the 409.6 MiB target */
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_KERNEL_SHORT);
	assert_int_equal(fx.d.zone, POLICY_ZONE_KERNEL);
	assert_true(fx.d.need_kernel_bytes == 54 * MIB);
	assert_true(fx.d.need_movable_bytes > 140 * MIB && fx.d.need_movable_bytes < 150 * MIB);
	assert_true(fx.d.shortage & POLICY_SHORT_GLOBAL);
	assert_true(fx.d.shortage & POLICY_SHORT_KERNEL);
}

/* When only the kernel zones could help and they cannot grow, say so and do not grow. */
static void test_cant_help_instead_of_growing_in_vain(void **state)
{
	static const struct {
		const char *name;
		enum policy_kernel_growth growth;
		uint64_t kernel_managed;
		uint64_t avail;
		enum policy_action action;
		enum policy_reason reason;
		enum policy_cant_help cant;
	} cases[] = {
		{ "bound", POLICY_KGROW_YES, 8 * GIB, 2 * GIB, POLICY_HOLD, POLICY_R_CANT_HELP, POLICY_CANT_KERNEL_BOUND },
		{ "no mechanism", POLICY_KGROW_NO_MECHANISM, 1 * GIB, 2 * GIB, POLICY_HOLD, POLICY_R_CANT_HELP, POLICY_CANT_NO_MECHANISM },
		{ "room for one more block", POLICY_KGROW_YES, 8 * GIB - BLOCK, 2 * GIB, POLICY_GROW, POLICY_R_KERNEL_SHORT, POLICY_CANT_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in = base_input(0);

		fx_init(&fx);
		in.kernel_growth = cases[i].growth;
		in.kernel_managed_bytes = cases[i].kernel_managed;
		in.kernel_free_bytes = 20 * MIB;
		in.kernel_file_bytes = 0;
		in.slab_reclaimable_bytes = 0;
		in.mem_available_bytes = cases[i].avail;
		eval(&fx, &in);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason ||
		    fx.d.cant_help != cases[i].cant)
			fail_msg("%s: got %s/%s cant %d", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason), fx.d.cant_help);
		if (fx.d.action == POLICY_GROW && cases[i].cant != POLICY_CANT_NONE)
			assert_int_equal(fx.d.zone, POLICY_ZONE_MOVABLE);
		if (fx.d.reason == POLICY_R_KERNEL_SHORT)
			assert_true(fx.d.target_bytes - in.current_bytes == BLOCK);
	}
}

/*
 * The kernel zones are at their bound and slab grows 30 MiB/s, but user
 * pages grow faster (available falls 100 MiB/s): ZONE_MOVABLE is grown for
 * the user pages' part of the fall only, and the decision says the rest
 * cannot be helped; the deficit itself, made by slab, is not grown for.
 */
static void test_cant_help_still_grows_for_user_pages(void **state)
{
	struct fixture fx;
	struct policy_input in;

	fx_init(&fx);
	for (int k = 0; k <= 3; k++) {
		in = base_input((uint64_t)k * SEC);
		in.block_bytes = 2 * MIB;
		in.kernel_managed_bytes = 8 * GIB;
		in.kernel_file_bytes = 0;
		in.slab_reclaimable_bytes = 0;
		in.kernel_free_bytes = (20 + (uint64_t)(3 - k) * 30) * MIB;
		in.unmovable_bytes = (100 + (uint64_t)k * 30) * MIB;
		in.movable_free_bytes = 20 * MIB;
		in.mem_available_bytes = (300 + (uint64_t)(3 - k) * 100) * MIB;
		eval(&fx, &in);
	}
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	assert_int_equal(fx.d.zone, POLICY_ZONE_MOVABLE);
	assert_int_equal(fx.d.cant_help, POLICY_CANT_KERNEL_BOUND);
	/* 150 MiB of fall over the lead time, 45 MiB of it slab. */
	assert_true(fx.d.need_movable_bytes == 105 * MIB);
}

/*
 * The kernel zones' own cache (slab, block-device buffers) thrashes: they
 * sit at their watermark with ZONE_MOVABLE mostly free, and refaults or
 * stalls say the working set does not fit.  Only the kernel zones can help.
 */
static void test_kernel_zone_cache_thrash_grows_the_kernel_zones(void **state)
{
	static const struct {
		const char *name;
		uint64_t kernel_free;     /* MiB; high watermark 10 */
		uint64_t movable_free;    /* MiB */
		uint64_t refault_pages_per_sec;
		uint64_t stall_per_sec;   /* usec */
		uint64_t kernel_stalls_per_sec;
		enum policy_action action;
		enum policy_reason reason;
	} cases[] = {
		{ "refaults", 15, 1024, 25600, 0, 0, POLICY_GROW, POLICY_R_KERNEL_SHORT },
		/* Stalls alone may be a walk that reads everything once. */
		{ "stalls", 15, 1024, 0, 100000, 0, POLICY_HOLD, POLICY_R_CACHE_TURNOVER },
		{ "kernel allocations stall", 15, 1024, 0, 0, 3, POLICY_GROW, POLICY_R_KERNEL_SHORT },
		/* No room in ZONE_MOVABLE, but the thrashing cache is theirs (buffers). */
		{ "buffers refault", 15, 100, 25600, 0, 0, POLICY_GROW, POLICY_R_KERNEL_SHORT },
		/* The kernel zones have free memory: their cache fits. */
		{ "kernel zones not full", 300, 1024, 25600, 0, 0, POLICY_HOLD, POLICY_R_PRESSURE_RECENT },
		/* ZONE_MOVABLE is full as well: user pages are short, not the kernel zones. */
		{ "movable full", 15, 100, 0, 100000, 0, POLICY_HOLD, POLICY_R_CACHE_TURNOVER },
		{ "quiet", 15, 1024, 0, 0, 0, POLICY_HOLD, POLICY_R_STEADY },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		for (int k = 0; k <= 3; k++) {
			in = base_input((uint64_t)k * SEC);
			in.mem_available_bytes = 1500 * MIB;
			in.kernel_free_bytes = cases[i].kernel_free * MIB;
			in.movable_free_bytes = cases[i].movable_free * MIB;
			in.refault_file = (uint64_t)k * cases[i].refault_pages_per_sec;
			in.psi_some_total_usec = (uint64_t)k * cases[i].stall_per_sec;
			in.allocstall_kernel = (uint64_t)k * cases[i].kernel_stalls_per_sec;
			if (strcmp(cases[i].name, "buffers refault") == 0)
				in.buffers_bytes = 700 * MIB;
			eval(&fx, &in);
		}
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
		if (fx.d.action == POLICY_GROW) {
			assert_int_equal(fx.d.zone, POLICY_ZONE_KERNEL);
			assert_true(fx.d.signals & POLICY_SIG_KERNEL_CACHE);
			/* 100 MiB/s of refaults over 3 s, or one block, in whole blocks. */
			assert_true(fx.d.target_bytes - in.current_bytes ==
				    (cases[i].refault_pages_per_sec ? 3 : 1) * BLOCK);
		}
	}
}

/*
 * Refaults while our own trim runs are its doing up to twice what it
 * asked for (the trim stops, nothing grows); 300 MiB back after a 32 MiB
 * trim is a kernel-zone working set that does not fit, and the kernel
 * zones grow for it.
 */
static void test_refaults_beyond_our_trim_grow_the_kernel_zones(void **state)
{
	static const struct {
		uint64_t trim_mib;
		enum policy_action action;
	} cases[] = {
		{ 32, POLICY_GROW },
		/* Excused: the trim is stopped, nothing grows. */
		{ 256, POLICY_RECLAIM_STOP },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		/* The trim started with the refault counter at 0. */
		fx.st.trim_bytes = cases[i].trim_mib * MIB;
		fx.st.trim_refault_base = 0;
		for (int k = 0; k <= 3; k++) {
			in = base_input((uint64_t)k * SEC);
			in.mem_available_bytes = 1500 * MIB;
			in.kernel_free_bytes = 15 * MIB;
			in.movable_free_bytes = 1024 * MIB;
			in.refault_file = (uint64_t)k * 25600; /* 100 MiB/s */
			in.reclaim_busy = true;
			eval(&fx, &in);
		}
		if (fx.d.action != cases[i].action)
			fail_msg("trim %llu MiB: got %s/%s", (unsigned long long)cases[i].trim_mib,
				 policy_action_name(fx.d.action), policy_reason_name(fx.d.reason));
		if (fx.d.action == POLICY_GROW) {
			assert_int_equal(fx.d.zone, POLICY_ZONE_KERNEL);
			assert_true(fx.d.signals & POLICY_SIG_KERNEL_CACHE);
		}
	}
}

/*
 * Refaults with no free memory left, of a cache that is mostly buffers and
 * slab: that cache can only come back in the kernel zones, so they grow,
 * not ZONE_MOVABLE (the same refaults of regular file cache grow
 * ZONE_MOVABLE, see test_cache_grows_only_on_refaults).
 */
static void test_refaulting_kernel_cache_grows_the_kernel_zones(void **state)
{
	for (int theirs = 0; theirs <= 1; theirs++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		for (int k = 0; k <= 3; k++) {
			in = base_input((uint64_t)k * SEC + 30 * SEC);
			in.mem_available_bytes = 800 * MIB;
			in.mem_free_bytes = 40 * MIB;
			in.kernel_free_bytes = 300 * MIB;
			in.movable_free_bytes = 20 * MIB;
			in.file_cache_bytes = 700 * MIB;
			in.buffers_bytes = theirs ? 500 * MIB : 0;
			in.refault_file = (uint64_t)k * 25600;
			eval(&fx, &in);
		}
		assert_int_equal(fx.d.action, POLICY_GROW);
		assert_int_equal(fx.d.zone, theirs ? POLICY_ZONE_KERNEL : POLICY_ZONE_MOVABLE);
		assert_int_equal(fx.d.reason, theirs ? POLICY_R_KERNEL_SHORT : POLICY_R_CACHE_REFAULTS);
	}
}

/*
 * A walk of many files fills slab and buffers at 30 MiB/s in a guest with
 * nothing in ZONE_MOVABLE: MemAvailable counts that cache as available and
 * stays high, but it is the kernel zones' own, so they grow before the
 * working set thrashes.
 */
static void test_kernel_zone_cache_fill_grows_before_it_thrashes(void **state)
{
	struct fixture fx;
	struct policy_input in;

	fx_init(&fx);
	for (int k = 0; k <= 3; k++) {
		in = base_input((uint64_t)k * SEC);
		in.movable_free_bytes = 0;
		in.movable_managed_bytes = in.movable_present_bytes = 0;
		in.kernel_file_bytes = 300 * MIB;
		in.buffers_bytes = (210 + (uint64_t)k * 15) * MIB;
		in.slab_reclaimable_bytes = (200 + (uint64_t)k * 15) * MIB;
		/* As the daemon counts it: Buffers is among the unmovable memory. */
		in.unmovable_bytes = 100 * MIB + in.buffers_bytes;
		in.kernel_free_bytes = (60 + (uint64_t)(3 - k) * 30) * MIB;
		in.mem_available_bytes = 1500 * MIB;
		eval(&fx, &in);
	}
	assert_decision(&fx, POLICY_GROW, POLICY_R_KERNEL_SHORT);
	assert_int_equal(fx.d.zone, POLICY_ZONE_KERNEL);
	assert_true(fx.d.signals & POLICY_SIG_UNMOVABLE);
	assert_false(fx.d.signals & POLICY_SIG_STALLS);
	assert_false(fx.d.signals & POLICY_SIG_LOW);
}

/*
 * File cache grows only when it refaults with no free memory left; a
 * streaming read (no refaults) stalls without a grow.
 */
static void test_cache_grows_only_on_refaults(void **state)
{
	static const struct {
		const char *name;
		uint64_t refault_pages_per_sec;
		uint64_t free;
		uint64_t some_stall;
		enum policy_action action;
		enum policy_reason reason;
	} cases[] = {
		{ "streaming", 0, 40 * MIB, 100000, POLICY_HOLD, POLICY_R_CACHE_TURNOVER },
		{ "trickle", 100, 40 * MIB, 100000, POLICY_HOLD, POLICY_R_CACHE_TURNOVER },
		{ "working set", 25600, 40 * MIB, 100000, POLICY_GROW, POLICY_R_CACHE_REFAULTS },
		/* Refaults into free memory: the cache fits (a trim went too far). */
		{ "refaults, free memory", 25600, 800 * MIB, 0, POLICY_HOLD, POLICY_R_NO_SURPLUS },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		for (int k = 0; k <= 3; k++) {
			in = base_input((uint64_t)k * SEC + 30 * SEC);
			in.mem_available_bytes = 800 * MIB;
			in.mem_free_bytes = cases[i].free;
			in.refault_file = (uint64_t)k * cases[i].refault_pages_per_sec;
			in.psi_some_total_usec = (uint64_t)k * cases[i].some_stall;
			eval(&fx, &in);
		}
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
		if (fx.d.action == POLICY_GROW) {
			/* 100 MiB/s of refaults over the 3 s window. */
			assert_true(fx.d.target_bytes - in.current_bytes == 3 * BLOCK);
			assert_int_equal(fx.d.zone, POLICY_ZONE_MOVABLE);
		}
	}
}

static void test_backend_busy_and_backoff_hold_the_grow(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);
	uint64_t t = 0;

	fx_init(&fx);
	in.mem_available_bytes = 300 * MIB;
	in.backend_busy = true;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_BACKEND_BUSY);
	assert_int_equal(fx.d.urgency, URGENCY_NORMAL);
	in.backend_busy = false;

	/* Each failure doubles the wait: 1 s, 2 s, 4 s; a success clears it. */
	for (int k = 0; k < 3; k++) {
		uint64_t wait = SEC << k;

		in.now_usec = t;
		eval(&fx, &in);
		assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
		policy_backend_done(&fx.st, &fx.cfg, t, -EIO, 0, in.current_bytes);
		in.now_usec = t + wait - 1;
		eval(&fx, &in);
		assert_decision(&fx, POLICY_HOLD, POLICY_R_BACKOFF);
		assert_true(fx.d.hold_until_usec == t + wait);
		assert_int_equal(fx.d.failures, k + 1);
		t += wait;
	}
	in.now_usec = t;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	policy_backend_done(&fx.st, &fx.cfg, t, 0, 0, fx.d.target_bytes);
	in.now_usec = t + 1;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	assert_int_equal(fx.d.failures, 0);
}

/* A deny with the host's retry hint holds exactly that long, in that direction only. */
static void test_host_deny_waits_exactly_its_retry_hint(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.mem_available_bytes = 300 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	policy_backend_done(&fx.st, &fx.cfg, 0, -EAGAIN, 7 * SEC, in.current_bytes);
	in.now_usec = 7 * SEC - 1;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_HOST_DENIED);
	assert_true(fx.d.hold_until_usec == 7 * SEC);
	assert_int_equal(fx.d.failures, 0);
	in.now_usec = 7 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);

	/* The need grows urgent (falling fast): a more urgent grow asks again at once. */
	policy_backend_done(&fx.st, &fx.cfg, 7 * SEC, -EAGAIN, 20 * SEC, in.current_bytes);
	in.now_usec = 8 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_HOST_DENIED);
	in.now_usec = 9 * SEC;
	in.psi_some_total_usec += 500000;
	eval(&fx, &in);
	assert_int_equal(fx.d.action, POLICY_GROW);
	assert_int_equal(fx.d.urgency, URGENCY_HIGH);

	/* A shrink held by the host does not hold a grow. */
	policy_backend_done(&fx.st, &fx.cfg, 8 * SEC, 0, 0, fx.d.target_bytes);
	fx.st.pending = POLICY_SHRINK;
	policy_backend_done(&fx.st, &fx.cfg, 9 * SEC, -EAGAIN, 60 * SEC, in.current_bytes);
	in.now_usec = 10 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
}

static void test_backoff_is_capped(void **state)
{
	struct fixture fx;

	fx_init(&fx);
	for (int k = 0; k < 70; k++)
		policy_backend_done(&fx.st, &fx.cfg, 1000 * SEC, -EIO, 0, 0);
	assert_true(fx.st.backoff.retry_at_usec == 1060 * SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_evaluation_holds_when_steady),
		cmocka_unit_test(test_grow_reasons_and_urgency),
		cmocka_unit_test(test_counters_prime_on_first_evaluation),
		cmocka_unit_test(test_full_stall_total_is_critical_before_avg10_moves),
		cmocka_unit_test(test_velocity_is_least_squares_slope_net_of_memtotal),
		cmocka_unit_test(test_step_follows_the_trend_and_escalates_only_on_stalls),
		cmocka_unit_test(test_grow_step_is_capped_and_stops_at_max),
		cmocka_unit_test(test_memmap_overhead_caps_step_but_keeps_one_block),
		cmocka_unit_test(test_zone_of_a_shortage),
		cmocka_unit_test(test_kernel_step_is_whole_blocks_plus_movable_slack),
		cmocka_unit_test(test_both_short_serves_the_kernel_zones_first),
		cmocka_unit_test(test_cant_help_instead_of_growing_in_vain),
		cmocka_unit_test(test_cant_help_still_grows_for_user_pages),
		cmocka_unit_test(test_kernel_zone_cache_thrash_grows_the_kernel_zones),
		cmocka_unit_test(test_kernel_zone_cache_fill_grows_before_it_thrashes),
		cmocka_unit_test(test_refaulting_kernel_cache_grows_the_kernel_zones),
		cmocka_unit_test(test_refaults_beyond_our_trim_grow_the_kernel_zones),
		cmocka_unit_test(test_cache_grows_only_on_refaults),
		cmocka_unit_test(test_backend_busy_and_backoff_hold_the_grow),
		cmocka_unit_test(test_host_deny_waits_exactly_its_retry_hint),
		cmocka_unit_test(test_backoff_is_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
