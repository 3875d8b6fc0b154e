/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/arbiter.h"
#include "arbiter_world.h"

static void test_one_vm_grows_then_shrinks(void **state)
{
	static const struct {
		uint64_t ask;
		enum arbiter_action action;
		enum arbiter_reason reason;
		uint64_t target;
	} steps[] = {
		{ 4 * G, ARBITER_GRANT, ARBITER_R_GRANTED, 4 * G },
		{ 4 * G, ARBITER_GRANT, ARBITER_R_NO_CHANGE, 4 * G },
		{ 100 * G, ARBITER_GRANT, ARBITER_R_CLAMPED, 8 * G },
		{ 3 * G, ARBITER_GRANT, ARBITER_R_GRANTED, 3 * G },
		{ 0, ARBITER_GRANT, ARBITER_R_CLAMPED, 1 * G },
	};
	struct world w;

	world_init(&w, 1, 16 * G);
	eval(&w);
	assert_int_equal(w.d[0].action, ARBITER_NONE);
	assert_false(w.d[0].apply);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		settle(&w, 60 * SEC); /* past the oscillation hold */
		request(&w, 0, i + 1, steps[i].ask, URGENCY_NORMAL);
		eval(&w);
		assert_decision(&w.d[0], steps[i].action, steps[i].reason, steps[i].target);
		assert_true(w.d[0].seq == i + 1);
		assert_true(w.vm[0].state.target_bytes == steps[i].target);
		assert_int_equal(w.d[0].apply, steps[i].reason != ARBITER_R_NO_CHANGE);
		/* The same seq again is not a new request. */
		eval(&w);
		assert_int_equal(w.d[0].action, ARBITER_NONE);
	}
}

static void test_contention_shares_by_weight_two_to_one(void **state)
{
	struct world w;

	world_init(&w, 2, 5 * G); /* 3G above the mins for 6G of asks */
	w.vm[0].weight = 200;
	w.vm[1].weight = 100;
	eval(&w);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_CONTENTION, 3 * G);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_CONTENTION, 2 * G);
	assert_true(w.sum.sum_target_bytes == 5 * G);
}

static void test_vm_under_pressure_is_served_first(void **state)
{
	struct world w;

	world_init(&w, 2, 3 * G); /* 1G free */
	w.vm[0].weight = 1;       /* low weight, but critical */
	w.vm[1].weight = 10000;
	eval(&w);
	request(&w, 0, 1, 4 * G, URGENCY_CRITICAL);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_CONTENTION, 2 * G);
	assert_true(w.d[0].pressured);
	assert_decision(&w.d[1], ARBITER_DENY, ARBITER_R_BUDGET, 0);

	/* Reported PSI counts as pressure too. */
	world_init(&w, 2, 3 * G);
	w.vm[1].weight = 10000;
	eval(&w);
	report(&w, 0, 100 * M, 2000);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.vm[0].state.target_bytes == 2 * G);
	assert_true(w.vm[1].state.target_bytes == 1 * G);
}

static void test_contention_asks_the_biggest_holder_to_give_back(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	eval(&w);
	request(&w, 0, 1, 5 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 5 * G);
	settle(&w, 60 * SEC);
	request(&w, 1, 1, 4 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_DENY, ARBITER_R_BUDGET, 0);
	/* Equal weights: fair is 3G each. */
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_FAIR_SHARE, 3 * G);
	assert_int_equal(w.d[0].urgency, URGENCY_HIGH);
	/* Asked once per interval, not every evaluation. */
	request(&w, 1, 2, 4 * G, URGENCY_HIGH);
	eval(&w);
	assert_int_equal(w.d[0].action, ARBITER_NONE);
}

