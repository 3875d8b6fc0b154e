/* SPDX-License-Identifier: MIT */
/*
 * The arbiter and the host's real memory (issue 9): shrinks that lag or
 * fail, what QEMU holds beyond the guest, requests answered once per
 * session, the shortfall by weight, and host pressure that acts.
 */
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
 * vm0 holds 5G and gives 3G back; vm1 wants 4G.  Whatever of vm0's shrink
 * the hypervisor has not confirmed, or the guest has not carried out,
 * still counts: vm1 only gets what vm0 has really given up.
 */
static void test_lagging_shrink_frees_only_what_was_given_up(void **state)
{
	static const struct {
		const char *name;
		bool confirmed;           /* QEMU took the new requested-size */
		uint64_t current;         /* where vm0's guest is now */
		uint64_t vm1_gets;        /* vm1's target */
	} cases[] = {
		{ "not confirmed, not moved", false, 5 * G, 1 * G },
		{ "confirmed, guest lags", true, 5 * G, 1 * G },
		{ "confirmed, half way", true, 3584 * M, 2560 * M },
		{ "confirmed, done", true, 2 * G, 4 * G },
		/* QEMU refused the new size: what it holds counts, whatever the guest shows. */
		{ "refused, guest shrank anyway", false, 2 * G, 1 * G },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct world w;

		world_init(&w, 2, 6 * G);
		w.vm[0].current_bytes = w.vm[0].applied_bytes = 5 * G;
		eval(&w);
		settle(&w, 60 * SEC);
		request(&w, 0, 1, 2 * G, URGENCY_LOW);
		w.qmp_fails[0] = !cases[c].confirmed;
		eval(&w);
		assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 2 * G);
		assert_true(w.sum.sum_accounted_bytes == 6 * G);
		w.vm[0].current_bytes = cases[c].current;
		w.host.now_usec += SEC;
		request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
		eval(&w);
		if (w.vm[1].state.target_bytes != cases[c].vm1_gets)
			fail_msg("%s: vm1 got %llu MiB, want %llu", cases[c].name,
				 (unsigned long long)(w.vm[1].state.target_bytes / M),
				 (unsigned long long)(cases[c].vm1_gets / M));
		assert_true(w.sum.sum_accounted_bytes <= 6 * G);
	}
}

/*
 * A QMP error leaves QEMU at the old size: the driver rolls its record back
 * and the arbiter keeps counting what QEMU holds.  Here vm0's guest is
 * still plugging towards 4G when the host lowers the target; QEMU refuses,
 * the guest goes on to 4G, and no other VM may be given that room.
 */
static void test_qmp_error_keeps_the_old_size_counted(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	eval(&w);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.vm[0].applied_bytes == 4 * G);
	w.vm[0].current_bytes = 2 * G;              /* plugging */
	settle(&w, 0);
	w.vm[0].current_bytes = 2 * G;
	w.host.now_usec += 60 * SEC;
	request(&w, 0, 2, 2 * G, URGENCY_LOW);      /* changes its mind */
	w.qmp_fails[0] = true;
	eval(&w);
	assert_true(w.vm[0].state.target_bytes == 2 * G);
	assert_true(w.vm[0].applied_bytes == 4 * G);
	assert_true(w.d[0].accounted_bytes == 4 * G);
	request(&w, 1, 1, 5 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_CONTENTION, 2 * G);
	/* The retry succeeds: the room is vm1's once the guest is back at 2G. */
	w.qmp_fails[0] = false;
	eval(&w);
	w.vm[0].current_bytes = 2 * G;
	w.host.now_usec += SEC;
	request(&w, 1, 2, 5 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_CONTENTION, 4 * G);
}

/*
 * Requests of every kind, re-evaluated many times: each seq gets exactly
 * one answer (eval() fails on a second one; here the first is required).
 */
