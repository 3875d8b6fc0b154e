/* SPDX-License-Identifier: MIT */
/*
 * Scenario tests: the real policy drives the simulator's closed-loop guest
 * (tools/sim_world.c) through named workloads over simulated time.  Each
 * test asserts on the behaviour the scenario exists to show, and every step
 * on the invariants of a decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/policy.h"
#include "sim_scenario.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000ull

struct run {
	const struct sim_scenario *sc;
	struct sim_world w;
};

static void run_start(struct run *r, const char *name, enum policy_mode mode)
{
	struct policy_config cfg;
	struct sim_params p;

	r->sc = sim_scenario_find(name);
	assert_non_null(r->sc);
	policy_config_defaults(&cfg);
	cfg.mode = mode;
	sim_params_defaults(&p);
	r->sc->setup(&p);
	sim_world_init(&r->w, &p, &cfg);
}

/* One step; false at the end of the scenario. */
static bool run_step(struct run *r)
{
	const struct policy_decision *d = &r->w.d;
	const struct policy_input *in = &r->w.in;

	if (r->w.now_usec >= r->sc->duration_usec)
		return false;
	sim_scenario_step(r->sc, &r->w);
	if (d->action == POLICY_GROW || d->action == POLICY_SHRINK) {
		uint64_t delta = d->action == POLICY_GROW ? d->target_bytes - in->current_bytes :
				 in->current_bytes - d->target_bytes;

		assert_true(d->target_bytes != in->current_bytes);
		assert_int_equal(delta % in->block_bytes, 0);
		assert_true(d->target_bytes >= in->min_bytes && d->target_bytes <= in->max_bytes);
		assert_false(in->backend_busy);
		if (d->action == POLICY_SHRINK && d->reason == POLICY_R_SURPLUS)
			assert_true(in->mem_available_bytes - delta >= d->headroom_target_bytes);
	} else {
		assert_true(d->target_bytes == in->current_bytes);
	}
	if (d->action == POLICY_GROW)
		assert_true(d->target_bytes > in->current_bytes);
	if (d->action == POLICY_SHRINK)
		assert_true(d->target_bytes < in->current_bytes);
	assert_true(r->w.current >= r->w.p.min_bytes && r->w.current <= r->w.p.max_bytes);
	return true;
}

static void run_all(struct run *r)
{
	while (run_step(r))
		;
}

static void test_ramp_grows_before_available_crosses_reserve(void **state)
{
	struct run r;
	struct policy_config cfg;
	uint64_t first_grow = 0;

	policy_config_defaults(&cfg);
	run_start(&r, "ramp", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		if (r.w.d.action == POLICY_GROW && !first_grow) {
			first_grow = r.w.d.now_usec;
			assert_true(r.w.in.mem_available_bytes > cfg.reserve_bytes);
			assert_true(r.w.d.reason == POLICY_R_FALLING_FAST ||
				    r.w.d.reason == POLICY_R_LOW_HEADROOM);
			assert_int_equal(r.w.d.zone, POLICY_ZONE_MOVABLE);
		}
	}
	assert_true(first_grow > 0);
	assert_true(r.w.stats.min_avail_bytes >= cfg.reserve_bytes);
	assert_int_equal(r.w.stats.trigger_steps, 0);
	assert_int_equal(r.w.stats.oom_kills, 0);
	assert_int_equal(r.w.stats.shrinks, 0);
	/* 5 GiB of demand plus kernel and headroom fit, without overshooting the trend. */
	assert_true(r.w.current >= 5 * GIB + 200 * MIB);
	assert_true(r.w.current <= 5 * GIB + 200 * MIB + r.w.d.headroom_target_bytes + 512 * MIB);
	assert_int_equal(r.w.stats.kernel_grows, 0);
}

