/* SPDX-License-Identifier: MIT */
#ifndef VMRD_ARBITER_IMPL_H
#define VMRD_ARBITER_IMPL_H

/*
 * Internal to the arbiter (arbiter.c, arbiter_fair.c, arbiter_host.c): the
 * scratch of one evaluation and the helpers these files share.  Not part of
 * any interface.
 */

#include "core/arbiter.h"
#include "core/waterfill.h"

/*
 * Per-VM scratch of one evaluation, n entries each, carved out of the
 * caller's buffer (ARBITER_SCRATCH_BYTES counts these arrays).
 */
struct arbiter_work {
	struct waterfill *fill;   /* one water-filling at a time (steps 5, 6, 7) */
	uint64_t *ask;            /* growth wanted (0: none) */
	uint64_t *demand;
	uint64_t *ent;            /* entitlement: weighted max-min share of the size budget */
	size_t *order;            /* who gives first (steps 8, 9) */
	enum arbiter_reason *why; /* apply reason of growth not asked for */
	bool *request;            /* ...by a guest request (else re-issue or fair share) */
	bool *recent;             /* the admitted request is younger than the demand window */
	bool *pressured;
	bool *capped;             /* the ask was cut to the entitlement */
};

static inline uint64_t arbiter_clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A request not evaluated yet: each seq is answered once, whatever the answer. */
static inline bool arbiter_request_fresh(const struct arbiter_vm *vm)
{
	return vm->request.valid && !(vm->state.seen && vm->request.seq == vm->state.seen_seq);
}

static inline uint64_t arbiter_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t arbiter_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * What the VM counts against the size budget: a grow counts from the moment
 * it is decided, a shrink only once the hypervisor confirmed it and the
 * guest gave the memory up.
 */
static inline uint64_t arbiter_accounted_bytes(const struct arbiter_vm *vm)
{
	return arbiter_max(vm->state.target_bytes, arbiter_max(vm->applied_bytes, vm->current_bytes));
}

/* One VM in a water-filling, between lo and hi. */
static inline void arbiter_fill_add(struct waterfill *f, size_t *n, size_t vm,
				    const struct arbiter_vm *v, uint64_t lo, uint64_t hi)
{
	f[*n] = (struct waterfill){ .vm = vm, .min_bytes = v->min_bytes, .lo_bytes = lo,
			       .hi_bytes = hi, .weight = v->weight };
	(*n)++;
}

uint64_t arbiter_align_down(const struct arbiter_config *cfg, uint64_t v);
uint64_t arbiter_align_up(const struct arbiter_config *cfg, uint64_t v);
/* A guest's target as the host takes it: rounded to whole blocks, within [min, max]. */
uint64_t arbiter_clamp_ask(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
			   uint64_t target);
void arbiter_set_target(struct arbiter_vm *vm, struct arbiter_decision *d, uint64_t t,
			enum arbiter_reason why, uint64_t now);
/*
 * The host cuts the VM's target to t (rounded up to a block, never below
 * min): a shrink like any other, so its regrowth meets the oscillation
 * hold.  Returns how much the target came down (0: nothing to cut).
 */
uint64_t arbiter_cut(const struct arbiter_config *cfg, struct arbiter_vm *vm,
		     struct arbiter_decision *d, uint64_t t, enum arbiter_reason why, uint64_t now);
/* May this VM be sent a reclaim ask now? */
bool arbiter_may_ask(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
		     const struct arbiter_decision *d, uint64_t now);
void arbiter_ask_reclaim(struct arbiter_vm *vm, struct arbiter_decision *d,
			 enum arbiter_reason why, uint64_t target, enum urgency urgency,
			 uint64_t now);
/*
 * Who loses memory first when some must go: a lighter VM, then among equal
 * weights the one with more surplus (dec[].surplus_bytes), then the lower
 * index.  True when a goes before b.
 */
bool arbiter_gives_first(const struct arbiter_vm *vms, const struct arbiter_decision *dec,
			 size_t a, size_t b);

/* The order of arbiter_order_sort(): arbiter_gives_first(), optionally the unpressured first. */
struct arbiter_order {
	const struct arbiter_vm *vms;
	const struct arbiter_decision *dec;
	const bool *pressured;
	bool unpressured_first;
};
/* Sort the VM indexes order[0..m) into c's order, in place, O(m log m). */
void arbiter_order_sort(size_t *order, size_t m, const struct arbiter_order *c);

/* Step 6: demands and entitlements into w->demand, w->ent. */
void arbiter_fair_entitle(const struct arbiter_config *cfg, uint64_t size_budget,
			  const struct arbiter_vm *vms, size_t n, struct arbiter_work *w,
			  uint64_t now);
/* Step 7, before the grow passes: cap asks at entitlements, add asks for the under-served. */
void arbiter_fair_cap(const struct arbiter_config *cfg, bool host_pressure,
		      const struct arbiter_vm *vms, size_t n, struct arbiter_decision *dec,
		      struct arbiter_work *w, uint64_t now);
/* Step 8: ask, then cut, the VMs above their entitlements. */
void arbiter_fair_enforce(const struct arbiter_config *cfg, struct arbiter_vm *vms, size_t n,
			  struct arbiter_decision *dec, const struct arbiter_work *w, uint64_t now);

/* Step 4: what the VM costs the host, its accounted size and its hypervisor's part. */
uint64_t arbiter_charged_bytes(const struct arbiter_config *cfg, const struct arbiter_vm *vm);
/* Step 4: the size budget, what the budget leaves for guest sizes. */
uint64_t arbiter_size_budget(const struct arbiter_config *cfg, uint64_t budget,
			     const struct arbiter_vm *vms, size_t n);
/* Step 5: cut the biggest shares when the accounted sizes exceed the size budget. */
void arbiter_budget_cut(const struct arbiter_config *cfg, uint64_t budget, struct arbiter_vm *vms,
			size_t n, struct arbiter_decision *dec, const struct arbiter_work *w,
			uint64_t now);
/* Step 9: ask, then cut, for the host (shortfall 0: PSI only, amount unknown). */
void arbiter_host_pressure(const struct arbiter_config *cfg, uint64_t shortfall,
			   struct arbiter_vm *vms, size_t n, struct arbiter_decision *dec,
			   const struct arbiter_work *w, uint64_t now);
/* No host pressure: the marks of the last episode are forgotten. */
void arbiter_host_calm(struct arbiter_vm *vms, size_t n);

#endif