static void test_host_pressure_denies_growth_and_asks_most_surplus_first(void **state)
{
	struct world w;

	world_init(&w, 4, 32 * G);
	for (size_t i = 0; i < 4; i++)
		w.vm[i].current_bytes = 8 * G;
	w.vm[3].max_bytes = 16 * G;
	eval(&w);
	settle(&w, 60 * SEC);
	report(&w, 0, 2 * G, 0);         /* surplus 1.5G */
	report(&w, 1, 4 * G, 100);       /* surplus 3.5G: most */
	report(&w, 2, 6 * G, 2000);      /* most available, but under pressure */
	request(&w, 3, 1, 8 * G + 512 * M, URGENCY_NORMAL);
	w.host.psi_some_avg10_centi = 3000;
	w.host.mem_available_bytes = 512 * M; /* 512M short of the 1G reserve */
	eval(&w);
	assert_true(w.sum.host_pressure);
	assert_decision(&w.d[3], ARBITER_DENY, ARBITER_R_HOST_PRESSURE, 0);
	assert_decision(&w.d[1], ARBITER_RECLAIM, ARBITER_R_HOST_PRESSURE, 8 * G - 3584 * M);
	assert_int_equal(w.d[1].urgency, URGENCY_HIGH);
	assert_int_equal(w.d[0].action, ARBITER_NONE); /* the first one covered it */
	assert_int_equal(w.d[2].action, ARBITER_NONE);

	/* A bigger shortfall reaches the next one, never the pressured VM. */
	w.host.now_usec += 60 * SEC;
	w.host.mem_available_bytes = 0;
	w.host.reserve_bytes = 20 * G;
	eval(&w);
	assert_decision(&w.d[1], ARBITER_RECLAIM, ARBITER_R_HOST_PRESSURE, 0);
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_HOST_PRESSURE, 8 * G - 1536 * M);
	assert_int_equal(w.d[2].action, ARBITER_NONE);
}

/*
 * Machine-wide PSI with plenty of MemAvailable is someone else's stall (a
 * process at its own cgroup limit): it neither denies growth nor asks VMs
 * back; once MemAvailable falls below psi_available, the same PSI does.
 */
static void test_machine_psi_counts_only_when_host_memory_is_low(void **state)
{
	struct world w;

	world_init(&w, 1, 16 * G);
	eval(&w);
	w.host.psi_some_avg10_centi = 3000;
	w.host.psi_available_bytes = 2 * G;
	w.host.mem_available_bytes = 8 * G;
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_false(w.sum.host_pressure);
	assert_true(w.sum.host_psi_discounted);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 4 * G);

	settle(&w, 60 * SEC);
	w.host.mem_available_bytes = 2 * G - 1;
	request(&w, 0, 2, 6 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.sum.host_pressure);
	assert_false(w.sum.host_psi_discounted);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_HOST_PRESSURE, 0);

	/* 0: the PSI is the budget's own (a cgroup's) and always counts. */
	settle(&w, 60 * SEC);
	w.host.psi_available_bytes = 0;
	w.host.mem_available_bytes = 8 * G;
	request(&w, 0, 3, 6 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.sum.host_pressure);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_HOST_PRESSURE, 0);
}

/*
 * Giving back is never held; a grow soon after a shrink is, except at
 * high or critical urgency, and its deny says when the hold ends.
 */
static void test_regrow_after_shrink_is_held_unless_urgent(void **state)
{
	struct world w;

	world_init(&w, 1, 16 * G);
	eval(&w);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	settle(&w, 5 * SEC);
	/* A shrink right after the grow passes: memory back never hurts the host. */
	request(&w, 0, 2, 2 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 2 * G);
	/* Growing again within the hold: denied, with the rest of the hold as the hint. */
	settle(&w, 10 * SEC);
	request(&w, 0, 3, 3 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_OSCILLATION_HOLD, 0);
	assert_true(w.d[0].retry_after_usec == w.cfg.oscillation_hold_usec - 10 * SEC);
	/* A guest that stalls or runs out fast is not held. */
	request(&w, 0, 4, 3 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 3 * G);
	/* After the hold a normal grow passes. */
	request(&w, 0, 5, 2 * G, URGENCY_NORMAL);
	eval(&w);
	settle(&w, w.cfg.oscillation_hold_usec);
	request(&w, 0, 6, 3 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 3 * G);
}

