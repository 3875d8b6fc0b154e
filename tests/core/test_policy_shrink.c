/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of single policy decisions, the giving-back side: shrinking
 * when calm, the host's ask, trimming page cache before a shrink and
 * proactively, and how fast a burst's memory comes back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy_fixture.h"

static void test_reclaim_stops_when_pressure_rises(void **state)
{
	static const struct {
		const char *name;
		uint64_t refaults;
		uint64_t some_stall; /* usec within the last second */
		uint64_t avail;
		bool backend_busy;
		enum policy_action action;
		enum policy_reason reason;
	} cases[] = {
		{ "quiet", 100, 0, 2 * GIB, false, POLICY_HOLD, POLICY_R_RECLAIMING },
		{ "refaults", 5000, 0, 2 * GIB, false, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING },
		{ "stalls", 0, 100000, 2 * GIB, false, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING },
		/* A grow implies the daemon stops the trim. */
		{ "short", 0, 100000, 300 * MIB, false, POLICY_GROW, POLICY_R_LOW_HEADROOM },
		/* Unless the grow is held: then the stop is explicit. */
		{ "short, busy", 0, 100000, 300 * MIB, true, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in = base_input(0);

		fx_init(&fx);
		in.refault_file = 1000;
		eval(&fx, &in);
		in.now_usec = SEC;
		in.reclaim_busy = true;
		in.refault_file += cases[i].refaults;
		in.psi_some_total_usec += cases[i].some_stall;
		in.mem_available_bytes = cases[i].avail;
		in.backend_busy = cases[i].backend_busy;
		eval(&fx, &in);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
	}
}

static void test_trim_cache_once_before_a_shrink(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	fx.cfg.trim_interval_usec = 0; /* no proactive trims: only the one before a shrink */
	in.mem_free_bytes = 100 * MIB;
	in.file_cache_bytes = 1500 * MIB;
	run_calm(&fx, &in, 0, 5 * SEC);
	/* Release 512 MiB (4 blocks); free lacks 444 MiB: four 32 MiB steps at most. */
	assert_decision(&fx, POLICY_RECLAIM, POLICY_R_TRIM_CACHE);
	assert_true(fx.d.reclaim_bytes == 4 * 32 * MIB);
	in.now_usec += SEC;
	in.reclaim_busy = true;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_RECLAIMING);
	in.reclaim_busy = false;
	in.now_usec += SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	assert_true(in.current_bytes - fx.d.target_bytes == 4 * BLOCK);

	/* Cache at its floor: no trim, shrink straight away. */
	fx_init(&fx);
	in.file_cache_bytes = 64 * MIB;
	run_calm(&fx, &in, 0, 5 * SEC);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
}

static void test_shrink_holds_in_order(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	fx.cfg.reclaim_enabled = false;
	fx.cfg.grow_hold_usec = 20 * SEC;
	in.mem_available_bytes = 1 * GIB; /* surplus 550.4 MiB */
	run_calm(&fx, &in, 0, 4 * SEC);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_STEADY);
	in.now_usec = 5 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	/* All of the surplus, rounded down to blocks: 4 blocks. */
	assert_true(in.current_bytes - fx.d.target_bytes == 4 * BLOCK);
	policy_backend_done(&fx.st, &fx.cfg, 6 * SEC, 0, 0, fx.d.target_bytes);
	in.now_usec = 6 * SEC + SEC / 2;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_SHRINK_INTERVAL);
	assert_true(fx.d.hold_until_usec == 7 * SEC);

	/* Stalls without a shortage: cache turnover now, then PRESSURE_RECENT for 5 s. */
	in.now_usec = 50 * SEC;
	in.psi_some_total_usec += 2 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_CACHE_TURNOVER);
	in.now_usec = 54 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_PRESSURE_RECENT);
	assert_true(fx.d.last_pressure_usec == 50 * SEC);
	assert_true(fx.d.hold_until_usec == 55 * SEC);
	in.now_usec = 55 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	policy_backend_done(&fx.st, &fx.cfg, 55 * SEC, 0, 0, fx.d.target_bytes);

	/* A grow soon after the shrink. */
	in.now_usec = 100 * SEC;
	in.mem_available_bytes = 100 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	policy_backend_done(&fx.st, &fx.cfg, 101 * SEC, 0, 0, fx.d.target_bytes);
	in.mem_available_bytes = 1 * GIB;
	run_calm(&fx, &in, 102 * SEC, 109 * SEC);
	/* Grew within 120 s of a shrink: ping-pong level 1 doubles the calm hold. */
	assert_decision(&fx, POLICY_HOLD, POLICY_R_PINGPONG_HOLD);
	assert_int_equal(fx.d.pingpong_level, 1);
	assert_true(fx.d.hold_until_usec == 110 * SEC);
	in.now_usec = 110 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_GROW_HOLD);
	assert_true(fx.d.hold_until_usec == 121 * SEC);
	in.now_usec = 121 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	/* Level 1 halves the fraction: 275 MiB of the 550 MiB surplus, 2 blocks. */
	assert_true(in.current_bytes - fx.d.target_bytes == 2 * BLOCK);
}