static void test_every_seq_is_answered_exactly_once(void **state)
{
	static const struct {
		uint64_t seq, target;
		enum urgency u;
		uint64_t after_usec;       /* time before this request */
		enum arbiter_reason reason;
	} steps[] = {
		{ 1, 2 * G, URGENCY_NORMAL, 0, ARBITER_R_GRANTED },
		{ 2, 3 * G, URGENCY_NORMAL, SEC, ARBITER_R_RATE_LIMITED },
		{ 1, 3 * G, URGENCY_NORMAL, 20 * SEC, ARBITER_R_STALE_SEQ },
		{ 3, 1 * G, URGENCY_LOW, 0, ARBITER_R_GRANTED },
		{ 4, 3 * G, URGENCY_NORMAL, 20 * SEC, ARBITER_R_OSCILLATION_HOLD },
		{ 5, 3 * G, URGENCY_NORMAL, 0, ARBITER_R_RATE_LIMITED },
		{ 6, 9 * G, URGENCY_NORMAL, 60 * SEC, ARBITER_R_CONTENTION },
	};
	struct world w;

	world_init(&w, 2, 8 * G);
	w.cfg.rate_burst = 1;
	w.cfg.rate_refill_usec = 15 * SEC;
	eval(&w);
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		w.host.now_usec += steps[k].after_usec;
		request(&w, 0, steps[k].seq, steps[k].target, steps[k].u);
		eval(&w);
		assert_int_equal(w.answers[0], 1);
		if (w.d[0].reason != steps[k].reason)
			fail_msg("step %zu: %s, want %s", k, arbiter_reason_word(w.d[0].reason),
				 arbiter_reason_word(steps[k].reason));
		/* Rounds without news, with time passing: no second answer. */
		for (int r = 0; r < 5; r++) {
			settle(&w, SEC);
			eval(&w);
		}
		assert_int_equal(w.answers[0], 1);
	}
}

/* A restarted guest agent starts at seq 1 again and is heard; tokens are not refilled by it. */
static void test_hello_starts_a_new_seq_session(void **state)
{
	struct world w;

	world_init(&w, 1, 16 * G);
	w.cfg.rate_burst = 1;
	w.cfg.rate_refill_usec = 10 * SEC;
	eval(&w);
	request(&w, 0, 57, 2 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 2 * G);
	/* The same seq after a hello is a new request of a new session. */
	settle(&w, 20 * SEC);
	hello(&w, 0);
	eval(&w);
	assert_int_equal(w.d[0].action, ARBITER_NONE);
	request(&w, 0, 1, 3 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 3 * G);
	/* Without a hello, seq 1 after seq 57 would have been stale. */
	settle(&w, 20 * SEC);
	request(&w, 0, 57, 4 * G, URGENCY_NORMAL);
	eval(&w);
	request(&w, 0, 2, 5 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_STALE_SEQ, 0);
	/* Saying hello again buys no tokens: the bucket is empty now. */
	hello(&w, 0);
	request(&w, 0, 1, 5 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_RATE_LIMITED, 0);
}

/* Before the welcome the guest knows nothing of its limits: its request is refused, and no demand. */
static void test_request_before_welcome_is_refused_with_a_reason(void **state)
{
	struct world w;

	world_init(&w, 1, 16 * G);
	w.vm[0].connected = false;
	eval(&w);
	request(&w, 0, 1, 4 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_NOT_WELCOMED, 0);
	assert_true(w.d[0].retry_after_usec > 0);
	w.vm[0].connected = true;
	for (int r = 0; r < 5; r++) {
		w.host.now_usec += SEC;
		eval(&w);
		assert_false(w.d[0].apply);
	}
	request(&w, 0, 2, 4 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_GRANTED, 4 * G);
}

/*
 * The quirk of the fairness steps: a request denied rate_limited used to
 * count as demand, and a later round raised the VM to it without any
 * grant.  A request refused at the door is no demand: nothing is applied.
 */
static void test_a_rate_limited_request_is_no_demand(void **state)
{
	struct world w;

	world_init(&w, 2, 16 * G);
	w.cfg.rate_burst = 1;
	w.cfg.rate_refill_usec = 60 * SEC;
	eval(&w);
	request(&w, 0, 1, 2 * G, URGENCY_NORMAL);
	eval(&w);
	settle(&w, SEC);
	request(&w, 0, 2, 6 * G, URGENCY_HIGH);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_DENY, ARBITER_R_RATE_LIMITED, 0);
	for (int r = 0; r < 20; r++) {
		settle(&w, SEC);
		eval(&w);
		assert_false(w.d[0].apply);
	}
	assert_true(w.vm[0].state.target_bytes == 2 * G);
}

/*
 * At start the broker seeds a VM whose QEMU has not answered at its max:
 * nothing grows into that, but nobody is cut for it either.
 */
static void test_an_unknown_size_holds_growth_but_cuts_nobody(void **state)
{
	struct world w;

	world_init(&w, 2, 6 * G);
	w.vm[1].current_bytes = w.vm[1].applied_bytes = 3 * G;
	arbiter_vm_seed(&w.vm[0], 8 * G);
	w.vm[0].size_unknown = true;
	eval(&w);
	assert_false(w.d[1].apply);
	assert_int_equal(w.d[1].action, ARBITER_NONE);
	request(&w, 1, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_DENY, ARBITER_R_BUDGET, 0);
	/* QEMU answers: 1G.  The room is there now. */
	arbiter_vm_reconcile(&w.vm[0], 1 * G, 1 * G, w.host.now_usec);
	w.vm[0].size_unknown = false;
	w.host.now_usec += SEC;
	request(&w, 1, 2, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_GRANTED, 4 * G);
}

