/* SPDX-License-Identifier: MIT */
/*
 * Weighted max-min fairness over the whole size budget (arbiter.h, steps 6-8).
 * Growth from the free budget alone is first come, first served: whoever
 * asked first keeps what it got, and a guest asked to give back can simply
 * decline.  So the arbiter computes what each VM is entitled to from what
 * every VM currently wants, lets no VM grow past that while another one
 * wants and lacks its own, and takes the excess back itself when the guest
 * does not return it within a grace period.
 */
#include "core/arbiter_impl.h"

#include "core/waterfill.h"

/*
 * What the VM wants now.  An admitted request speaks for the guest while it
 * is recent: a denied guest backs off before it asks again, and its need
 * does not vanish meanwhile.  A request refused at the door (not welcomed,
 * stale, rate-limited) is no demand: the host said no to considering it,
 * and growing the VM to it later without a grant would make that deny a
 * lie and the rate limit no limit.  A guest under pressure with no recent
 * request still wants at least what it holds; one at ease wants what it
 * holds less what it says it does not use (spare).
 */
static uint64_t demand_of(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
			  const struct arbiter_work *w, size_t i, uint64_t spare)
{
	const struct arbiter_request *dm = &vm->state.demand;
	uint64_t hold = arbiter_accounted_bytes(vm);
	uint64_t asked;

	if (!vm->connected || !dm->valid || (!w->recent[i] && !w->pressured[i]))
		return w->pressured[i] ? hold : hold - arbiter_min(hold, spare);
	asked = arbiter_clamp_ask(cfg, vm, dm->target_bytes);
	if (w->recent[i])
		return asked;
	return arbiter_max(asked, hold);
}

/*
 * What a connected guest said lately it does not use: its surplus
 * (MemAvailable above the healthy headroom) in whole blocks.  Memory that
 * costs its guest nothing is the first to go, before weights are looked at.
 */
static uint64_t spare_of(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
			 uint64_t now)
{
	const struct arbiter_report *r = &vm->report;

	if (!vm->connected || !r->valid || r->mem_available_bytes <= cfg->healthy_headroom_bytes ||
	    (now > r->usec && now - r->usec >= cfg->demand_window_usec))
		return 0;
	return arbiter_align_down(cfg, r->mem_available_bytes - cfg->healthy_headroom_bytes);
}

/*
 * What the VM's entitlement is water-filled against: its demand, or, for a
 * guest under pressure that asked lately, everything up to its max.  A
 * stalling guest asks in steps sized to what it lacks now, so its demand
 * says little of what it would take; water-filling such small asks gave
 * the lightest VM, which happened to ask big first, the largest share.
 * Only the entitlement is raised: growth, what a VM misses and how much
 * the others are cut still follow what it asked.
 */
static uint64_t claim_of(const struct arbiter_vm *vm, const struct arbiter_work *w, size_t i)
{
	return w->pressured[i] && w->recent[i] ? vm->max_bytes : w->demand[i];
}

void arbiter_fair_entitle(const struct arbiter_config *cfg, uint64_t size_budget,
			  const struct arbiter_vm *vms, size_t n, struct arbiter_work *w,
			  uint64_t now)
{
	struct waterfill *f = w->fill;

	for (size_t i = 0; i < n; i++) {
		const struct arbiter_vm *vm = &vms[i];
		uint64_t hold = arbiter_accounted_bytes(vm);

		w->demand[i] = demand_of(cfg, vm, w, i, spare_of(cfg, vm, now));
		f[i] = (struct waterfill){ .vm = i, .min_bytes = vm->min_bytes, .lo_bytes = vm->min_bytes,
				       .hi_bytes = arbiter_clamp(claim_of(vm, w, i), vm->min_bytes,
								 vm->max_bytes),
				       .weight = vm->weight };
		/* A stuck VM holds what it holds, whatever it is entitled to. */
		if (vm->state.non_converging)
			f[i].lo_bytes = f[i].hi_bytes = hold;
	}
	waterfill(f, n, cfg->align_bytes, size_budget);
	for (size_t i = 0; i < n; i++)
		w->ent[i] = f[i].alloc_bytes;
}

/* How far the VM is below what it wants and is entitled to (0: not under-served). */
static uint64_t missing(const struct arbiter_vm *vm, const struct arbiter_work *w, size_t i)
{
	uint64_t want = arbiter_min(w->demand[i], w->ent[i]);
	uint64_t hold = arbiter_accounted_bytes(vm);

	if (vm->state.non_converging || want <= hold)
		return 0;
	return want - hold;
}