static void test_shrink_respects_min_releasable_and_surplus(void **state)
{
	static const struct {
		const char *name;
		uint64_t avail;
		uint64_t current;
		uint64_t releasable;
		uint64_t active_file;
		bool refaulted;
		enum policy_action action;
		enum policy_reason reason;
		uint64_t release;
	} cases[] = {
		{ "at min", 1 * GIB, 1 * GIB + 100 * MIB, UINT64_MAX, 0, false, POLICY_HOLD, POLICY_R_AT_MIN, 0 },
		{ "near min", 1 * GIB, 1 * GIB + 2 * BLOCK, UINT64_MAX, 0, false, POLICY_SHRINK, POLICY_R_SURPLUS, 2 * BLOCK },
		{ "no surplus", 450 * MIB, 4 * GIB, UINT64_MAX, 0, false, POLICY_HOLD, POLICY_R_NO_SURPLUS, 0 },
		{ "tiny surplus", 550 * MIB, 4 * GIB, UINT64_MAX, 0, false, POLICY_HOLD, POLICY_R_STEADY, 0 },
		{ "one block", 650 * MIB, 4 * GIB, UINT64_MAX, 0, false, POLICY_SHRINK, POLICY_R_SURPLUS, BLOCK },
		{ "step cap", 3 * GIB, 4 * GIB, UINT64_MAX, 0, false, POLICY_SHRINK, POLICY_R_SURPLUS, 4 * BLOCK },
		/* Nothing in ZONE_MOVABLE: kernel-zone memory is not given back. */
		{ "kernel only", 2 * GIB, 4 * GIB, 0, 0, false, POLICY_HOLD, POLICY_R_NOT_RELEASABLE, 0 },
		{ "partly movable", 2 * GIB, 4 * GIB, BLOCK + 1, 0, false, POLICY_SHRINK, POLICY_R_SURPLUS, BLOCK },
		/* A working set that refaulted is demand: 1.2 GiB of it leaves 374 MiB of surplus. */
		{ "refaulted cache", 2 * GIB, 4 * GIB, UINT64_MAX, 1200 * MIB, true, POLICY_SHRINK, POLICY_R_SURPLUS, 2 * BLOCK },
		{ "cold cache", 2 * GIB, 4 * GIB, UINT64_MAX, 1200 * MIB, false, POLICY_SHRINK, POLICY_R_SURPLUS, 4 * BLOCK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in = base_input(0);

		fx_init(&fx);
		fx.cfg.reclaim_enabled = false;
		in.mem_available_bytes = cases[i].avail;
		in.current_bytes = in.mem_total_bytes = cases[i].current;
		in.releasable_bytes = cases[i].releasable;
		in.active_file_bytes = cases[i].active_file;
		if (cases[i].refaulted) {
			fx.st.seen_refaults = true;
			fx.st.last_refaults_usec = 0;
		}
		run_calm(&fx, &in, 0, 5 * SEC);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
		if (cases[i].action == POLICY_SHRINK) {
			assert_true(in.current_bytes - fx.d.target_bytes == cases[i].release);
			/* The shrink never takes available below the target and the kept cache. */
			assert_true(in.mem_available_bytes - cases[i].release >=
				    fx.d.headroom_target_bytes + fx.d.protected_cache_bytes);
		}
	}
}

static void test_host_reclaim_safe_and_unsafe(void **state)
{
	static const struct {
		const char *name;
		uint64_t host_target;
		uint64_t avail;
		uint64_t some_stall;
		enum policy_action action;
		enum policy_reason reason;
		uint64_t target;
	} cases[] = {
		/* Surplus 1574 MiB: 3 GiB is safe and honoured in one step. */
		{ "safe", 3 * GIB, 2 * GIB, 0, POLICY_SHRINK, POLICY_R_HOST_RECLAIM, 3 * GIB },
		/* 2 GiB is not: go to the safe floor, on the block grid. */
		{ "partly", 2 * GIB, 2 * GIB, 0, POLICY_SHRINK, POLICY_R_HOST_RECLAIM, 4 * GIB - 12 * BLOCK },
		{ "below min", 512 * MIB, 4 * GIB, 0, POLICY_SHRINK, POLICY_R_HOST_RECLAIM, 1 * GIB },
		{ "no room", 3 * GIB, 500 * MIB, 0, POLICY_HOLD, POLICY_R_HOST_RECLAIM_UNSAFE, 4 * GIB },
		{ "pressure", 3 * GIB, 2 * GIB, 200000, POLICY_HOLD, POLICY_R_HOST_RECLAIM_UNSAFE, 4 * GIB },
		{ "satisfied", 5 * GIB, 2 * GIB, 0, POLICY_SHRINK, POLICY_R_SURPLUS, 4 * GIB - 12 * BLOCK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in = base_input(0);

		fx_init(&fx);
		fx.cfg.reclaim_enabled = false;
		fx.cfg.shrink_step_max_bytes = 4 * GIB;
		in.mem_available_bytes = cases[i].avail;
		/* Startup holds only; the host's ask needs no calm hold without pressure. */
		run_calm(&fx, &in, 0, 4 * SEC);
		in.now_usec = 5 * SEC;
		in.host_reclaim_target_bytes = cases[i].host_target;
		in.psi_some_total_usec += cases[i].some_stall;
		eval(&fx, &in);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason ||
		    fx.d.target_bytes != cases[i].target)
			fail_msg("%s: got %s/%s to %llu MiB", cases[i].name,
				 policy_action_name(fx.d.action), policy_reason_name(fx.d.reason),
				 (unsigned long long)(fx.d.target_bytes >> 20));
	}
}

/*
 * When calm and at its minimum, the guest trims cold cache step by step;
 * refaults after a step pause trimming for at least backoff_min from the
 * last refault (a working set used in cycles refaults in each cycle) and
 * protect the active cache.
 */
static void test_cold_cache_is_trimmed_and_refaults_slow_it(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);
	uint64_t trims = 0;

	fx_init(&fx);
	in.current_bytes = in.min_bytes;
	in.file_cache_bytes = 1 * GIB;
	/* Steps: an eighth of the 960 MiB of cold cache, at most 32 MiB, once a second. */
	for (uint64_t t = 0; t < 10 * SEC; t += SEC / 4) {
		in.now_usec = t;
		eval(&fx, &in);
		if (fx.d.action == POLICY_RECLAIM) {
			assert_int_equal(fx.d.reason, POLICY_R_TRIM_COLD);
			assert_true(fx.d.reclaim_bytes == 32 * MIB);
			assert_true(t >= 5 * SEC);
			trims++;
		}
	}
	assert_true(trims == 5);

	/*
	 * The next step finds refaults: the trim reached a working set.  No
	 * trim for backoff_min (30 s, more than the 2 s of doubling), counted
	 * from the last refault, and the active cache is kept.
	 */
	in.now_usec = 10 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_RECLAIM, POLICY_R_TRIM_COLD);
	in.now_usec = 10 * SEC + SEC / 4;
	in.refault_file += 5000;
	eval(&fx, &in);
	assert_int_not_equal(fx.d.action, POLICY_RECLAIM);
	assert_true(fx.d.protected_cache_bytes == 512 * MIB);
	assert_true(fx.st.trim_interval_usec == 30 * SEC);
	/* It refaults again in its next cycle, 20 s later: the pause starts anew. */
	run_calm(&fx, &in, 10 * SEC + SEC / 2, 30 * SEC);
	assert_int_not_equal(fx.d.action, POLICY_RECLAIM);
	in.now_usec = 30 * SEC;
	in.refault_file += 5000;
	eval(&fx, &in);
	assert_true(fx.st.trim_interval_usec == 30 * SEC);
	/*
	 * The refault rate is measured over the velocity window (3 s): the
	 * last refault the policy sees is at most that much after 30 s.
	 */
	for (uint64_t t = 30 * SEC + SEC / 4; t < 60 * SEC; t += SEC / 4) {
		in.now_usec = t;
		eval(&fx, &in);
		assert_int_not_equal(fx.d.action, POLICY_RECLAIM);
	}
	while (fx.d.action != POLICY_RECLAIM && in.now_usec < 64 * SEC) {
		in.now_usec += SEC / 4;
		eval(&fx, &in);
	}
	/* Cold cache is 1 GiB - 512 MiB kept - 64 MiB floor. */
	assert_decision(&fx, POLICY_RECLAIM, POLICY_R_TRIM_COLD);
	assert_true(fx.d.reclaim_bytes == 32 * MIB);
	/* Nothing cold left: no trim. */
	fx_init(&fx);
	in.file_cache_bytes = 70 * MIB;
	run_calm(&fx, &in, 0, 10 * SEC);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_AT_MIN);
}