/* Strict mode: QEMU's own memory counts; when it grows, the budget cuts. */
static void test_strict_budget_counts_the_overhead(void **state)
{
	struct world w;

	world_init(&w, 2, 4 * G);
	w.vm[0].overhead_bytes = w.vm[1].overhead_bytes = 300 * M;
	eval(&w);
	assert_true(w.sum.size_budget_bytes == 4 * G - 600 * M);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[0], ARBITER_GRANT, ARBITER_R_CONTENTION, 4 * G - 600 * M - 1 * G);
	assert_true(w.sum.sum_charged_bytes == 4 * G);
	/* QEMU turns out to hold more: the biggest share is cut back within the budget. */
	settle(&w, 60 * SEC);
	w.vm[0].overhead_bytes = 800 * M;
	eval(&w);
	assert_true(w.d[0].apply && w.d[0].apply_reason == ARBITER_R_BUDGET);
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_BUDGET, 0);
	settle(&w, SEC);
	eval(&w);
	assert_true(w.sum.sum_charged_bytes <= 4 * G);
	assert_true(w.vm[1].state.target_bytes == 1 * G);
}

/*
 * Overcommit: what counts is RSS, so memory the guests have not touched
 * can be handed out; once it is touched and RSS would pass the budget, the
 * budget step cuts.
 */
static void test_overcommit_counts_resident_memory(void **state)
{
	struct world w;

	world_init(&w, 2, 3 * G);
	w.cfg.budget_mode = ARBITER_BUDGET_OVERCOMMIT;
	w.vm[0].rss_bytes = w.vm[1].rss_bytes = 600 * M;
	eval(&w);
	/* 3G, plus 2 x 424M of guest memory not resident. */
	assert_true(w.sum.size_budget_bytes == 3 * G + 848 * M);
	request(&w, 0, 1, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.vm[0].state.target_bytes == 2 * G + 848 * M);
	/* What is charged is RSS plus the growth not taken yet: just the budget. */
	assert_true(w.sum.sum_charged_bytes == 3 * G);
	/* The guest plugs it and touches all of it, and QEMU holds 200M beside. */
	settle(&w, 60 * SEC);
	w.vm[0].rss_bytes = w.vm[0].current_bytes + 200 * M;
	eval(&w);
	assert_true(w.d[0].apply && w.d[0].apply_reason == ARBITER_R_BUDGET);
	settle(&w, SEC);
	w.vm[0].rss_bytes = w.vm[0].current_bytes + 200 * M;
	eval(&w);
	assert_true(w.sum.sum_charged_bytes <= 3 * G);
}

/*
 * Three VMs that all want their max, weights 100/200/400, as the bench's
 * overcommit run: what is above the mins goes by weight, so what each one
 * lacks is ordered the other way round.
 */
static void test_shortfall_lands_by_weight(void **state)
{
	static const uint32_t weight[3] = { 100, 200, 400 };
	struct world w;
	uint64_t seq = 0, lack[3];

	world_init(&w, 3, 3 * 512 * M + 1148 * M);
	for (size_t i = 0; i < 3; i++) {
		w.vm[i].weight = weight[i];
		w.vm[i].min_bytes = w.vm[i].current_bytes = w.vm[i].applied_bytes = 512 * M;
		w.vm[i].max_bytes = 1536 * M;
	}
	eval(&w);
	/* They ask in the worst order for weights: the lightest first. */
	for (int t = 0; t < 90; t++) {
		size_t i = (size_t)t % 3;

		settle(&w, SEC);
		request(&w, i, ++seq, 1536 * M, URGENCY_HIGH);
		report(&w, i, 64 * M, 3000);
		eval(&w);
	}
	for (size_t i = 0; i < 3; i++) {
		lack[i] = 1536 * M - w.vm[i].state.target_bytes;
		print_message("w%u: target %llu MiB, lacks %llu MiB\n", weight[i],
			      (unsigned long long)(w.vm[i].state.target_bytes / M),
			      (unsigned long long)(lack[i] / M));
	}
	assert_true(lack[0] > lack[1] && lack[1] > lack[2]);
	/* 1148M over 1:2:4 is 164/328/656M, to a block. */
	assert_true(w.vm[2].state.target_bytes >= 512 * M + 654 * M);
	assert_true(w.vm[0].state.target_bytes <= 512 * M + 166 * M);
}

