/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of single policy decisions: hand-made inputs, one or a few
 * evaluations, assertions on action, reason, target and the numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/policy.h"
#include "vmrd/backend.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000ull
#define BLOCK (128 * MIB)

/* A 4 GiB guest with 2 GiB available, calm, the backend idle. */
static struct policy_input base_input(uint64_t now)
{
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.now_usec = now;
	in.mem_total_bytes = 4 * GIB;
	in.mem_available_bytes = 2 * GIB;
	in.mem_free_bytes = 1 * GIB;
	in.file_cache_bytes = 1 * GIB;
	in.psi_available = true;
	in.current_bytes = 4 * GIB;
	in.min_bytes = 1 * GIB;
	in.max_bytes = 16 * GIB;
	in.block_bytes = BLOCK;
	in.releasable_bytes = UINT64_MAX;
	return in;
}

struct fixture {
	struct policy_config cfg;
	struct policy_state st;
	struct policy_decision d;
};

static void fx_init(struct fixture *fx)
{
	policy_config_defaults(&fx->cfg);
	policy_init(&fx->st);
}

static void eval(struct fixture *fx, const struct policy_input *in)
{
	policy_evaluate(&fx->st, &fx->cfg, in, &fx->d);
	/* Invariants of every decision. */
	assert_true(fx->d.now_usec == in->now_usec);
	assert_true(fx->d.current_bytes == in->current_bytes);
	if (fx->d.action == POLICY_GROW || fx->d.action == POLICY_SHRINK) {
		assert_int_equal((fx->d.target_bytes > in->current_bytes ?
				  fx->d.target_bytes - in->current_bytes :
				  in->current_bytes - fx->d.target_bytes) % in->block_bytes, 0);
		assert_true(fx->d.target_bytes >= in->min_bytes);
		assert_true(fx->d.target_bytes <= in->max_bytes);
		assert_true(fx->d.target_bytes != in->current_bytes);
	} else {
		assert_true(fx->d.target_bytes == in->current_bytes);
	}
	if (fx->d.action == POLICY_GROW)
		assert_true(fx->d.target_bytes > in->current_bytes);
	if (fx->d.action == POLICY_SHRINK)
		assert_true(fx->d.target_bytes < in->current_bytes);
}

static void assert_decision(const struct fixture *fx, enum policy_action a, enum policy_reason r)
{
	if (fx->d.action != a || fx->d.reason != r)
		fail_msg("decision %s/%s, expected %s/%s", policy_action_name(fx->d.action),
			 policy_reason_name(fx->d.reason), policy_action_name(a), policy_reason_name(r));
}

static void test_first_evaluation_holds_when_steady(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(5 * SEC);

	fx_init(&fx);
	eval(&fx, &in);
	/* Surplus exists, but the policy waits one calm hold after start. */
	assert_decision(&fx, POLICY_HOLD, POLICY_R_STEADY);
	assert_true(fx.d.hold_until_usec == 35 * SEC);
	assert_true(fx.d.headroom_target_bytes == 4 * GIB / 10);
	assert_true(fx.d.velocity_bytes_per_sec == 0);
	assert_true(fx.d.deficit_bytes == 0);
	assert_true(fx.d.surplus_bytes == 2 * GIB - 4 * GIB / 10 - 128 * MIB);
}