static void test_stuck_guest_is_counted_at_current_and_reissued_later(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	eval(&w);
	request(&w, 0, 1, 5 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.vm[0].state.target_bytes == 5 * G);
	/* The guest only ever reaches 2G. */
	w.vm[0].current_bytes = 2 * G;
	eval(&w);
	assert_false(w.d[0].non_converging);
	w.host.now_usec += w.cfg.converge_timeout_usec - 1;
	eval(&w);
	assert_false(w.d[0].non_converging);
	w.host.now_usec += 1;
	eval(&w);
	assert_true(w.d[0].non_converging);
	assert_true(w.d[0].apply);
	assert_int_equal(w.d[0].apply_reason, ARBITER_R_NOT_CONVERGING);
	assert_true(w.vm[0].state.target_bytes == 2 * G);
	/* What it did not take goes to the other VM. */
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_GRANTED, 4 * G);
	/* It may not grow while stuck. */
	request(&w, 0, 2, 3 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_NOT_CONVERGING, 0);
	/* Later, the old target comes back as far as the budget allows. */
	request(&w, 1, 2, 2 * G, URGENCY_NORMAL); /* frees 2G once the guest has unplugged */
	eval(&w);
	settle(&w, w.cfg.reissue_after_usec);
	w.vm[0].request.valid = false;
	eval(&w);
	assert_false(w.d[0].non_converging);
	assert_true(w.d[0].apply);
	assert_int_equal(w.d[0].apply_reason, ARBITER_R_REISSUE);
	assert_true(w.vm[0].state.target_bytes == 4 * G);
}

static void test_stuck_shrink_counts_current_against_budget(void **state)
{
	struct world w;

	world_init(&w, 2, 8 * G);
	w.vm[0].current_bytes = 6 * G;
	eval(&w);
	settle(&w, 60 * SEC);
	request(&w, 0, 1, 2 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 2 * G);
	w.host.now_usec += w.cfg.converge_timeout_usec; /* still at 6G */
	eval(&w);
	assert_true(w.d[0].non_converging);
	assert_true(w.vm[0].state.target_bytes == 2 * G); /* the shrink stays asked for */
	request(&w, 1, 1, 8 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_CONTENTION, 2 * G);
	assert_true(w.sum.sum_accounted_bytes == 8 * G);
}

static void test_limits_changed_at_run_time_apply_next_evaluation(void **state)
{
	struct world w;

	world_init(&w, 2, 16 * G);
	eval(&w);
	request(&w, 0, 1, 6 * G, URGENCY_NORMAL);
	eval(&w);
	settle(&w, SEC);
	w.vm[0].max_bytes = 4 * G;
	w.vm[1].min_bytes = 2 * G;
	eval(&w);
	assert_true(w.d[0].send_limits && w.d[1].send_limits);
	assert_true(w.d[0].apply && w.d[0].apply_reason == ARBITER_R_LIMITS);
	assert_true(w.vm[0].state.target_bytes == 4 * G);
	assert_true(w.vm[1].state.target_bytes == 2 * G);
	eval(&w);
	assert_false(w.d[0].send_limits || w.d[0].apply);

	/* A lowered budget cuts the biggest share and asks it to give back. */
	settle(&w, 60 * SEC);
	w.host.budget_bytes = 5 * G;
	eval(&w);
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_BUDGET, 3 * G);
	assert_true(w.d[0].apply && w.d[0].apply_reason == ARBITER_R_BUDGET);
	assert_int_equal(w.d[1].action, ARBITER_NONE);
	assert_true(w.sum.sum_target_bytes == 5 * G);

	/* A budget below the mins is reported, every VM at its min. */
	w.host.budget_bytes = 2 * G;
	eval(&w);
	assert_true(w.sum.budget_below_min);
	assert_true(w.sum.sum_target_bytes == 3 * G);
}