/*
 * Memory a guest says it does not use (MemAvailable above the healthy
 * headroom) goes first, whatever the weights; then the lighter VM gives.
 */
static void test_fair_share_cut_takes_from_the_lighter_then_the_richer(void **state)
{
	static const struct {
		const char *name;
		uint32_t w0, w1;
		uint64_t avail0, avail1;   /* reported MemAvailable */
		size_t cut;                /* which VM is cut */
	} cases[] = {
		{ "lighter first", 100, 200, 512 * M, 512 * M, 0 },
		{ "lighter first (b)", 200, 100, 512 * M, 512 * M, 1 },
		{ "unused memory first, even of the heavier", 200, 100, 3 * G, 512 * M, 0 },
		{ "equal: richer first", 100, 100, 600 * M, 2 * G, 1 },
		{ "equal: richer first (b)", 100, 100, 2 * G, 600 * M, 0 },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct world w;
		size_t other = 1 - cases[c].cut;

		world_init(&w, 3, 9 * G);
		w.vm[0].weight = cases[c].w0;
		w.vm[1].weight = cases[c].w1;
		w.vm[2].weight = 100;
		w.vm[0].current_bytes = w.vm[0].applied_bytes = 4 * G;
		w.vm[1].current_bytes = w.vm[1].applied_bytes = 4 * G;
		eval(&w);
		settle(&w, 60 * SEC);
		report(&w, 0, cases[c].avail0, 0);
		report(&w, 1, cases[c].avail1, 0);
		/* vm2 needs 512M more, far less than the others hold over their shares. */
		for (uint64_t seq = 1; seq <= 8; seq++) {
			w.host.now_usec += 2 * SEC;
			request(&w, 2, seq, 1536 * M, URGENCY_NORMAL);
			eval(&w);
		}
		if (w.vm[cases[c].cut].state.target_bytes != 3584 * M ||
		    w.vm[other].state.target_bytes != 4 * G)
			fail_msg("%s: targets %llu/%llu MiB", cases[c].name,
				 (unsigned long long)(w.vm[0].state.target_bytes / M),
				 (unsigned long long)(w.vm[1].state.target_bytes / M));
	}
}

/*
 * Host pressure (PSI only): growth is denied but for critical requests; the
 * VMs that can spare memory are asked; after the grace the lightest VM is
 * cut, one round per grace, down to its min before the next one.
 */
static void test_host_pressure_cuts_the_lightest_after_the_grace(void **state)
{
	static const uint32_t weight[3] = { 400, 100, 200 };
	struct world w;
	uint64_t first_cut = 0, seq = 0;

	world_init(&w, 3, 12 * G);
	for (size_t i = 0; i < 3; i++) {
		w.vm[i].weight = weight[i];
		w.vm[i].current_bytes = w.vm[i].applied_bytes = 3 * G;
	}
	eval(&w);
	settle(&w, 60 * SEC);
	report(&w, 0, 2 * G, 0); /* spare 1.5G: asked, but it is the heaviest */
	w.host.psi_some_avg10_centi = 2500;
	request(&w, 2, ++seq, 4 * G, URGENCY_NORMAL);
	eval(&w);
	assert_true(w.sum.host_pressure);
	assert_decision(&w.d[2], ARBITER_DENY, ARBITER_R_HOST_PRESSURE, 0);
	assert_decision(&w.d[0], ARBITER_RECLAIM, ARBITER_R_HOST_PRESSURE, 3 * G - 1536 * M);
	assert_false(w.d[1].apply);
	/* Critical growth still comes out of free budget. */
	request(&w, 2, ++seq, 3 * G + 64 * M, URGENCY_CRITICAL);
	eval(&w);
	assert_decision(&w.d[2], ARBITER_GRANT, ARBITER_R_GRANTED, 3 * G + 64 * M);
	/* The guests give nothing back by themselves (their kernels follow the cuts); the pressure lasts. */
	for (int t = 0; t < 120; t++) {
		settle(&w, SEC);
		eval(&w);
		for (size_t i = 0; i < 3; i++) {
			assert_true(w.vm[i].state.target_bytes >= w.vm[i].min_bytes);
			if (w.d[i].apply && w.d[i].apply_reason == ARBITER_R_HOST_PRESSURE && !first_cut) {
				assert_int_equal(i, 1);
				first_cut = w.host.now_usec;
			}
			/* The heaviest is not touched while a lighter one is above its min. */
			if (i == 0 && w.d[i].apply)
				assert_true(w.vm[1].state.target_bytes == w.vm[1].min_bytes &&
					    w.vm[2].state.target_bytes == w.vm[2].min_bytes);
		}
	}
	assert_true(first_cut > 0);
	assert_true(w.vm[1].state.target_bytes == 1 * G);
	assert_true(w.vm[2].state.target_bytes == 1 * G);
	/* The pressure is gone: nothing more is cut, and growth is granted again. */
	w.host.psi_some_avg10_centi = 0;
	settle(&w, 60 * SEC);
	request(&w, 1, 1, 2 * G, URGENCY_NORMAL);
	eval(&w);
	assert_decision(&w.d[1], ARBITER_GRANT, ARBITER_R_GRANTED, 2 * G);
}