static void test_grow_reasons_in_order_of_urgency(void **state)
{
	static const struct {
		const char *name;
		uint64_t avail;
		uint32_t trigger;
		uint32_t full_avg10;
		uint64_t oom_delta;
		uint64_t allocstall_delta;
		int64_t fall_per_sec; /* MemAvailable drop per second before the check */
		enum policy_reason reason;
		uint32_t urgency;
		uint64_t min_step;
	} cases[] = {
		{ "calm", 2 * GIB, 0, 0, 0, 0, 0, POLICY_R_STEADY, VMRD_URGENCY_LOW, 0 },
		{ "low", 300 * MIB, 0, 0, 0, 0, 0, POLICY_R_LOW_HEADROOM, VMRD_URGENCY_NORMAL, BLOCK },
		{ "falling", 1 * GIB, 0, 0, 0, 0, 600 * MIB, POLICY_R_FALLING_FAST, VMRD_URGENCY_HIGH, 8 * BLOCK },
		{ "trigger", 1 * GIB, 2, 0, 0, 0, 600 * MIB, POLICY_R_PSI_TRIGGER, VMRD_URGENCY_HIGH, BLOCK },
		{ "full", 1 * GIB, 2, 600, 0, 0, 0, POLICY_R_EMERGENCY, VMRD_URGENCY_CRITICAL, 2 * BLOCK },
		{ "oom", 1 * GIB, 0, 0, 1, 0, 0, POLICY_R_EMERGENCY, VMRD_URGENCY_CRITICAL, 2 * BLOCK },
		{ "allocstall", 300 * MIB, 0, 0, 0, 7, 0, POLICY_R_EMERGENCY, VMRD_URGENCY_CRITICAL, 2 * BLOCK },
		/* Direct reclaim with headroom to spare is page cache turning over. */
		{ "allocstall-cache", 1 * GIB, 0, 0, 0, 7, 0, POLICY_R_STEADY, VMRD_URGENCY_LOW, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in;

		fx_init(&fx);
		/* Three earlier samples give the velocity and prime the counters. */
		for (int k = 0; k < 3; k++) {
			in = base_input((uint64_t)k * SEC);
			in.mem_available_bytes = cases[i].avail + (uint64_t)(3 - k) * (uint64_t)cases[i].fall_per_sec;
			in.oom_kill = 10;
			in.allocstall = 100;
			eval(&fx, &in);
		}
		in = base_input(3 * SEC);
		in.mem_available_bytes = cases[i].avail;
		in.trigger_events = cases[i].trigger;
		in.psi_full_avg10 = cases[i].full_avg10;
		in.oom_kill = 10 + cases[i].oom_delta;
		in.allocstall = 100 + cases[i].allocstall_delta;
		eval(&fx, &in);
		if (fx.d.reason != cases[i].reason || fx.d.urgency != cases[i].urgency)
			fail_msg("%s: got %s urgency %u", cases[i].name,
				 policy_reason_name(fx.d.reason), fx.d.urgency);
		if (cases[i].min_step == 0) {
			assert_int_equal(fx.d.action, POLICY_HOLD);
		} else {
			assert_int_equal(fx.d.action, POLICY_GROW);
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
	in.oom_kill = 42;
	in.allocstall = 1000;
	in.psi_full_total_usec = 50 * SEC;
	eval(&fx, &in);
	assert_int_not_equal(fx.d.reason, POLICY_R_EMERGENCY);
	/* Unchanged counters stay quiet. */
	in.now_usec = SEC;
	eval(&fx, &in);
	assert_int_not_equal(fx.d.reason, POLICY_R_EMERGENCY);
}

static void test_full_stall_total_is_an_emergency_before_avg10_moves(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.psi_full_total_usec = 1000;
	eval(&fx, &in);
	in.now_usec = 2 * SEC;
	in.psi_full_total_usec += 200000; /* 10 % of 2 s stalled */
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_EMERGENCY);
	assert_true(fx.d.signals & POLICY_SIG_FULL_STALL);
	assert_true(fx.d.target_bytes - in.current_bytes >= 256 * MIB);
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

static void test_escalation_doubles_while_pressure_lasts_and_resets(void **state)
{
	struct fixture fx;
	struct policy_input in;
	uint64_t steps[5];

	fx_init(&fx);
	for (int k = 0; k < 5; k++) {
		in = base_input((uint64_t)k * SEC);
		in.mem_available_bytes = 400 * MIB; /* 9.6 MiB under the target */
		eval(&fx, &in);
		assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
		steps[k] = fx.d.target_bytes - in.current_bytes;
		assert_int_equal(fx.d.escalation, k < 3 ? k : 3);
	}
	assert_true(steps[0] == BLOCK);          /* 64 MiB rounded up to a block */
	assert_true(steps[1] == BLOCK);          /* 128 MiB */
	assert_true(steps[2] == 2 * BLOCK);      /* 256 MiB */
	assert_true(steps[3] == 4 * BLOCK);      /* 512 MiB */
	assert_true(steps[4] == 4 * BLOCK);      /* capped at shift 3 */

	in = base_input(5 * SEC);
	eval(&fx, &in);
	assert_int_equal(fx.d.action, POLICY_HOLD);
	in = base_input(6 * SEC);
	in.mem_available_bytes = 400 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	assert_int_equal(fx.d.escalation, 0);
	assert_true(fx.d.target_bytes - in.current_bytes == BLOCK);
}

static void test_grow_step_is_capped_and_stops_at_max(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.mem_available_bytes = 50 * MIB;
	in.mem_total_bytes = in.current_bytes = 40 * GIB;
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
	assert_int_equal(fx.d.urgency, VMRD_URGENCY_NORMAL);
}

static void test_memmap_overhead_caps_step_but_keeps_one_block(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	eval(&fx, &in);
	/* 7 MiB available pays struct pages for 437 MiB: three whole blocks. */
	in.now_usec = SEC;
	in.mem_available_bytes = 7 * MIB;
	in.oom_kill = 1;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_EMERGENCY);
	assert_true(fx.d.target_bytes - in.current_bytes == 3 * BLOCK);

	/* 1 MiB pays for less than a block: still one block, so the plug can finish. */
	fx_init(&fx);
	in.now_usec = 0;
	eval(&fx, &in);
	in.now_usec = SEC;
	in.mem_available_bytes = 1 * MIB;
	in.oom_kill = 2;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_EMERGENCY);
	assert_true(fx.d.target_bytes - in.current_bytes == BLOCK);

	/* With memmap_on_memory (overhead 0) the full emergency step goes out. */
	fx_init(&fx);
	fx.cfg.memmap_overhead_centi = 0;
	in.now_usec = 0;
	eval(&fx, &in);
	in.now_usec = SEC;
	in.oom_kill = 3;
	eval(&fx, &in);
	assert_true(fx.d.target_bytes - in.current_bytes >= 256 * MIB + 4 * GIB / 10);
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
	assert_int_equal(fx.d.urgency, VMRD_URGENCY_NORMAL);
	in.backend_busy = false;

	/* Each failure doubles the wait: 1 s, 2 s, 4 s; a success clears it. */
	for (int k = 0; k < 3; k++) {
		uint64_t wait = SEC << k;

		in.now_usec = t;
		eval(&fx, &in);
		assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
		policy_backend_done(&fx.st, &fx.cfg, t, -EIO, in.current_bytes);
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
	policy_backend_done(&fx.st, &fx.cfg, t, 0, fx.d.target_bytes);
	in.now_usec = t + 1;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	assert_int_equal(fx.d.failures, 0);
}

static void test_backoff_is_capped(void **state)
{
	struct fixture fx;

	fx_init(&fx);
	for (int k = 0; k < 70; k++)
		policy_backend_done(&fx.st, &fx.cfg, 1000 * SEC, -EIO, 0);
	assert_true(fx.st.retry_at_usec == 1060 * SEC);
}

static void test_reclaim_stops_when_pressure_rises(void **state)
{
	static const struct {
		const char *name;
		uint64_t refaults;
		uint32_t some_avg10;
		uint32_t trigger;
		bool backend_busy;
		enum policy_action action;
		enum policy_reason reason;
	} cases[] = {
		{ "quiet", 100, 0, 0, false, POLICY_HOLD, POLICY_R_RECLAIMING },
		{ "refaults", 5000, 0, 0, false, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING },
		{ "psi some", 0, 120, 0, false, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING },
		/* A grow implies the daemon stops the trim. */
		{ "trigger", 0, 120, 1, false, POLICY_GROW, POLICY_R_PSI_TRIGGER },
		/* Unless the grow is held: then the stop is explicit. */
		{ "trigger busy", 0, 120, 1, true, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING },
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
		in.psi_some_avg10 = cases[i].some_avg10;
		in.trigger_events = cases[i].trigger;
		in.backend_busy = cases[i].backend_busy;
		eval(&fx, &in);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
	}
}

/* Evaluations every second from 0 to end with a fixed input; returns the last. */
static void run_calm(struct fixture *fx, struct policy_input *in, uint64_t from, uint64_t end)
{
	for (uint64_t t = from; t <= end; t += SEC) {
		in->now_usec = t;
		eval(fx, in);
	}
}

static void test_trim_cache_once_before_a_shrink(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	in.mem_free_bytes = 100 * MIB;
	in.file_cache_bytes = 1500 * MIB;
	run_calm(&fx, &in, 0, 30 * SEC);
	/* Release 640 MiB (5 blocks); free lacks 572 MiB: four 32 MiB steps at most. */
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
	assert_true(in.current_bytes - fx.d.target_bytes == 5 * BLOCK);

	/* Cache at its floor: no trim, shrink straight away. */
	fx_init(&fx);
	in.file_cache_bytes = 64 * MIB;
	run_calm(&fx, &in, 0, 30 * SEC);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
}

static void test_shrink_holds_in_order(void **state)
{
	struct fixture fx;
	struct policy_input in = base_input(0);

	fx_init(&fx);
	fx.cfg.reclaim_enabled = false;
	run_calm(&fx, &in, 0, 29 * SEC);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_STEADY);
	in.now_usec = 30 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	/* surplus 1510.4 MiB x 50 % = 755 MiB, rounded down to 5 blocks. */
	assert_true(in.current_bytes - fx.d.target_bytes == 5 * BLOCK);
	policy_backend_done(&fx.st, &fx.cfg, 31 * SEC, 0, fx.d.target_bytes);
	in.now_usec = 35 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_SHRINK_INTERVAL);
	assert_true(fx.d.hold_until_usec == 41 * SEC);

	/* PSI some above calm: pressure now, then PRESSURE_RECENT for 30 s. */
	in.now_usec = 50 * SEC;
	in.psi_some_avg10 = 80;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_PRESSURE_RECENT);
	in.psi_some_avg10 = 0;
	in.now_usec = 79 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_PRESSURE_RECENT);
	assert_true(fx.d.last_pressure_usec == 50 * SEC);
	assert_true(fx.d.hold_until_usec == 80 * SEC);
	in.now_usec = 80 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	policy_backend_done(&fx.st, &fx.cfg, 80 * SEC, 0, fx.d.target_bytes);

	/* A grow starts the grow hold. */
	in.now_usec = 100 * SEC;
	in.mem_available_bytes = 100 * MIB;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_GROW, POLICY_R_LOW_HEADROOM);
	policy_backend_done(&fx.st, &fx.cfg, 101 * SEC, 0, fx.d.target_bytes);
	in.mem_available_bytes = 2 * GIB;
	run_calm(&fx, &in, 102 * SEC, 140 * SEC);
	/* Grew within 120 s of a shrink: ping-pong level 1 doubles the calm hold. */
	assert_decision(&fx, POLICY_HOLD, POLICY_R_PINGPONG_HOLD);
	assert_int_equal(fx.d.pingpong_level, 1);
	assert_true(fx.d.hold_until_usec == 160 * SEC);
	in.now_usec = 160 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_HOLD, POLICY_R_GROW_HOLD);
	assert_true(fx.d.hold_until_usec == 161 * SEC);
	in.now_usec = 161 * SEC;
	eval(&fx, &in);
	assert_decision(&fx, POLICY_SHRINK, POLICY_R_SURPLUS);
	/* Level 1 halves the fraction: 25 % of 1510 MiB, 2 blocks. */
	assert_true(in.current_bytes - fx.d.target_bytes == 2 * BLOCK);
}