/*
 * A burst grew the guest from 1 GiB to 3 GiB and was freed: once calm for
 * calm_hold, 90 % of the excess comes back within 30 s, in steps of
 * several blocks, each acknowledged 500 ms after it went out.
 */
static void test_burst_excess_returns_within_30s(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);
	uint64_t current = 3 * GIB, base = 1 * GIB, done_at = 0, back_at = 0;
	bool busy = false;
	uint64_t target = 0;

	fx_init(&fx);
	for (uint64_t t = 0; t < 40 * SEC; t += SEC / 4) {
		in = base_input(t);
		in.current_bytes = in.mem_total_bytes = current;
		in.mem_available_bytes = current - 200 * MIB; /* demand is 200 MiB */
		in.file_cache_bytes = 64 * MIB;
		in.backend_busy = busy;
		if (busy && t >= done_at) {
			busy = false;
			current = target;
			policy_backend_done(&fx.st, &fx.cfg, t, 0, 0, current);
			continue;
		}
		eval(&fx, &in);
		if (fx.d.action == POLICY_SHRINK) {
			assert_true(current - fx.d.target_bytes >= 2 * BLOCK);
			busy = true;
			target = fx.d.target_bytes;
			done_at = t + SEC / 2;
		}
		if (!back_at && current <= base + (3 * GIB - base) / 10)
			back_at = t;
	}
	assert_true(back_at > 0 && back_at <= 30 * SEC);
	/* Never below demand + headroom + margin. */
	assert_true(current >= 200 * MIB + 128 * MIB + 64 * MIB);
}

