/* SPDX-License-Identifier: MIT */
#ifndef VMRD_ARBITER_IMPL_H
#define VMRD_ARBITER_IMPL_H

/*
 * Internal to the arbiter (arbiter.c and arbiter_fair.c): the scratch of one
 * evaluation and the helpers both files need.  Not part of any interface.
 */

#include "core/arbiter.h"

/* Per-VM scratch of one evaluation. */
struct arbiter_work {
	uint64_t ask[ARBITER_MAX_VMS];           /* growth wanted (0: none) */
	bool request[ARBITER_MAX_VMS];           /* ...by a guest request (else re-issue or fair share) */
	enum arbiter_reason why[ARBITER_MAX_VMS]; /* apply reason of growth not asked for */
	bool fresh[ARBITER_MAX_VMS];             /* the request was not answered before */
	bool recent[ARBITER_MAX_VMS];            /* ...or is younger than the demand window */
	bool pressured[ARBITER_MAX_VMS];
	uint64_t demand[ARBITER_MAX_VMS];
	uint64_t ent[ARBITER_MAX_VMS];           /* entitlement: weighted max-min share of the budget */
	bool capped[ARBITER_MAX_VMS];            /* the ask was cut to the entitlement */
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

uint64_t arbiter_align_down(const struct arbiter_config *cfg, uint64_t v);
uint64_t arbiter_align_up(const struct arbiter_config *cfg, uint64_t v);
/* A guest's target as the host takes it: rounded to whole blocks, within [min, max]. */
uint64_t arbiter_clamp_ask(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
			   uint64_t target);
/* What the VM counts against the budget: its target, or its current while it shrinks late. */
uint64_t arbiter_accounted_bytes(const struct arbiter_vm *vm);
void arbiter_set_target(struct arbiter_vm *vm, struct arbiter_decision *d, uint64_t t,
			enum arbiter_reason why, uint64_t now);
void arbiter_ask_reclaim(struct arbiter_vm *vm, struct arbiter_decision *d,
			 enum arbiter_reason why, uint64_t target, enum urgency urgency,
			 uint64_t now);

/* Step 5: demands and entitlements into w->demand, w->ent. */
void arbiter_fair_entitle(const struct arbiter_config *cfg, uint64_t budget,
			  const struct arbiter_vm *vms, size_t n, struct arbiter_work *w);
/* Step 6, before the grow passes: cap asks at entitlements, add asks for the under-served. */
void arbiter_fair_cap(const struct arbiter_config *cfg, bool host_pressure,
		      const struct arbiter_vm *vms, size_t n, struct arbiter_decision *dec,
		      struct arbiter_work *w, uint64_t now);
/* Step 7: ask, then cut, the VMs above their entitlements. */
void arbiter_fair_enforce(const struct arbiter_config *cfg, struct arbiter_vm *vms, size_t n,
			  struct arbiter_decision *dec, const struct arbiter_work *w, uint64_t now);

#endif