static void test_requests_beyond_the_bucket_are_rate_limited(void **state)
{
	struct world w;
	uint64_t seq = 0;

	world_init(&w, 1, 16 * G);
	w.cfg.rate_burst = 3;
	w.cfg.rate_refill_usec = 10 * SEC;
	eval(&w);
	for (int i = 0; i < 3; i++) {
		request(&w, 0, ++seq, (2 + (uint64_t)i) * G, URGENCY_NORMAL);
		eval(&w);
		assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 0);
	}
	request(&w, 0, ++seq, 6 * G, URGENCY_CRITICAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_RATE_LIMITED, 0);
	/* The deny says when the next token comes. */
	assert_true(w.d[0].retry_after_usec == 10 * SEC);
	assert_true(w.vm[0].state.target_bytes == 4 * G);
	w.host.now_usec += 10 * SEC - 1;
	request(&w, 0, ++seq, 6 * G, URGENCY_CRITICAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_RATE_LIMITED, 0);
	w.host.now_usec += 1;
	request(&w, 0, ++seq, 6 * G, URGENCY_CRITICAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 6 * G);
	/* An older seq is refused as stale. */
	w.host.now_usec += 100 * SEC;
	request(&w, 0, 1, 7 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_STALE_SEQ, 0);
}

/* A request denied and left standing is not answered again (eval() counts answers). */
static void test_a_denied_request_is_answered_once(void **state)
{
	struct world w;

	world_init(&w, 1, 16 * G);
	w.cfg.rate_burst = 1;
	w.cfg.rate_refill_usec = 60 * SEC;
	eval(&w);
	request(&w, 0, 1, 2 * G, URGENCY_NORMAL);
	eval(&w);
	request(&w, 0, 2, 3 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_RATE_LIMITED, 0);
	for (int k = 0; k < 5; k++) {
		w.host.now_usec += SEC;
		eval(&w);
		assert_int_not_equal(w.d[0].action, ARBITER_DENY);
		assert_int_not_equal(w.d[0].action, ARBITER_GRANT);
	}
	/* A stale seq too. */
	request(&w, 0, 1, 5 * G, URGENCY_NORMAL);
	w.host.now_usec += 60 * SEC;
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_STALE_SEQ, 0);
	eval(&w);
	assert_int_equal(w.d[0].action, ARBITER_NONE);
}

static void test_invalid_input_changes_nothing(void **state)
{
	struct world w, before;

	world_init(&w, 2, 16 * G);
	eval(&w);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	w.vm[1].weight = 0;
	before = w;
	assert_int_equal(arbiter_evaluate(&w.cfg, &w.host, w.vm, w.n, w.scratch, sizeof(w.scratch),
					  w.d, &w.sum), -EINVAL);
	assert_memory_equal(&w, &before, sizeof(w));
	w.vm[1].weight = 1;
	w.vm[1].min_bytes = 9 * G;
	assert_int_equal(arbiter_evaluate(&w.cfg, &w.host, w.vm, w.n, w.scratch, sizeof(w.scratch),
					  w.d, &w.sum), -EINVAL);
	w.vm[1].min_bytes = 1 * G;
	before = w;
	/* The scratch: too small for n VMs, misaligned, missing. */
	assert_int_equal(arbiter_evaluate(&w.cfg, &w.host, w.vm, w.n, w.scratch,
					  ARBITER_SCRATCH_BYTES(w.n) - 1, w.d, &w.sum), -EINVAL);
	assert_int_equal(arbiter_evaluate(&w.cfg, &w.host, w.vm, w.n, w.scratch + 1,
					  sizeof(w.scratch) - 1, w.d, &w.sum), -EINVAL);
	assert_int_equal(arbiter_evaluate(&w.cfg, &w.host, w.vm, w.n, NULL, 0, w.d, &w.sum), -EINVAL);
	assert_int_equal(arbiter_evaluate(&w.cfg, &w.host, w.vm, SIZE_MAX / 2, w.scratch,
					  sizeof(w.scratch), w.d, &w.sum), -EINVAL);
	assert_memory_equal(w.vm, before.vm, sizeof(w.vm));
	assert_string_equal(arbiter_reason_word(ARBITER_R_OSCILLATION_HOLD), "oscillation_hold");
	assert_string_equal(arbiter_reason_word(ARBITER_R__MAX), "unknown");
}

