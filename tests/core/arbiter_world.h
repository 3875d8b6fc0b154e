/* SPDX-License-Identifier: MIT */
#ifndef VMRD_TEST_ARBITER_WORLD_H
#define VMRD_TEST_ARBITER_WORLD_H

/*
 * The arbiter tests' fixture: a host and up to eight VMs, evaluated with the
 * invariants checked every time (eval()).  The hypervisor confirms every
 * target at once (applied = target after each evaluation) unless the test
 * holds it back with w->qmp_fails[i], as a QMP error would.  Included after
 * cmocka.h by each test file.
 */

#include "core/arbiter.h"

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)

struct world {
	struct arbiter_config cfg;
	struct arbiter_host host;
	struct arbiter_vm vm[8];
	struct arbiter_decision d[8];
	_Alignas(max_align_t) unsigned char scratch[ARBITER_SCRATCH_BYTES(8)];
	struct arbiter_summary sum;
	size_t n;
	/* Answers (grant or deny) to the request each VM made last, counted by eval(). */
	unsigned answers[8];
	/* The hypervisor does not confirm this VM's new targets (a QMP error, rolled back). */
	bool qmp_fails[8];
};

static inline void world_init(struct world *w, size_t n, uint64_t budget)
{
	memset(w, 0, sizeof(*w));
	arbiter_config_defaults(&w->cfg);
	w->n = n;
	w->host.now_usec = 1000 * SEC;
	w->host.budget_bytes = budget;
	w->host.mem_available_bytes = 64 * G;
	w->host.reserve_bytes = 1 * G;
	for (size_t i = 0; i < n; i++) {
		w->vm[i].min_bytes = 1 * G;
		w->vm[i].max_bytes = 8 * G;
		w->vm[i].weight = 100;
		w->vm[i].current_bytes = 1 * G;
		w->vm[i].applied_bytes = 1 * G;
		w->vm[i].connected = true;
	}
}

/*
 * Each request is answered at most once: a grant or deny names the seq of
 * the VM's request, and the request made by request() gets one answer,
 * whatever it was (a rate_limited or stale_seq deny included).
 */
static inline void check_answers(struct world *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct arbiter_decision *d = &w->d[i];

		if (d->action != ARBITER_GRANT && d->action != ARBITER_DENY)
			continue;
		assert_true(w->vm[i].request.valid);
		assert_true(d->seq == w->vm[i].request.seq);
		if (++w->answers[i] > 1)
			fail_msg("vm%zu: request seq %llu answered %u times (now %s/%s)", i,
				 (unsigned long long)d->seq, w->answers[i], arbiter_action_name(d->action),
				 arbiter_reason_word(d->reason));
	}
}

/*
 * Evaluate and check what must always hold: every target within [min, max],
 * the sum of targets within the size budget (when the mins fit it), each
 * request answered at most once.  Then the hypervisor confirms the targets.
 */
static inline void eval(struct world *w)
{
	uint64_t sum_min = 0, sum_target = 0, budget;
	bool unknown = false;

	assert_int_equal(arbiter_evaluate(&w->cfg, &w->host, w->vm, w->n, w->scratch,
					  sizeof(w->scratch), w->d, &w->sum), 0);
	check_answers(w);
	budget = w->sum.size_budget_bytes;
	for (size_t i = 0; i < w->n; i++) {
		uint64_t t = w->vm[i].state.target_bytes;

		assert_true(t >= w->vm[i].min_bytes && t <= w->vm[i].max_bytes);
		assert_true(w->d[i].apply_bytes == t);
		sum_min += w->vm[i].min_bytes;
		sum_target += t;
		unknown |= w->vm[i].size_unknown;
	}
	assert_true(w->sum.sum_target_bytes == sum_target);
	/* A size seeded on the safe side may exceed the budget until it is known. */
	if (sum_min <= budget && sum_target > budget && !unknown)
		fail_msg("targets %llu MiB over the size budget %llu MiB",
			 (unsigned long long)(sum_target >> 20), (unsigned long long)(budget >> 20));
	if (sum_min > budget)
		assert_true(w->sum.budget_below_min);
	for (size_t i = 0; i < w->n; i++)
		if (!w->qmp_fails[i])
			w->vm[i].applied_bytes = w->vm[i].state.target_bytes;
}

static inline void request(struct world *w, size_t i, uint64_t seq, uint64_t target, enum urgency u)
{
	w->vm[i].request = (struct arbiter_request){ .valid = true, .seq = seq, .target_bytes = target,
						     .urgency = u, .usec = w->host.now_usec };
	w->answers[i] = 0;
}

/* A guest agent (re)starts: hello, and its seq numbers start over. */
static inline void hello(struct world *w, size_t i)
{
	w->vm[i].request.valid = false;
	arbiter_vm_hello(&w->vm[i]);
}

static inline void report(struct world *w, size_t i, uint64_t available, uint32_t psi)
{
	w->vm[i].report = (struct arbiter_report){ .valid = true, .usec = w->host.now_usec,
						   .mem_total_bytes = w->vm[i].current_bytes,
						   .mem_available_bytes = available,
						   .psi_some_avg10_centi = psi };
}

/* Let every VM reach its target and time pass. */
static inline void settle(struct world *w, uint64_t usec)
{
	for (size_t i = 0; i < w->n; i++)
		w->vm[i].current_bytes = w->vm[i].state.target_bytes;
	w->host.now_usec += usec;
}

static inline void assert_decision(const struct arbiter_decision *d, enum arbiter_action action,
			    enum arbiter_reason reason, uint64_t target)
{
	if (d->action != action || d->reason != reason || (target && d->target_bytes != target))
		fail_msg("got %s/%s target %llu, want %s/%s target %llu", arbiter_action_name(d->action),
			 arbiter_reason_word(d->reason), (unsigned long long)d->target_bytes,
			 arbiter_action_name(action), arbiter_reason_word(reason),
			 (unsigned long long)target);
}

#endif