static void test_shrink_respects_min_releasable_and_surplus(void **state)
{
	static const struct {
		const char *name;
		uint64_t avail;
		uint64_t current;
		uint64_t releasable;
		uint64_t free;
		enum policy_action action;
		enum policy_reason reason;
		uint64_t release;
	} cases[] = {
		{ "at min", 1 * GIB, 1 * GIB + 100 * MIB, UINT64_MAX, 1 * GIB, POLICY_HOLD, POLICY_R_AT_MIN, 0 },
		{ "near min", 1 * GIB, 1 * GIB + 2 * BLOCK, UINT64_MAX, 1 * GIB, POLICY_SHRINK, POLICY_R_SURPLUS, 2 * BLOCK },
		{ "no surplus", 500 * MIB, 4 * GIB, UINT64_MAX, 1 * GIB, POLICY_HOLD, POLICY_R_NO_SURPLUS, 0 },
		{ "tiny surplus", 600 * MIB, 4 * GIB, UINT64_MAX, 1 * GIB, POLICY_HOLD, POLICY_R_STEADY, 0 },
		{ "one block", 700 * MIB, 4 * GIB, UINT64_MAX, 1 * GIB, POLICY_SHRINK, POLICY_R_SURPLUS, BLOCK },
		{ "pinned", 2 * GIB, 4 * GIB, 0, 1 * GIB, POLICY_HOLD, POLICY_R_NOT_RELEASABLE, 0 },
		{ "partly pinned", 2 * GIB, 4 * GIB, BLOCK + 1, 1 * GIB, POLICY_SHRINK, POLICY_R_SURPLUS, BLOCK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in = base_input(0);

		fx_init(&fx);
		in.mem_available_bytes = cases[i].avail;
		in.current_bytes = in.mem_total_bytes = cases[i].current;
		in.releasable_bytes = cases[i].releasable;
		in.mem_free_bytes = cases[i].free;
		run_calm(&fx, &in, 0, 30 * SEC);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason)
			fail_msg("%s: got %s/%s", cases[i].name, policy_action_name(fx.d.action),
				 policy_reason_name(fx.d.reason));
		if (cases[i].action == POLICY_SHRINK) {
			assert_true(in.current_bytes - fx.d.target_bytes == cases[i].release);
			/* The shrink never takes available below the target. */
			assert_true(in.mem_available_bytes - cases[i].release >= fx.d.headroom_target_bytes);
		}
	}
}