static void test_seed_and_reconcile_are_the_owners_only_writes(void **state)
{
	struct world w;

	/* vm0's hypervisor has not answered: it counts at the seeded 6G, so vm1 gets only 2G. */
	world_init(&w, 2, 8 * G);
	arbiter_vm_seed(&w.vm[0], 6 * G);
	assert_true(w.vm[0].current_bytes == 6 * G);
	eval(&w);
	assert_true(w.vm[0].state.target_bytes == 6 * G);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_CONTENTION, 2 * G);
	w.vm[1].current_bytes = 2 * G;
	/* Long after, the hypervisor says: target 2G, holding 2G.  That is the truth now. */
	w.host.now_usec += 1000 * SEC;
	arbiter_vm_reconcile(&w.vm[0], 2 * G, 2 * G, w.host.now_usec);
	assert_true(w.vm[0].current_bytes == 2 * G);
	eval(&w);
	assert_false(w.d[0].non_converging);
	assert_true(w.vm[0].state.target_bytes == 2 * G);
	/* A gap found at reconciliation is judged from then, not from the seed 1000 s ago. */
	arbiter_vm_reconcile(&w.vm[0], 3 * G, 2 * G, w.host.now_usec);
	w.host.now_usec += w.cfg.converge_timeout_usec - 1;
	eval(&w);
	assert_false(w.vm[0].state.non_converging);
	w.host.now_usec += 1;
	eval(&w);
	assert_true(w.vm[0].state.non_converging);
	/* vm1's free room: 8G - 2G (vm0 cut back to current) - 2G. */
	request(&w, 1, 2, 6 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_GRANTED, 6 * G);
}

/* xorshift64*: the sequence is the same on every run. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/*
 * Growth (a grant, a re-issue, a raise to an entitlement) never overcommits
 * what is accounted: a shrink not yet confirmed and carried out still counts.
 */
static void check_growth_fits(const struct world *w, const uint64_t *before)
{
	uint64_t sum_min = 0, budget = w->sum.size_budget_bytes;
	bool grew = false;

	for (size_t i = 0; i < w->n; i++) {
		sum_min += w->vm[i].min_bytes;
		grew |= w->d[i].apply && w->d[i].apply_reason != ARBITER_R_LIMITS &&
			w->vm[i].state.target_bytes > before[i];
	}
	if (grew && sum_min <= budget && w->sum.sum_accounted_bytes > budget) {
		for (size_t i = 0; i < w->n; i++)
			print_message("vm%zu min %llu cur %llu app %llu before %llu tgt %llu nc %d %s/%s apply %s\n",
				      i, (unsigned long long)(w->vm[i].min_bytes >> 20),
				      (unsigned long long)(w->vm[i].current_bytes >> 20),
				      (unsigned long long)(w->vm[i].applied_bytes >> 20),
				      (unsigned long long)(before[i] >> 20),
				      (unsigned long long)(w->vm[i].state.target_bytes >> 20),
				      w->vm[i].state.non_converging, arbiter_action_name(w->d[i].action),
				      arbiter_reason_word(w->d[i].reason),
				      w->d[i].apply ? arbiter_reason_word(w->d[i].apply_reason) : "-");
		fail_msg("growth to %llu MiB accounted over the size budget %llu MiB",
			 (unsigned long long)(w->sum.sum_accounted_bytes >> 20),
			 (unsigned long long)(budget >> 20));
	}
}