static void test_burst_is_an_emergency_with_a_big_first_step(void **state)
{
	struct run r;

	run_start(&r, "burst", POLICY_MODE_DEFAULT);
	while (run_step(&r) && r.w.d.action != POLICY_GROW)
		;
	assert_int_equal(r.w.d.action, POLICY_GROW);
	assert_int_equal(r.w.d.reason, POLICY_R_EMERGENCY);
	assert_int_equal(r.w.d.urgency, URGENCY_CRITICAL);
	assert_true(r.w.d.now_usec == 20 * SEC);
	assert_true(r.w.d.target_bytes - r.w.d.current_bytes >= 512 * MIB);
	run_all(&r);
	assert_int_equal(r.w.stats.oom_kills, 0);
	assert_true(r.w.stats.grows <= 2);
}

static void test_plateau_does_not_flap(void **state)
{
	struct run r;
	uint64_t last = 0;

	run_start(&r, "plateau", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		if (r.w.d.now_usec < 70 * SEC)
			continue;
		assert_int_not_equal(r.w.d.action, POLICY_GROW);
		if (last)
			assert_true(r.w.current <= last);
		last = r.w.current;
	}
	assert_int_equal(r.w.stats.oom_kills, 0);
	assert_true(r.w.stats.grows + r.w.stats.shrinks < 20);
}

static void test_slow_decay_shrinks_in_steps_after_holds(void **state)
{
	struct run r;
	uint64_t prev_shrink = 0;
	uint32_t n = 0;

	run_start(&r, "decay", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		const struct policy_decision *d = &r.w.d;

		assert_int_not_equal(d->action, POLICY_GROW);
		assert_true(r.w.in.mem_available_bytes >= d->headroom_target_bytes);
		if (d->action != POLICY_SHRINK)
			continue;
		assert_true(d->now_usec >= 5 * SEC); /* the first calm hold */
		if (n++ > 0)
			assert_true(d->now_usec - prev_shrink >= 1 * SEC);
		prev_shrink = d->now_usec;
		/* At most the surplus, and at most 512 MiB at once. */
		assert_true(d->current_bytes - d->target_bytes <= d->surplus_bytes);
		assert_true(d->current_bytes - d->target_bytes <= 512 * MIB);
	}
	assert_true(n >= 10);
	assert_true(r.w.current < 3 * GIB);
	assert_true(r.w.current >= r.w.p.min_bytes);
}

static void test_sawtooth_raises_pingpong_and_shrinks_less_later(void **state)
{
	struct run r;
	uint64_t first_release[5] = { 0 }, delay[5] = { 0 }, cycle_free[5] = { 0 };

	run_start(&r, "sawtooth", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		const struct policy_decision *d = &r.w.d;
		unsigned c = (unsigned)(d->now_usec / SEC / 60);

		if (c < 1 || c > 4)
			continue;
		/* The burst of each minute ends at 50 s. */
		cycle_free[c] = c * 60 * SEC + 50 * SEC;
		if (d->action == POLICY_SHRINK && !first_release[c] && d->now_usec >= cycle_free[c]) {
			first_release[c] = d->current_bytes - d->target_bytes;
			delay[c] = d->now_usec - cycle_free[c];
		}
	}
	assert_true(r.w.stats.max_pingpong >= 2);
	assert_int_equal(r.w.stats.oom_kills, 0);
	assert_true(first_release[1] > 0);
	/* Ping-pong lengthens the wait after the burst and halves what is given back. */
	for (unsigned c = 2; c <= 4; c++) {
		if (!first_release[c])
			continue;
		assert_true(first_release[c] <= first_release[1]);
		assert_true(delay[c] >= delay[1]);
	}
	assert_true(!first_release[4] || delay[4] > delay[1]);
}