/* A guest still filling memory has no surplus: the trend over a calm hold is kept. */
static void test_no_shrink_while_memory_use_still_rises(void **state)
{
	struct fixture fx;
	struct policy_input in;

	fx_init(&fx);
	fx.cfg.reclaim_enabled = false;
	/* 264 MiB available of 4 GiB with a small headroom: 72 MiB of surplus, falling 20 MiB/s. */
	fx.cfg.min_headroom_bytes = 128 * MIB;
	fx.cfg.headroom_ratio_centi = 0;
	for (int k = 0; k <= 12; k++) {
		in = base_input((uint64_t)k * SEC);
		in.block_bytes = 2 * MIB;
		in.mem_available_bytes = (264 + (uint64_t)(12 - k) * 20) * MIB;
		eval(&fx, &in);
		assert_int_not_equal(fx.d.action, POLICY_SHRINK);
		if (k > 0)
			assert_true(fx.d.signals & POLICY_SIG_DRAINING);
	}
	assert_true(fx.d.surplus_bytes == 0);
	/* The same guest, steady: after a calm hold the surplus goes back. */
	for (int k = 13; k <= 20; k++) {
		in = base_input((uint64_t)k * SEC);
		in.block_bytes = 2 * MIB;
		in.mem_available_bytes = 264 * MIB;
		eval(&fx, &in);
	}
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	assert_true(in.current_bytes - fx.d.target_bytes == 72 * MIB);
}

static void test_psi_only_mode_steps_on_events_and_quiet(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	fx.cfg.mode = POLICY_MODE_PSI_ONLY;
	in.mem_available_bytes = 100 * MIB; /* the default mode would grow; this one waits */
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_STEADY);
	in.now_usec = SEC;
	in.trigger_events = 1;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_PSI_EVENT);
	assert_true(fx.d.target_bytes == in.current_bytes + BLOCK); /* 4 MiB rounded up */
	in.trigger_events = 0;
	in.now_usec = 10 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_STEADY);
	in.now_usec = 11 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_PSI_QUIET);
	assert_true(fx.d.target_bytes == in.current_bytes - BLOCK);
	in.now_usec = 12 * SEC;
	in.current_bytes = in.min_bytes;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_AT_MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reclaim_stops_when_pressure_rises),
		cmocka_unit_test(test_trim_cache_once_before_a_shrink),
		cmocka_unit_test(test_shrink_holds_in_order),
		cmocka_unit_test(test_shrink_respects_min_releasable_and_surplus),
		cmocka_unit_test(test_host_reclaim_safe_and_unsafe),
		cmocka_unit_test(test_cold_cache_is_trimmed_and_refaults_slow_it),
		cmocka_unit_test(test_burst_excess_returns_within_30s),
		cmocka_unit_test(test_no_shrink_while_memory_use_still_rises),
		cmocka_unit_test(test_psi_only_mode_steps_on_events_and_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