static void test_host_reclaim_safe_and_unsafe(void **state)
{
	static const struct {
		const char *name;
		uint64_t host_target;
		uint64_t avail;
		uint32_t some_avg10;
		enum policy_action action;
		enum policy_reason reason;
		uint64_t target;
	} cases[] = {
		/* Surplus 1510 MiB: 3 GiB is safe and honoured in one step. */
		{ "safe", 3 * GIB, 2 * GIB, 0, POLICY_SHRINK, POLICY_R_HOST_RECLAIM, 3 * GIB },
		/* 2 GiB is not: go to the safe floor, on the block grid. */
		{ "partly", 2 * GIB, 2 * GIB, 0, POLICY_SHRINK, POLICY_R_HOST_RECLAIM, 4 * GIB - 11 * BLOCK },
		{ "below min", 512 * MIB, 4 * GIB, 0, POLICY_SHRINK, POLICY_R_HOST_RECLAIM, 1 * GIB },
		{ "no room", 3 * GIB, 500 * MIB, 0, POLICY_HOLD, POLICY_R_HOST_RECLAIM_UNSAFE, 4 * GIB },
		{ "pressure", 3 * GIB, 2 * GIB, 200, POLICY_HOLD, POLICY_R_HOST_RECLAIM_UNSAFE, 4 * GIB },
		{ "satisfied", 5 * GIB, 2 * GIB, 0, POLICY_SHRINK, POLICY_R_SURPLUS, 4 * GIB - 5 * BLOCK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture fx;
		struct policy_input in = base_input(0);

		fx_init(&fx);
		fx.cfg.reclaim_enabled = false;
		in.mem_available_bytes = cases[i].avail;
		/* Startup holds only; the host's ask needs no calm hold without pressure. */
		run_calm(&fx, &in, 0, 29 * SEC);
		in.now_usec = 30 * SEC;
		in.host_reclaim_target_bytes = cases[i].host_target;
		in.psi_some_avg10 = cases[i].some_avg10;
		eval(&fx, &in);
		if (fx.d.action != cases[i].action || fx.d.reason != cases[i].reason ||
		    fx.d.target_bytes != cases[i].target)
			fail_msg("%s: got %s/%s to %llu MiB", cases[i].name,
				 policy_action_name(fx.d.action), policy_reason_name(fx.d.reason),
				 (unsigned long long)(fx.d.target_bytes >> 20));
	}
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
		cmocka_unit_test(test_first_evaluation_holds_when_steady),
		cmocka_unit_test(test_grow_reasons_in_order_of_urgency),
		cmocka_unit_test(test_counters_prime_on_first_evaluation),
		cmocka_unit_test(test_full_stall_total_is_an_emergency_before_avg10_moves),
		cmocka_unit_test(test_velocity_is_least_squares_slope_net_of_memtotal),
		cmocka_unit_test(test_escalation_doubles_while_pressure_lasts_and_resets),
		cmocka_unit_test(test_grow_step_is_capped_and_stops_at_max),
		cmocka_unit_test(test_memmap_overhead_caps_step_but_keeps_one_block),
		cmocka_unit_test(test_backend_busy_and_backoff_hold_the_grow),
		cmocka_unit_test(test_backoff_is_capped),
		cmocka_unit_test(test_reclaim_stops_when_pressure_rises),
		cmocka_unit_test(test_trim_cache_once_before_a_shrink),
		cmocka_unit_test(test_shrink_holds_in_order),
		cmocka_unit_test(test_shrink_respects_min_releasable_and_surplus),
		cmocka_unit_test(test_host_reclaim_safe_and_unsafe),
		cmocka_unit_test(test_psi_only_mode_steps_on_events_and_quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
