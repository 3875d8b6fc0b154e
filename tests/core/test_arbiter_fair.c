/* SPDX-License-Identifier: MIT */
/* The arbiter's weighted max-min fairness: entitlements, growth caps, ask then cut. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/arbiter.h"
#include "arbiter_world.h"

/*
 * Every VM in turn asks for step more than its target, one request a second
 * (urgencies from the table, cycling); guests take whatever is set at once and
 * ignore every reclaim ask.  Returns how many targets were cut for fair share.
 */
static int ramp(struct world *w, uint64_t step, int secs, const enum urgency *u, size_t nu,
		uint64_t *seq)
{
	int cuts = 0;

	for (int t = 0; t < secs; t++) {
		size_t i = (size_t)t % w->n;

		w->host.now_usec += SEC;
		for (size_t k = 0; k < w->n; k++)
			w->vm[k].current_bytes = w->vm[k].state.target_bytes;
		seq[i]++;
		request(w, i, seq[i], w->vm[i].state.target_bytes + step, u[(seq[i] - 1) % nu]);
		eval(w);
		for (size_t k = 0; k < w->n; k++) {
			/* "fair" is the entitlement, never the VM's own size by accident. */
			if (w->d[k].action == ARBITER_DENY)
				assert_true(w->d[k].fair_bytes >= w->vm[k].min_bytes);
			if (w->d[k].apply && w->d[k].apply_reason == ARBITER_R_FAIR_SHARE &&
			    w->d[k].apply_bytes < w->d[k].current_bytes)
				cuts++;
		}
	}
	return cuts;
}

static void test_ramping_vms_end_at_the_weighted_split_of_the_excess(void **state)
{
	static const enum urgency normal[] = { URGENCY_NORMAL };
	static const enum urgency mixed[] = { URGENCY_NORMAL, URGENCY_HIGH,
						     URGENCY_NORMAL };
	static const enum urgency high[] = { URGENCY_HIGH };
	static const struct {
		const char *name;
		size_t n;
		uint32_t weight[3];
		uint64_t min, budget, step;
		const enum urgency *u;
		size_t nu;
		uint64_t extra[3]; /* the split of budget - sum of mins */
	} cases[] = {
		/* The two_vms e2e test: 384 MiB guests, 384 MiB above the mins, 80 MiB steps. */
		{ "two 2:1", 2, { 200, 100 }, 384 * M, 1152 * M, 80 * M, normal, 1, { 256 * M, 128 * M } },
		{ "two 2:1 high", 2, { 200, 100 }, 384 * M, 1152 * M, 80 * M, high, 1,
		  { 256 * M, 128 * M } },
		{ "two 2:1 mixed", 2, { 200, 100 }, 384 * M, 1152 * M, 80 * M, mixed, 3,
		  { 256 * M, 128 * M } },
		{ "two 1:2", 2, { 100, 200 }, 384 * M, 1152 * M, 80 * M, normal, 1, { 128 * M, 256 * M } },
		{ "three 3:2:1", 3, { 300, 200, 100 }, 1 * G, 9 * G, 256 * M, normal, 1,
		  { 3 * G, 2 * G, 1 * G } },
		{ "three 1:1:2", 3, { 100, 100, 200 }, 1 * G, 5 * G, 96 * M, mixed, 3,
		  { 512 * M, 512 * M, 1 * G } },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct world w;
		uint64_t seq[8] = { 0 };
		int cuts;

		world_init(&w, cases[c].n, cases[c].budget);
		for (size_t i = 0; i < w.n; i++) {
			w.vm[i].weight = cases[c].weight[i];
			w.vm[i].min_bytes = w.vm[i].current_bytes = cases[c].min;
			w.vm[i].max_bytes = 4 * cases[c].min;
		}
		eval(&w);
		cuts = ramp(&w, cases[c].step, 240, cases[c].u, cases[c].nu, seq);
		print_message("%s: %d cuts;", cases[c].name, cuts);
		for (size_t i = 0; i < w.n; i++) {
			uint64_t got = w.vm[i].state.target_bytes - cases[c].min;
			uint64_t want = cases[c].extra[i];

			print_message(" +%llu MiB", (unsigned long long)(got / M));
			assert_true(got + w.cfg.align_bytes >= want && got <= want + w.cfg.align_bytes);
			assert_true(w.d[i].fair_bytes + w.cfg.align_bytes >= cases[c].min + want);
		}
		print_message("\n");
		assert_true(w.sum.sum_target_bytes <= cases[c].budget);
	}
}