/* Growth the host starts itself must respect the hold a guest request would. */
static bool may_raise(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
		      const struct arbiter_decision *d, const struct arbiter_work *w, size_t i,
		      uint64_t now)
{
	const struct arbiter_vm_state *s = &vm->state;
	bool critical = w->recent[i] && s->demand.urgency == URGENCY_CRITICAL;

	if (d->action != ARBITER_NONE || s->non_converging)
		return false;
	return !(s->last_dir < 0 && now - s->last_resize_usec < cfg->oscillation_hold_usec &&
		 !critical);
}

void arbiter_fair_cap(const struct arbiter_config *cfg, bool host_pressure,
		      const struct arbiter_vm *vms, size_t n, struct arbiter_decision *dec,
		      struct arbiter_work *w, uint64_t now)
{
	size_t under = 0, under_hot = 0;

	for (size_t i = 0; i < n; i++)
		if (missing(&vms[i], w, i)) {
			under++;
			under_hot += w->pressured[i];
		}
	for (size_t i = 0; i < n; i++) {
		const struct arbiter_vm *vm = &vms[i];
		uint64_t target = vm->state.target_bytes;
		uint64_t cap = arbiter_max(w->ent[i], target);
		bool self = missing(vm, w, i) > 0;
		/* Pressure is served first: only another VM under pressure holds it back. */
		size_t others = (w->pressured[i] ? under_hot : under) - self;

		if (w->ask[i] && others && w->ask[i] > cap) {
			w->capped[i] = true;
			w->ask[i] = cap;
			if (cap > target)
				continue;
			w->ask[i] = 0;
			if (w->request[i]) {
				dec[i].action = ARBITER_DENY;
				dec[i].reason = ARBITER_R_FAIR_SHARE;
			}
			w->request[i] = false;
		} else if (!w->ask[i] && self && !host_pressure && may_raise(cfg, vm, &dec[i], w, i, now)) {
			/* Answered before, still short: raise it as memory becomes free. */
			w->ask[i] = arbiter_min(w->demand[i], w->ent[i]);
			w->request[i] = false;
			w->why[i] = ARBITER_R_FAIR_SHARE;
		}
	}
}

/* Cut the target of a VM that ignored the ask, by at most need; returns what it will free. */
static uint64_t cut(const struct arbiter_config *cfg, struct arbiter_vm *vm,
		    struct arbiter_decision *d, uint64_t ent, uint64_t need, uint64_t now)
{
	uint64_t t = vm->state.target_bytes;

	if (t <= ent)
		return 0;
	return arbiter_cut(cfg, vm, d, t - ent > need ? t - need : ent, ARBITER_R_FAIR_SHARE, now);
}

void arbiter_fair_enforce(const struct arbiter_config *cfg, struct arbiter_vm *vms, size_t n,
			  struct arbiter_decision *dec, const struct arbiter_work *w, uint64_t now)
{
	size_t *order = w->order, m = 0;
	uint64_t need = 0;
	bool hot = false;

	for (size_t i = 0; i < n; i++) {
		uint64_t miss = missing(&vms[i], w, i);

		need += miss;
		hot |= miss && w->pressured[i];
	}
	for (size_t i = 0; i < n; i++) {
		struct arbiter_vm_state *s = &vms[i].state;

		if (!need || s->non_converging || arbiter_accounted_bytes(&vms[i]) <= w->ent[i]) {
			s->fair_asked = false;
			continue;
		}
		order[m++] = i;
	}
	/* Whose loss costs least per weight goes first. */
	arbiter_order_sort(order, m, &(struct arbiter_order){ .vms = vms, .dec = dec });
	for (size_t k = 0; k < m; k++) {
		size_t i = order[k];
		struct arbiter_vm *vm = &vms[i];
		struct arbiter_vm_state *s = &vm->state;
		uint64_t in_transit = arbiter_accounted_bytes(vm) - s->target_bytes;

		/* What a cut VM is still unplugging will be free soon; it counts. */
		need = need > in_transit ? need - in_transit : 0;
		if (!s->fair_asked) {
			/* Answered this round: the ask goes out with the next one. */
			if (vm->connected && dec[i].action != ARBITER_NONE)
				continue;
			s->fair_asked = true;
			s->fair_asked_usec = now;
			if (vm->connected)
				arbiter_ask_reclaim(vm, &dec[i], ARBITER_R_FAIR_SHARE, w->ent[i],
						    hot ? URGENCY_HIGH : URGENCY_NORMAL, now);
			continue;
		}
		if (need == 0 || now - s->fair_asked_usec < cfg->fair_share_grace_usec)
			continue;
		need -= arbiter_min(need, cut(cfg, vm, &dec[i], w->ent[i], need, now));
	}
}