static void test_oom_at_max_holds_with_critical_urgency(void **state)
{
	struct run r;
	bool critical_hold = false;

	run_start(&r, "oom", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		if (r.w.d.action == POLICY_HOLD && r.w.d.reason == POLICY_R_AT_MAX &&
		    r.w.d.urgency == URGENCY_CRITICAL)
			critical_hold = true;
	}
	assert_true(r.w.stats.oom_kills > 0);
	assert_true(critical_hold);
	assert_true(r.w.stats.max_current_bytes == r.w.p.max_bytes);
}

static void test_idle_guest_trims_cache_and_shrinks_to_min(void **state)
{
	struct run r;

	run_start(&r, "idle", POLICY_MODE_DEFAULT);
	run_all(&r);
	assert_true(r.w.current == r.w.p.min_bytes);
	assert_true(r.w.d.reason == POLICY_R_AT_MIN || r.w.d.reason == POLICY_R_TRIM_COLD);
	assert_true(r.w.stats.trims >= 1);
	assert_int_equal(r.w.stats.grows, 0);
	assert_int_equal(r.w.stats.failures, 0);
	/* Trimmed down to the working set, not into it. */
	assert_true(r.w.cache >= r.w.p.cache_hot_bytes / 2);
}

static void test_trim_stops_on_refaults_and_backs_off(void **state)
{
	struct run r;

	run_start(&r, "thrash", POLICY_MODE_DEFAULT);
	run_all(&r);
	assert_true(r.w.stats.trim_stops >= 1);
	assert_true(r.w.stats.max_pingpong >= 1);
	/* The refaults were the trim's own doing: no grow for them. */
	assert_int_equal(r.w.stats.grows, 0);
	/* Stopped in time: the working set never stalled the guest for long. */
	assert_true(r.w.stats.stall_usec < 1 * SEC);
	/* The refaulted cache is kept: nothing more was trimmed from it. */
	assert_true(r.w.d.protected_cache_bytes > 2 * GIB);
}

static void test_host_reclaim_goes_to_the_safe_floor(void **state)
{
	struct run r;
	bool host_shrink = false;

	run_start(&r, "host", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		host_shrink |= r.w.d.action == POLICY_SHRINK && r.w.d.reason == POLICY_R_HOST_RECLAIM;
		if (r.w.d.action == POLICY_SHRINK)
			assert_true(r.w.d.target_bytes >= r.w.p.host_target_bytes);
	}
	assert_true(host_shrink);
	assert_true(r.w.current < 4 * GIB && r.w.current >= r.w.p.host_target_bytes);
	assert_true(r.w.in.mem_available_bytes >= r.w.d.headroom_target_bytes);
}

/*
 * Slab grows 20 MiB/s in a guest with 1 GiB free in ZONE_MOVABLE: that
 * memory cannot help, so the kernel zones grow, and never the maximum.
 */
static void test_unmovable_demand_grows_the_kernel_zones(void **state)
{
	struct run r;

	run_start(&r, "unmovable", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		if (r.w.d.action == POLICY_GROW)
			assert_int_equal(r.w.d.zone, POLICY_ZONE_KERNEL);
	}
	assert_int_equal(r.w.stats.oom_kills, 0);
	assert_true(r.w.stats.kernel_grows >= 3);
	/* 2 GiB of slab + 200 MiB of kernel + 600 MiB of user pages, far from the 8 GiB maximum. */
	assert_true(r.w.stats.max_current_bytes < 4 * GIB);
	assert_true(r.w.kernel_plugged > 0);
}

/* The same when the kernel zones cannot grow: say so, and do not grow to the maximum in vain. */
static void test_unmovable_demand_that_cannot_be_helped_is_said(void **state)
{
	struct run r;

	run_start(&r, "unmovable-stuck", POLICY_MODE_DEFAULT);
	run_all(&r);
	assert_int_equal(r.w.stats.kernel_grows, 0);
	assert_true(r.w.stats.cant_help > 0);
	assert_true(r.w.stats.max_current_bytes < r.w.p.max_bytes / 2);
}