static void test_greedy_vm_is_asked_then_cut_after_the_grace(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	eval(&w);
	request(&w, 0, 1, 5 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 5 * G);
	/* One second later, well within vm0's oscillation hold. */
	settle(&w, SEC);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_DENY, ARBITER_R_BUDGET, 0);
	assert_true(w.d[1].fair_bytes == 3 * G); /* the entitlement, not vm1's 1G */
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_FAIR_SHARE, 3 * G);
	assert_int_equal(w.d[0].urgency, URGENCY_NORMAL);
	assert_true(w.d[0].fair_bytes == 3 * G);
	/* vm0 ignores it; vm1 asks again; nothing is cut before the grace ends. */
	w.host.now_usec += w.cfg.fair_share_grace_usec - 2 * SEC;
	request(&w, 1, 2, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_DENY, ARBITER_R_BUDGET, 0);
	assert_int_equal(w.d[0].action, ARBITER_NONE);
	assert_false(w.d[0].apply);
	w.host.now_usec += SEC;
	eval(&w);
	assert_false(w.d[0].apply);
	/* The grace is over: the host decides. */
	w.host.now_usec += SEC;
	eval(&w);
	assert_true(w.d[0].apply && w.d[0].apply_reason == ARBITER_R_FAIR_SHARE);
	assert_true(w.vm[0].state.target_bytes == 3 * G);
	/* vm0 still holds 5G: nothing may go to vm1 before it unplugs. */
	assert_false(w.d[1].apply);
	assert_true(w.sum.sum_accounted_bytes == 6 * G);
	w.host.now_usec += SEC;
	w.vm[0].current_bytes = 4 * G;
	eval(&w);
	assert_true(w.d[1].apply && w.d[1].apply_reason == ARBITER_R_FAIR_SHARE);
	assert_true(w.vm[1].state.target_bytes == 2 * G);
	w.host.now_usec += SEC;
	w.vm[0].current_bytes = 3 * G;
	w.vm[1].current_bytes = 2 * G;
	eval(&w);
	assert_true(w.vm[1].state.target_bytes == 3 * G);
	assert_true(w.sum.sum_accounted_bytes == 6 * G);
	/* Settled at 3G each: nobody is asked or cut any more. */
	settle(&w, w.cfg.fair_share_grace_usec);
	eval(&w);
	assert_int_equal(w.d[0].action, ARBITER_NONE);
	assert_int_equal(w.d[1].action, ARBITER_NONE);
	assert_false(w.d[0].apply || w.d[1].apply);
	/* vm0 may not take it back: its growth stops at its entitlement. */
	w.host.now_usec += w.cfg.oscillation_hold_usec;
	request(&w, 1, 3, 4 * G, URGENCY_NORMAL);
	request(&w, 0, 2, 5 * G, URGENCY_CRITICAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_BUDGET, 0);
	assert_true(w.d[0].fair_bytes == 3 * G);
	assert_true(w.vm[0].state.target_bytes == 3 * G);
}

/*
 * Three stalling guests ask in small steps, the lightest holding the most
 * (it asked first).  Their entitlements follow the weights, not the size of
 * the asks: each claims up to its max, and the lightest is the one asked to
 * give back.  (Water-filling the asks gave the lightest 3G, the heaviest
 * 2.75G: no more than it asked.)
 */
static void test_stalling_guests_are_entitled_by_weight_not_by_their_steps(void **state)
{
	static const uint32_t weight[] = { 100, 200, 400 };
	static const uint64_t hold[] = { 3 * G + 512 * M, 3 * G, 2 * G + 512 * M };
	struct world w;

	(void)state;
	world_init(&w, 3, 9 * G);
	for (size_t i = 0; i < 3; i++) {
		w.vm[i].weight = weight[i];
		w.vm[i].max_bytes = 4 * G;
		w.vm[i].current_bytes = w.vm[i].applied_bytes = hold[i];
	}
	eval(&w);
	settle(&w, w.cfg.oscillation_hold_usec);
	for (size_t i = 0; i < 3; i++)
		request(&w, i, 1, hold[i] + 256 * M, URGENCY_CRITICAL);
	eval(&w);
	assert_true(w.d[0].fair_bytes == 2 * G);
	assert_true(w.d[1].fair_bytes == 3 * G);
	assert_true(w.d[2].fair_bytes == 4 * G);
	assert_int_equal(w.d[0].action, ARBITER_DENY);
	/* Growth still follows the asks: nobody is given more than it asked for. */
	for (size_t i = 0; i < 3; i++)
		assert_true(w.vm[i].state.target_bytes <= hold[i] + 256 * M);
	/* The next round asks the lightest, above its share, to give back. */
	w.host.now_usec += SEC;
	eval(&w);
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_FAIR_SHARE, 2 * G);
	assert_int_not_equal(w.d[1].action, ARBITER_RECLAIM);
	assert_int_not_equal(w.d[2].action, ARBITER_RECLAIM);
}