/*
 * Critical growth under host pressure comes only out of what the host
 * really has free, not out of the budget's room (a cgroup whose usage is at
 * its limit): a guest cut for the host does not take the memory back.
 */
static void test_critical_growth_under_host_pressure_needs_free_host_memory(void **state)
{
	static const struct {
		uint64_t host_available;
		uint64_t granted;          /* 0: denied */
		enum arbiter_reason reason;
	} cases[] = {
		{ 0, 0, ARBITER_R_BUDGET },
		{ 256 * M, 1 * G + 256 * M, ARBITER_R_CONTENTION },
		{ 8 * G, 3 * G, ARBITER_R_GRANTED },
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct world w;

		world_init(&w, 2, 16 * G);
		w.host.reserve_bytes = 0; /* a cgroup budget: pressure is its PSI */
		eval(&w);
		w.host.psi_some_avg10_centi = 3000;
		w.host.mem_available_bytes = cases[c].host_available;
		request(&w, 0, 1, 3 * G, URGENCY_CRITICAL);
		eval(&w);
		assert_decision(&w.d[0], cases[c].granted ? ARBITER_GRANT : ARBITER_DENY,
				cases[c].reason, cases[c].granted);
	}
}

/* With a known shortfall (MemAvailable under the reserve) one round cuts what is missing. */
static void test_host_shortfall_is_cut_at_once_lightest_first(void **state)
{
	struct world w;

	world_init(&w, 3, 12 * G);
	w.vm[0].weight = 300;
	w.vm[1].weight = 100;
	w.vm[2].weight = 200;
	for (size_t i = 0; i < 3; i++)
		w.vm[i].current_bytes = w.vm[i].applied_bytes = 3 * G;
	eval(&w);
	settle(&w, 60 * SEC);
	w.host.reserve_bytes = 4 * G;
	w.host.mem_available_bytes = 4 * G - 2560 * M;
	eval(&w);
	assert_false(w.d[1].apply); /* the grace first */
	w.host.now_usec += w.cfg.host_pressure_grace_usec;
	eval(&w);
	/* 2.5G: 2G from the lightest (down to its min), the rest from the next. */
	assert_true(w.vm[1].state.target_bytes == 1 * G);
	assert_true(w.vm[2].state.target_bytes == 2560 * M);
	assert_true(w.vm[0].state.target_bytes == 3 * G);
	/* The cuts are on their way: the next round waits and cuts nothing more. */
	w.host.now_usec += w.cfg.host_pressure_grace_usec;
	eval(&w);
	assert_true(w.vm[2].state.target_bytes == 2560 * M && w.vm[0].state.target_bytes == 3 * G);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lagging_shrink_frees_only_what_was_given_up),
		cmocka_unit_test(test_qmp_error_keeps_the_old_size_counted),
		cmocka_unit_test(test_every_seq_is_answered_exactly_once),
		cmocka_unit_test(test_hello_starts_a_new_seq_session),
		cmocka_unit_test(test_request_before_welcome_is_refused_with_a_reason),
		cmocka_unit_test(test_a_rate_limited_request_is_no_demand),
		cmocka_unit_test(test_an_unknown_size_holds_growth_but_cuts_nobody),
		cmocka_unit_test(test_strict_budget_counts_the_overhead),
		cmocka_unit_test(test_overcommit_counts_resident_memory),
		cmocka_unit_test(test_shortfall_lands_by_weight),
		cmocka_unit_test(test_fair_share_cut_takes_from_the_lighter_then_the_richer),
		cmocka_unit_test(test_host_pressure_cuts_the_lightest_after_the_grace),
		cmocka_unit_test(test_critical_growth_under_host_pressure_needs_free_host_memory),
		cmocka_unit_test(test_host_shortfall_is_cut_at_once_lightest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
