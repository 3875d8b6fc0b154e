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
#include "vmrd/backend.h"
#include "sim_world.h"

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
	sim_world_step(&r->w, r->sc->demand(r->w.now_usec));
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
			assert_int_equal(r.w.d.reason, POLICY_R_FALLING_FAST);
		}
	}
	assert_true(first_grow > 0);
	assert_true(r.w.stats.min_avail_bytes >= cfg.reserve_bytes);
	assert_int_equal(r.w.stats.trigger_steps, 0);
	assert_int_equal(r.w.stats.oom_kills, 0);
	assert_int_equal(r.w.stats.shrinks, 0);
	/* 5 GiB of demand plus kernel and headroom fit. */
	assert_true(r.w.current >= 5 * GIB + 200 * MIB);
}

static void test_burst_is_an_emergency_with_a_big_first_step(void **state)
{
	struct run r;

	run_start(&r, "burst", POLICY_MODE_DEFAULT);
	while (run_step(&r) && r.w.d.action == POLICY_HOLD)
		;
	assert_int_equal(r.w.d.action, POLICY_GROW);
	assert_int_equal(r.w.d.reason, POLICY_R_EMERGENCY);
	assert_int_equal(r.w.d.urgency, VMRD_URGENCY_CRITICAL);
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
		assert_true(d->now_usec >= 30 * SEC); /* the first calm hold */
		if (n++ > 0)
			assert_true(d->now_usec - prev_shrink >= 10 * SEC);
		prev_shrink = d->now_usec;
		/* At most half of the surplus at once. */
		assert_true(d->current_bytes - d->target_bytes <= d->surplus_bytes / 2 + 128 * MIB);
	}
	assert_true(n >= 10);
	assert_true(r.w.current < 3 * GIB);
	assert_true(r.w.current >= r.w.p.min_bytes);
}

static void test_sawtooth_raises_pingpong_and_shrinks_less_later(void **state)
{
	struct run r;
	uint64_t first_release[4] = { 0 }, delay[4] = { 0 }, cycle_grow[4] = { 0 };

	run_start(&r, "sawtooth", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		const struct policy_decision *d = &r.w.d;
		unsigned c = (unsigned)(d->now_usec / SEC / 150);

		if (c < 1 || c > 3)
			continue;
		if (d->action == POLICY_GROW && !cycle_grow[c])
			cycle_grow[c] = d->now_usec;
		if (d->action == POLICY_SHRINK && !first_release[c]) {
			first_release[c] = d->current_bytes - d->target_bytes;
			delay[c] = d->now_usec - cycle_grow[c];
		}
	}
	assert_true(r.w.stats.max_pingpong >= 2);
	for (unsigned c = 1; c <= 3; c++)
		assert_true(first_release[c] > 0);
	assert_true(first_release[2] < first_release[1]);
	assert_true(first_release[3] < first_release[2]);
	assert_true(delay[2] >= delay[1]);
	assert_true(delay[3] > delay[2]);
}

static void test_oom_at_max_holds_with_critical_urgency(void **state)
{
	struct run r;
	bool critical_hold = false;

	run_start(&r, "oom", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		if (r.w.d.action == POLICY_HOLD && r.w.d.reason == POLICY_R_AT_MAX &&
		    r.w.d.urgency == VMRD_URGENCY_CRITICAL)
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
	assert_int_equal(r.w.d.reason, POLICY_R_AT_MIN);
	assert_true(r.w.stats.trims >= 1);
	assert_int_equal(r.w.stats.grows, 0);
	assert_int_equal(r.w.stats.failures, 0);
}

static void test_trim_stops_on_refaults_and_backs_off(void **state)
{
	struct run r;

	run_start(&r, "thrash", POLICY_MODE_DEFAULT);
	run_all(&r);
	assert_true(r.w.stats.trim_stops >= 1);
	assert_true(r.w.stats.max_pingpong >= 1);
	assert_int_equal(r.w.stats.grows, 0);
	/* Stopped in time: the working set never stalled the guest for long. */
	assert_true(r.w.stats.stall_usec < 1 * SEC);
}

static void test_host_reclaim_goes_to_the_safe_floor(void **state)
{
	struct run r;
	bool host_shrink = false, unsafe = false;

	run_start(&r, "host", POLICY_MODE_DEFAULT);
	while (run_step(&r)) {
		host_shrink |= r.w.d.action == POLICY_SHRINK && r.w.d.reason == POLICY_R_HOST_RECLAIM;
		unsafe |= r.w.d.reason == POLICY_R_HOST_RECLAIM_UNSAFE;
	}
	assert_true(host_shrink);
	assert_true(unsafe);
	assert_true(r.w.current < 4 * GIB && r.w.current > r.w.p.host_target_bytes);
	assert_true(r.w.in.mem_available_bytes >= r.w.d.headroom_target_bytes);
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
		cmocka_unit_test(test_backend_failures_back_off_exponentially),
		cmocka_unit_test(test_default_mode_beats_psi_only_on_the_ramp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