/* A big file read once never grows the guest; its cold cache is trimmed. */
static void test_streaming_read_does_not_grow(void **state)
{
	struct run r;

	run_start(&r, "stream", POLICY_MODE_DEFAULT);
	run_all(&r);
	assert_int_equal(r.w.stats.grows, 0);
	assert_true(r.w.stats.trims > 0);
	assert_int_equal(r.w.stats.oom_kills, 0);
}

/* A working set of files that does not fit grows the guest until it does, and is kept. */
static void test_hot_file_set_grows_until_it_fits(void **state)
{
	struct run r;
	uint64_t need = 3 * GIB + 200 * MIB + 600 * MIB;

	run_start(&r, "hotset", POLICY_MODE_DEFAULT);
	run_all(&r);
	assert_true(r.w.stats.grows >= 1);
	assert_true(r.w.current >= need);
	assert_true(r.w.cache >= r.w.p.cache_hot_bytes);
	assert_true(r.w.current <= need + r.w.d.headroom_target_bytes + 1 * GIB);
	assert_true(r.w.d.protected_cache_bytes > 0);
}

static void test_backend_failures_back_off_exponentially(void **state)
{
	struct run r;
	uint64_t waits[4];
	unsigned nwaits = 0;
	uint32_t prev_failures = 0;

	run_start(&r, "fail", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		const struct policy_decision *d = &r.w.d;

		if (d->failures > prev_failures && d->reason == POLICY_R_BACKOFF && nwaits < 4)
			waits[nwaits++] = d->hold_until_usec - d->now_usec;
		prev_failures = d->failures;
	}
	assert_int_equal(r.w.stats.failures, 3);
	assert_int_equal(nwaits, 3);
	assert_true(waits[0] == 1 * SEC && waits[1] == 2 * SEC && waits[2] == 4 * SEC);
	assert_int_equal(r.w.d.failures, 0);
	/* The OOM kills while waiting cost demand; the rest was served. */
	assert_true(r.w.current > 4 * GIB);
}

static void test_default_mode_beats_psi_only_on_the_ramp(void **state)
{
	struct run def, psi;

	run_start(&def, "ramp", POLICY_MODE_DEFAULT);
	run_all(&def);
	run_start(&psi, "ramp", POLICY_MODE_PSI_ONLY);
	while (run_step(&psi))
		if (psi.w.d.action == POLICY_GROW)
			assert_int_equal(psi.w.d.reason, POLICY_R_PSI_EVENT);
	assert_true(psi.w.stats.stall_usec > def.w.stats.stall_usec);
	assert_true(psi.w.stats.min_avail_bytes < def.w.stats.min_avail_bytes);
	assert_true(psi.w.stats.trigger_steps > def.w.stats.trigger_steps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramp_grows_before_available_crosses_reserve),
		cmocka_unit_test(test_burst_is_an_emergency_with_a_big_first_step),
		cmocka_unit_test(test_plateau_does_not_flap),
		cmocka_unit_test(test_slow_decay_shrinks_in_steps_after_holds),
		cmocka_unit_test(test_sawtooth_raises_pingpong_and_shrinks_less_later),
		cmocka_unit_test(test_oom_at_max_holds_with_critical_urgency),
		cmocka_unit_test(test_idle_guest_trims_cache_and_shrinks_to_min),
		cmocka_unit_test(test_trim_stops_on_refaults_and_backs_off),
		cmocka_unit_test(test_host_reclaim_goes_to_the_safe_floor),
		cmocka_unit_test(test_unmovable_demand_grows_the_kernel_zones),
		cmocka_unit_test(test_unmovable_demand_that_cannot_be_helped_is_said),
		cmocka_unit_test(test_streaming_read_does_not_grow),
		cmocka_unit_test(test_hot_file_set_grows_until_it_fits),
		cmocka_unit_test(test_backend_failures_back_off_exponentially),
		cmocka_unit_test(test_default_mode_beats_psi_only_on_the_ramp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