static void test_idle_vm_within_its_share_or_not_needed_is_not_cut(void **state)
{
	static const struct {
		const char *name;
		uint64_t budget, idle_holds, ask, other_gets;
	} cases[] = {
		/* Below its share of 3G while the other wants everything. */
		{ "within share", 6 * G, 2 * G, 8 * G, 4 * G },
		/* Above its share, but the other VM is served from free memory. */
		{ "not needed", 8 * G, 5 * G, 3 * G, 3 * G },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct world w;

		world_init(&w, 2, cases[c].budget);
		w.vm[0].current_bytes = cases[c].idle_holds;
		eval(&w);
		for (uint64_t seq = 1; seq <= 20; seq++) {
			settle(&w, 3 * SEC);
			request(&w, 1, seq, cases[c].ask, URGENCY_HIGH);
			eval(&w);
			assert_int_equal(w.d[0].action, ARBITER_NONE);
			assert_false(w.d[0].apply);
		}
		assert_true(w.vm[0].state.target_bytes == cases[c].idle_holds);
		assert_true(w.vm[1].state.target_bytes == cases[c].other_gets);
	}
}

static void test_fair_share_cut_never_goes_below_min(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	w.vm[0].weight = 1;
	w.vm[0].min_bytes = 3 * G;
	w.vm[0].current_bytes = 4 * G;
	w.vm[1].weight = ARBITER_WEIGHT_MAX;
	eval(&w);
	for (uint64_t seq = 1; seq <= 30; seq++) {
		w.host.now_usec += 2 * SEC;
		w.vm[1].current_bytes = w.vm[1].state.target_bytes;
		request(&w, 1, seq, 8 * G, URGENCY_HIGH);
		eval(&w);
		assert_true(w.vm[0].state.target_bytes >= 3 * G);
		/* Once stuck, it is entitled to what it cannot give back. */
		assert_true(w.d[0].fair_bytes == (w.d[0].non_converging ? 4 * G : 3 * G));
		/* The guest never unplugs: counted at 4G, vm1 gets nothing from it. */
		assert_true(w.sum.sum_accounted_bytes <= 6 * G);
	}
	assert_true(w.vm[0].state.target_bytes == 3 * G);
	assert_true(w.vm[1].state.target_bytes == 2 * G);
	w.vm[0].current_bytes = 3 * G;
	w.host.now_usec += SEC;
	eval(&w);
	assert_true(w.vm[1].state.target_bytes == 3 * G);
}

static void test_pressure_is_served_first_then_weight_is_restored(void **state)
{
	struct world w;
	uint64_t seq = 0;

	world_init(&w, 2, 4 * G);
	w.vm[0].weight = 100; /* entitled to 0.5G of the 2G above the mins */
	w.vm[1].weight = 300; /* and this one to 1.5G */
	eval(&w);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	request(&w, 0, ++seq, 4 * G, URGENCY_CRITICAL);
	eval(&w);
	/* The free 2G goes to the VM under pressure first. */
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_CONTENTION, 3 * G);
	assert_decision(&w.d[1], ARBITER_DENY, ARBITER_R_BUDGET, 0);
	assert_true(w.d[0].fair_bytes == 1536 * M && w.d[1].fair_bytes == 2560 * M);
	/* While vm1 keeps asking, vm0 is cut back to its share after the grace. */
	for (uint64_t s1 = 2; s1 <= 12; s1++) {
		settle(&w, 2 * SEC);
		request(&w, 1, s1, 4 * G, URGENCY_NORMAL);
		eval(&w);
	}
	assert_true(w.vm[0].state.target_bytes == 1536 * M);
	assert_true(w.vm[1].state.target_bytes == 2560 * M);
}

static void test_shrink_the_host_asked_for_is_not_held(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	eval(&w);
	request(&w, 0, 1, 5 * G, URGENCY_HIGH);
	eval(&w);
	settle(&w, SEC);
	request(&w, 1, 1, 4 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_FAIR_SHARE, 3 * G);
	/* vm0 grew a second ago, yet the shrink it was asked for passes at once. */
	settle(&w, SEC);
	request(&w, 0, 2, 3 * G, URGENCY_LOW);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 3 * G);
	/*
	 * A granted shrink is not given back before the guest has unplugged:
	 * vm1 gets the memory once vm0 holds less, without a new request.
	 */
	assert_false(w.d[1].apply);
	assert_true(w.sum.sum_accounted_bytes == 6 * G);
	w.vm[0].current_bytes = 3 * G;
	eval(&w);
	assert_true(w.d[1].apply && w.d[1].apply_reason == ARBITER_R_FAIR_SHARE);
	assert_true(w.vm[1].state.target_bytes == 3 * G);
	/* Growing back right after the shrink is what the hold stops. */
	settle(&w, SEC);
	request(&w, 0, 3, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_OSCILLATION_HOLD, 0);
	assert_true(w.d[0].retry_after_usec > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramping_vms_end_at_the_weighted_split_of_the_excess),
		cmocka_unit_test(test_greedy_vm_is_asked_then_cut_after_the_grace),
		cmocka_unit_test(test_stalling_guests_are_entitled_by_weight_not_by_their_steps),
		cmocka_unit_test(test_idle_vm_within_its_share_or_not_needed_is_not_cut),
		cmocka_unit_test(test_fair_share_cut_never_goes_below_min),
		cmocka_unit_test(test_pressure_is_served_first_then_weight_is_restored),
		cmocka_unit_test(test_shrink_the_host_asked_for_is_not_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