static void test_sum_of_targets_never_exceeds_budget_over_random_runs(void **state)
{
	for (uint64_t seed = 1; seed <= 60; seed++) {
		struct world w;
		uint64_t s = seed * UINT64_C(0x9e3779b97f4a7c15), seq[8] = { 0 }, before[8];
		int cuts = 0;

		world_init(&w, 2 + rnd(&s) % 7, (4 + rnd(&s) % 40) * G);
		w.cfg.rate_refill_usec = SEC;
		w.cfg.fair_share_grace_usec = (1 + rnd(&s) % 20) * SEC;
		w.cfg.demand_window_usec = (1 + rnd(&s) % 60) * SEC;
		for (size_t i = 0; i < w.n; i++) {
			w.vm[i].weight = 1 + (uint32_t)(rnd(&s) % 1000);
			w.vm[i].current_bytes = (1 + rnd(&s) % 8) * G;
		}
		for (int step = 0; step < 800; step++) {
			size_t i = rnd(&s) % w.n;
			uint64_t r = rnd(&s) % 100;

			w.host.now_usec += rnd(&s) % (20 * SEC);
			if (r < 50)
				request(&w, i, ++seq[i], rnd(&s) % (10 * G), (enum urgency)(rnd(&s) % 4));
			else if (r < 62) /* the guest moves part of the way, or not at all */
				w.vm[i].current_bytes = w.vm[i].state.target_bytes - (rnd(&s) % 2) * (w.vm[i].state.target_bytes / 3);
			else if (r < 70) /* a shrink or cut the guest follows late, or never */
				w.vm[i].current_bytes += (rnd(&s) % 3) * G / 2;
			else if (r < 76)
				report(&w, i, rnd(&s) % (w.vm[i].current_bytes + 1), (uint32_t)(rnd(&s) % 10001));
			else if (r < 81)
				w.host.budget_bytes = (2 + rnd(&s) % 40) * G;
			else if (r < 85) {
				w.vm[i].min_bytes = (rnd(&s) % 3) * G;
				w.vm[i].max_bytes = w.vm[i].min_bytes + (rnd(&s) % 8) * G;
			} else if (r < 89) {
				w.host.psi_some_avg10_centi = (uint32_t)(rnd(&s) % 3000);
				w.host.mem_available_bytes = (rnd(&s) % 4) * G;
			} else if (r < 93) {
				w.host.psi_some_avg10_centi = 0;
				w.host.mem_available_bytes = 64 * G;
			}
			for (size_t k = 0; k < w.n; k++)
				before[k] = w.vm[k].state.target_bytes;
			eval(&w);
			if (step > 0) /* the first evaluation sees every VM for the first time */
				check_growth_fits(&w, before);
			for (size_t k = 0; k < w.n; k++) {
				const struct arbiter_decision *d = &w.d[k];

				if (!d->apply || d->apply_reason != ARBITER_R_FAIR_SHARE)
					continue;
				/* A cut stops at the entitlement and min; a raise at the entitlement. */
				assert_true(w.vm[k].state.target_bytes >= w.vm[k].min_bytes);
				if (w.vm[k].state.target_bytes < before[k]) {
					assert_true(w.vm[k].state.target_bytes + w.cfg.align_bytes > d->fair_bytes);
					cuts++;
				} else {
					assert_true(w.vm[k].state.target_bytes <= d->fair_bytes);
				}
			}
		}
		if (seed == 1)
			print_message("seed 1: %d fair share cuts\n", cuts);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_vm_grows_then_shrinks),
		cmocka_unit_test(test_contention_shares_by_weight_two_to_one),
		cmocka_unit_test(test_vm_under_pressure_is_served_first),
		cmocka_unit_test(test_contention_asks_the_biggest_holder_to_give_back),
		cmocka_unit_test(test_host_pressure_denies_growth_and_asks_most_surplus_first),
		cmocka_unit_test(test_regrow_after_shrink_is_held_unless_urgent),
		cmocka_unit_test(test_stuck_guest_is_counted_at_current_and_reissued_later),
		cmocka_unit_test(test_stuck_shrink_counts_current_against_budget),
		cmocka_unit_test(test_limits_changed_at_run_time_apply_next_evaluation),
		cmocka_unit_test(test_machine_psi_counts_only_when_host_memory_is_low),
		cmocka_unit_test(test_requests_beyond_the_bucket_are_rate_limited),
		cmocka_unit_test(test_a_denied_request_is_answered_once),
		cmocka_unit_test(test_invalid_input_changes_nothing),
		cmocka_unit_test(test_seed_and_reconcile_are_the_owners_only_writes),
		cmocka_unit_test(test_sum_of_targets_never_exceeds_budget_over_random_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
