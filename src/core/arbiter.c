/* SPDX-License-Identifier: MIT */
#include "core/arbiter_impl.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/waterfill.h"

#define MIB (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)
/* A request before the welcome is refused; the welcome follows once the hypervisor answered. */
#define ARBITER_WELCOME_RETRY_USEC SEC

static const char *const reason_words[ARBITER_R__MAX] = {
	[ARBITER_R_NONE] = "none",
	[ARBITER_R_GRANTED] = "granted",
	[ARBITER_R_CLAMPED] = "clamped",
	[ARBITER_R_CONTENTION] = "contention",
	[ARBITER_R_NO_CHANGE] = "no_change",
	[ARBITER_R_BUDGET] = "budget",
	[ARBITER_R_HOST_PRESSURE] = "host_pressure",
	[ARBITER_R_OSCILLATION_HOLD] = "oscillation_hold",
	[ARBITER_R_NOT_CONVERGING] = "not_converging",
	[ARBITER_R_RATE_LIMITED] = "rate_limited",
	[ARBITER_R_STALE_SEQ] = "stale_seq",
	[ARBITER_R_LIMITS] = "limits",
	[ARBITER_R_REISSUE] = "reissue",
	[ARBITER_R_FAIR_SHARE] = "fair_share",
	[ARBITER_R_NOT_WELCOMED] = "not_welcomed",
};

const char *arbiter_reason_word(enum arbiter_reason reason)
{
	if ((unsigned)reason >= ARBITER_R__MAX)
		return "unknown";
	return reason_words[reason];
}

const char *arbiter_action_name(enum arbiter_action action)
{
	static const char *const names[] = { "none", "grant", "deny", "reclaim" };

	if ((unsigned)action >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[action];
}

void arbiter_config_defaults(struct arbiter_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->budget_mode = ARBITER_BUDGET_STRICT;
	ret->host_psi_centi = 1000;             /* 10 % of the last 10 s stalled */
	/* Long enough for a guest to trim and unplug, short enough to relieve the host within 30 s. */
	ret->host_pressure_grace_usec = 5 * SEC;
	ret->guest_psi_pressure_centi = 500;
	ret->healthy_headroom_bytes = 512 * MIB;
	ret->align_bytes = 2 * MIB;             /* the virtio-mem block size QEMU uses by default */
	ret->oscillation_hold_usec = 30 * UINT64_C(1000000);
	ret->converge_timeout_usec = 30 * UINT64_C(1000000);
	ret->converge_slack_bytes = 2 * MIB;
	ret->reissue_after_usec = 120 * UINT64_C(1000000);
	ret->rate_burst = 5;
	ret->rate_refill_usec = 2 * UINT64_C(1000000);
	ret->reclaim_interval_usec = 10 * UINT64_C(1000000);
	/* Longer than the guest's first few backoff steps after a deny (1, 2, 4, 8 s). */
	ret->demand_window_usec = 30 * UINT64_C(1000000);
	/* Shorter than the oscillation hold: that must not shield an over-share VM. */
	ret->fair_share_grace_usec = 10 * UINT64_C(1000000);
}

static uint64_t gap_bytes(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

uint64_t arbiter_align_down(const struct arbiter_config *cfg, uint64_t v)
{
	return cfg->align_bytes ? v - v % cfg->align_bytes : v;
}

uint64_t arbiter_align_up(const struct arbiter_config *cfg, uint64_t v)
{
	uint64_t d = arbiter_align_down(cfg, v);

	if (d == v || d > UINT64_MAX - cfg->align_bytes)
		return d;
	return d + cfg->align_bytes;
}

/* Growth rounds down and shrinking rounds up, so that rounding never gives more than asked. */
uint64_t arbiter_clamp_ask(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
			   uint64_t target)
{
	return arbiter_clamp(target > vm->state.target_bytes ? arbiter_align_down(cfg, target)
							     : arbiter_align_up(cfg, target),
			     vm->min_bytes, vm->max_bytes);
}

/* A new target: convergence is measured afresh from here. */
void arbiter_set_target(struct arbiter_vm *vm, struct arbiter_decision *d, uint64_t t,
			enum arbiter_reason why, uint64_t now)
{
	struct arbiter_vm_state *s = &vm->state;

	s->target_bytes = t;
	s->best_gap_bytes = gap_bytes(vm->current_bytes, t);
	s->progress_usec = now;
	d->apply = true;
	d->apply_reason = why;
	d->apply_bytes = t;
}

uint64_t arbiter_cut(const struct arbiter_config *cfg, struct arbiter_vm *vm,
		     struct arbiter_decision *d, uint64_t t, enum arbiter_reason why, uint64_t now)
{
	struct arbiter_vm_state *s = &vm->state;
	uint64_t from = s->target_bytes;

	t = arbiter_clamp(arbiter_align_up(cfg, t), vm->min_bytes, from);
	if (t >= from)
		return 0;
	arbiter_set_target(vm, d, t, why, now);
	s->last_dir = -1;
	s->last_resize_usec = now;
	if (d->action == ARBITER_GRANT)
		d->target_bytes = t;
	return from - t;
}

void arbiter_vm_seed(struct arbiter_vm *vm, uint64_t target_bytes)
{
	struct arbiter_vm_state *s = &vm->state;

	/*
	 * Only what first sight (vm_limits) would set from the seeded size; the
	 * rate limit starts full as it does there, through refill_tokens().
	 */
	s->initialized = true;
	s->target_bytes = target_bytes;
	s->prev_min_bytes = vm->min_bytes;
	s->prev_max_bytes = vm->max_bytes;
	vm->current_bytes = target_bytes;
	vm->applied_bytes = target_bytes;
}

void arbiter_vm_reconcile(struct arbiter_vm *vm, uint64_t target_bytes, uint64_t current_bytes,
			  uint64_t now_usec)
{
	struct arbiter_vm_state *s = &vm->state;

	vm->current_bytes = current_bytes;
	vm->applied_bytes = target_bytes;
	s->initialized = true;
	s->target_bytes = target_bytes;
	s->best_gap_bytes = gap_bytes(current_bytes, target_bytes);
	s->progress_usec = now_usec;
	s->non_converging = false;
}

void arbiter_vm_hello(struct arbiter_vm *vm)
{
	struct arbiter_vm_state *s = &vm->state;

	s->seen = false;
	s->seen_seq = 0;
	s->answered = false;
	s->answered_seq = 0;
	s->demand.valid = false;
}

static void answer(struct arbiter_decision *d, enum arbiter_action action, enum arbiter_reason why,
		   uint64_t target)
{
	d->action = action;
	d->reason = why;
	d->target_bytes = target;
}

/* Step 1: first sight, and limits changed at run time. */
static void vm_limits(struct arbiter_vm *vm, struct arbiter_decision *d, uint64_t now)
{
	struct arbiter_vm_state *s = &vm->state;
	uint64_t t;

	if (!s->initialized) {
		s->initialized = true;
		s->target_bytes = vm->current_bytes;
		s->best_gap_bytes = 0;
		s->progress_usec = now;
		s->prev_min_bytes = vm->min_bytes;
		s->prev_max_bytes = vm->max_bytes;
		s->refill_usec = now;
		s->tokens = UINT32_MAX; /* capped at rate_burst below */
	} else if (vm->min_bytes != s->prev_min_bytes || vm->max_bytes != s->prev_max_bytes) {
		d->send_limits = true;
		s->prev_min_bytes = vm->min_bytes;
		s->prev_max_bytes = vm->max_bytes;
	}
	t = arbiter_clamp(s->target_bytes, vm->min_bytes, vm->max_bytes);
	if (t != s->target_bytes)
		arbiter_set_target(vm, d, t, ARBITER_R_LIMITS, now);
	if (s->reissue_bytes)
		s->reissue_bytes = arbiter_clamp(s->reissue_bytes, vm->min_bytes, vm->max_bytes);
}

/*
 * Step 2: is the VM getting closer to its target?  Returns true when a
 * target given up on is due to be re-issued.
 */
static bool vm_convergence(const struct arbiter_config *cfg, struct arbiter_vm *vm,
			   struct arbiter_decision *d, uint64_t now)
{
	struct arbiter_vm_state *s = &vm->state;
	uint64_t gap = gap_bytes(vm->current_bytes, s->target_bytes);

	if (s->non_converging) {
		/* A stuck shrink that finally happened needs no more waiting. */
		bool done = !s->reissue_bytes && gap <= cfg->converge_slack_bytes;

		if (!done && now - s->non_converging_usec < cfg->reissue_after_usec)
			return false;
		s->non_converging = false;
		s->best_gap_bytes = gap;
		s->progress_usec = now;
		return s->reissue_bytes > s->target_bytes;
	}
	if (gap <= cfg->converge_slack_bytes || gap < s->best_gap_bytes) {
		s->best_gap_bytes = gap;
		s->progress_usec = now;
		return false;
	}
	if (now - s->progress_usec < cfg->converge_timeout_usec)
		return false;
	s->non_converging = true;
	s->non_converging_usec = now;
	if (vm->current_bytes < s->target_bytes) {
		/* Stop promising memory the guest does not take; it counts at current. */
		s->reissue_bytes = s->target_bytes;
		arbiter_set_target(vm, d, arbiter_clamp(vm->current_bytes, vm->min_bytes, vm->max_bytes),
			   ARBITER_R_NOT_CONVERGING, now);
		s->non_converging = true; /* set_target resets progress only */
	}
	return false;
}

static void refill_tokens(const struct arbiter_config *cfg, struct arbiter_vm_state *s,
			  uint64_t now)
{
	if (cfg->rate_refill_usec && now > s->refill_usec) {
		uint64_t add = (now - s->refill_usec) / cfg->rate_refill_usec;

		if (add >= cfg->rate_burst || s->tokens + add >= cfg->rate_burst) {
			s->tokens = cfg->rate_burst;
			s->refill_usec = now;
		} else {
			s->tokens += (uint32_t)add;
			s->refill_usec += add * cfg->rate_refill_usec;
		}
	}
	if (s->tokens > cfg->rate_burst)
		s->tokens = cfg->rate_burst;
}

static bool vm_pressured(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
			 bool recent_demand)
{
	if (recent_demand && vm->state.demand.urgency >= URGENCY_HIGH)
		return true;
	return vm->report.valid && vm->report.psi_some_avg10_centi >= cfg->guest_psi_pressure_centi;
}

/*
 * Step 3, the door: a request the host does not consider at all.  Returns
 * true when it was refused (answered in d); the rest is demand.
 */
static bool vm_door(const struct arbiter_config *cfg, struct arbiter_vm *vm,
		    struct arbiter_decision *d, uint64_t now)
{
	struct arbiter_vm_state *s = &vm->state;
	const struct arbiter_request *r = &vm->request;

	if (!vm->connected) {
		/* Nothing of the session is known yet; the welcome comes once the hypervisor answers. */
		answer(d, ARBITER_DENY, ARBITER_R_NOT_WELCOMED, 0);
		d->retry_after_usec = ARBITER_WELCOME_RETRY_USEC;
		return true;
	}
	if (s->answered && r->seq < s->answered_seq) {
		answer(d, ARBITER_DENY, ARBITER_R_STALE_SEQ, 0);
		return true;
	}
	s->answered = true;
	s->answered_seq = r->seq;
	refill_tokens(cfg, s, now);
	if (s->tokens == 0) {
		answer(d, ARBITER_DENY, ARBITER_R_RATE_LIMITED, 0);
		/* The next token comes one refill period after the last one. */
		d->retry_after_usec = s->refill_usec + cfg->rate_refill_usec > now ?
					      s->refill_usec + cfg->rate_refill_usec - now : 0;
		return true;
	}
	s->tokens--;
	s->demand = *r;
	return false;
}

/*
 * Step 3: answer a new request, or leave a grow ask in *ret_ask for the
 * budget steps (0: none).
 */
static void vm_request(const struct arbiter_config *cfg, bool host_pressure, struct arbiter_vm *vm,
		       struct arbiter_decision *d, uint64_t now, uint64_t *ret_ask)
{
	struct arbiter_vm_state *s = &vm->state;
	const struct arbiter_request *r = &vm->request;
	bool critical = r->urgency == URGENCY_CRITICAL;
	uint64_t asked;
	int dir;

	*ret_ask = 0;
	if (!arbiter_request_fresh(vm))
		return;
	s->seen = true;
	s->seen_seq = r->seq;
	/* Clamped to the host's limits before anything else looks at it. */
	asked = arbiter_clamp_ask(cfg, vm, r->target_bytes);
	d->seq = r->seq;
	d->asked_bytes = asked;
	if (vm_door(cfg, vm, d, now))
		return;
	dir = asked > s->target_bytes ? 1 : asked < s->target_bytes ? -1 : 0;
	if (dir == 0) {
		answer(d, ARBITER_GRANT, ARBITER_R_NO_CHANGE, s->target_bytes);
		return;
	}
	if (dir > 0 && s->non_converging) {
		answer(d, ARBITER_DENY, ARBITER_R_NOT_CONVERGING, 0);
		return;
	}
	/* A guest about to OOM may still grow from free budget: that is what critical means. */
	if (dir > 0 && host_pressure && !critical) {
		answer(d, ARBITER_DENY, ARBITER_R_HOST_PRESSURE, 0);
		return;
	}
	/*
	 * Only a grow soon after a shrink is held: memory given back never
	 * hurts the host, and the flap, if any, is the regrow.  A guest that
	 * stalls or runs out fast (urgency high or critical) is not held.
	 */
	if (dir > 0 && s->last_dir < 0 && now - s->last_resize_usec < cfg->oscillation_hold_usec &&
	    r->urgency < URGENCY_HIGH) {
		answer(d, ARBITER_DENY, ARBITER_R_OSCILLATION_HOLD, 0);
		d->retry_after_usec = s->last_resize_usec + cfg->oscillation_hold_usec - now;
		return;
	}
	/* A newer ask replaces a target given up on. */
	s->reissue_bytes = 0;
	if (dir > 0) {
		*ret_ask = asked;
		return;
	}
	s->last_dir = -1;
	s->last_resize_usec = now;
	arbiter_set_target(vm, d, asked, ARBITER_R_GRANTED, now);
	answer(d, ARBITER_GRANT, asked == r->target_bytes ? ARBITER_R_GRANTED : ARBITER_R_CLAMPED,
	       asked);
}

static uint64_t sum_accounted(const struct arbiter_vm *vms, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += arbiter_accounted_bytes(&vms[i]);
	return sum;
}

bool arbiter_may_ask(const struct arbiter_config *cfg, const struct arbiter_vm *vm,
		     const struct arbiter_decision *d, uint64_t now)
{
	const struct arbiter_vm_state *s = &vm->state;

	if (!vm->connected || d->action != ARBITER_NONE || s->non_converging)
		return false;
	if (s->reclaimed && now - s->last_reclaim_usec < cfg->reclaim_interval_usec)
		return false;
	/* Do not ask back what was just given: the guest could not shrink anyway. */
	return !(s->last_dir > 0 && now - s->last_resize_usec < cfg->oscillation_hold_usec);
}

void arbiter_ask_reclaim(struct arbiter_vm *vm, struct arbiter_decision *d,
			 enum arbiter_reason why, uint64_t target, enum urgency urgency,
			 uint64_t now)
{
	answer(d, ARBITER_RECLAIM, why, target);
	d->urgency = urgency;
	vm->state.reclaimed = true;
	vm->state.last_reclaim_usec = now;
}

/*
 * Step 7, one priority class: share free among the growers of the class.
 * Returns what is left of free.
 */
static uint64_t grow_pass(const struct arbiter_config *cfg, struct arbiter_vm *vms, size_t n,
			  struct arbiter_decision *dec, const struct arbiter_work *w,
			  bool want_pressured, uint64_t free, uint64_t now)
{
	struct waterfill *f = w->fill;
	size_t nf = 0;
	uint64_t cap = free;

	for (size_t i = 0; i < n; i++)
		if (w->ask[i] && w->pressured[i] == want_pressured) {
			arbiter_fill_add(f, &nf, i, &vms[i], vms[i].state.target_bytes, w->ask[i]);
			cap += vms[i].state.target_bytes;
		}
	if (nf == 0)
		return free;
	waterfill(f, nf, cfg->align_bytes, cap);
	for (size_t k = 0; k < nf; k++) {
		size_t i = f[k].vm;
		struct arbiter_vm *vm = &vms[i];
		struct arbiter_decision *d = &dec[i];
		uint64_t lo = f[k].lo_bytes, g = f[k].alloc_bytes;
		bool request = w->request[i];

		vm->state.reissue_bytes = 0;
		if (g <= lo) {
			if (request)
				answer(d, ARBITER_DENY, ARBITER_R_BUDGET, 0);
			continue;
		}
		free -= g - lo;
		arbiter_set_target(vm, d, g, request ? ARBITER_R_GRANTED : w->why[i], now);
		vm->state.last_dir = 1;
		vm->state.last_resize_usec = now;
		if (request)
			answer(d, ARBITER_GRANT,
			       g < f[k].hi_bytes || w->capped[i] ? ARBITER_R_CONTENTION
			       : g == vm->request.target_bytes ? ARBITER_R_GRANTED : ARBITER_R_CLAMPED,
			       g);
	}
	return free;
}

static uint64_t surplus_bytes(const struct arbiter_config *cfg, const struct arbiter_vm *vm)
{
	const struct arbiter_report *r = &vm->report;

	if (!r->valid || r->mem_available_bytes <= cfg->healthy_headroom_bytes)
		return 0;
	return r->mem_available_bytes - cfg->healthy_headroom_bytes;
}

bool arbiter_gives_first(const struct arbiter_vm *vms, const struct arbiter_decision *dec,
			 size_t a, size_t b)
{
	if (vms[a].weight != vms[b].weight)
		return vms[a].weight < vms[b].weight;
	if (dec[a].surplus_bytes != dec[b].surplus_bytes)
		return dec[a].surplus_bytes > dec[b].surplus_bytes;
	return a < b;
}

static int validate(const struct arbiter_config *cfg, const struct arbiter_host *host,
		    const struct arbiter_vm *vms, size_t n, const void *scratch, size_t scratch_bytes,
		    const struct arbiter_decision *dec, const struct arbiter_summary *sum)
{
	if (!cfg || !host || !sum || (n && (!vms || !dec || !scratch)) ||
	    n > SIZE_MAX / ARBITER_SCRATCH_PER_VM || scratch_bytes < ARBITER_SCRATCH_BYTES(n) ||
	    (uintptr_t)scratch % _Alignof(max_align_t) != 0 ||
	    (unsigned)cfg->budget_mode > ARBITER_BUDGET_OVERCOMMIT)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (vms[i].min_bytes > vms[i].max_bytes || vms[i].weight == 0 ||
		    vms[i].weight > ARBITER_WEIGHT_MAX)
			return -EINVAL;
	return 0;
}

/* Steps 1-3 for one VM. */
static void vm_first_steps(const struct arbiter_config *cfg, bool host_pressure,
			   struct arbiter_vm *vm, struct arbiter_decision *d, struct arbiter_work *w,
			   size_t i, uint64_t now)
{
	const struct arbiter_request *dm = &vm->state.demand;
	bool reissue;

	memset(d, 0, sizeof(*d));
	d->current_bytes = vm->current_bytes;
	d->surplus_bytes = surplus_bytes(cfg, vm);
	vm_limits(vm, d, now);
	reissue = vm_convergence(cfg, vm, d, now);
	vm_request(cfg, host_pressure, vm, d, now, &w->ask[i]);
	w->request[i] = w->ask[i] != 0;
	/* Only an admitted request speaks for the guest, and only while it is connected. */
	w->recent[i] = vm->connected && dm->valid &&
		       (now < dm->usec || now - dm->usec < cfg->demand_window_usec);
	w->pressured[i] = vm_pressured(cfg, vm, w->recent[i]);
	d->pressured = w->pressured[i];
	/* A target given up on comes back once, if nothing newer replaced it. */
	if (reissue && !w->ask[i] && d->action == ARBITER_NONE && !host_pressure) {
		w->ask[i] = vm->state.reissue_bytes;
		w->why[i] = ARBITER_R_REISSUE;
	} else if (reissue) {
		vm->state.reissue_bytes = 0;
	}
}

/*
 * The scratch arrays, widest element first so that each stays aligned;
 * zeroed, as every step expects.  ARBITER_SCRATCH_PER_VM counts them.
 */
static void work_carve(struct arbiter_work *w, void *scratch, size_t n)
{
	unsigned char *p = scratch;

	_Static_assert(sizeof(enum arbiter_reason) == sizeof(int), "ARBITER_SCRATCH_PER_VM");
	if (n)
		memset(scratch, 0, ARBITER_SCRATCH_BYTES(n));
	w->fill = (struct waterfill *)(void *)p;
	p += n * sizeof(*w->fill);
	w->ask = (uint64_t *)(void *)p;
	w->demand = w->ask + n;
	w->ent = w->demand + n;
	p += 3 * n * sizeof(uint64_t);
	w->order = (size_t *)(void *)p;
	p += n * sizeof(size_t);
	w->why = (enum arbiter_reason *)(void *)p;
	p += n * sizeof(*w->why);
	w->request = (bool *)p;
	w->recent = w->request + n;
	w->pressured = w->recent + n;
	w->capped = w->pressured + n;
}

static void summarize(const struct arbiter_config *cfg, struct arbiter_vm *vms, size_t n,
		      struct arbiter_decision *dec, const struct arbiter_work *w,
		      struct arbiter_summary *sum)
{
	for (size_t i = 0; i < n; i++) {
		dec[i].fair_bytes = w->ent[i];
		dec[i].non_converging = vms[i].state.non_converging;
		dec[i].apply_bytes = vms[i].state.target_bytes;
		dec[i].accounted_bytes = arbiter_accounted_bytes(&vms[i]);
		sum->sum_target_bytes += vms[i].state.target_bytes;
		sum->sum_accounted_bytes += dec[i].accounted_bytes;
		sum->sum_charged_bytes += arbiter_charged_bytes(cfg, &vms[i]);
	}
	if (sum->sum_accounted_bytes < sum->size_budget_bytes)
		sum->free_bytes = sum->size_budget_bytes - sum->sum_accounted_bytes;
}

int arbiter_evaluate(const struct arbiter_config *cfg, const struct arbiter_host *host,
		     struct arbiter_vm *vms, size_t n_vms, void *scratch, size_t scratch_bytes,
		     struct arbiter_decision *ret_decisions, struct arbiter_summary *ret_summary)
{
	struct arbiter_work w;
	struct arbiter_summary sum;
	uint64_t now, free, acc, size_budget;
	int r;

	r = validate(cfg, host, vms, n_vms, scratch, scratch_bytes, ret_decisions, ret_summary);
	if (r < 0)
		return r;
	now = host->now_usec;
	work_carve(&w, scratch, n_vms);
	memset(&sum, 0, sizeof(sum));
	sum.budget_bytes = host->budget_bytes;
	if (host->psi_some_avg10_centi >= cfg->host_psi_centi) {
		if (host->psi_available_bytes && host->mem_available_bytes >= host->psi_available_bytes)
			sum.host_psi_discounted = true;
		else
			sum.host_pressure = true;
	}
	if (host->mem_available_bytes < host->reserve_bytes)
		sum.host_pressure = true;
	if (host->mem_available_bytes < host->reserve_bytes)
		sum.host_shortfall_bytes = host->reserve_bytes - host->mem_available_bytes;

	for (size_t i = 0; i < n_vms; i++) {
		sum.sum_min_bytes += vms[i].min_bytes;
		vm_first_steps(cfg, sum.host_pressure, &vms[i], &ret_decisions[i], &w, i, now);
	}
	size_budget = arbiter_size_budget(cfg, host->budget_bytes, vms, n_vms);
	sum.size_budget_bytes = size_budget;
	sum.budget_below_min = sum.sum_min_bytes > size_budget;

	arbiter_budget_cut(cfg, size_budget, vms, n_vms, ret_decisions, &w, now);
	arbiter_fair_entitle(cfg, size_budget, vms, n_vms, &w, now);
	arbiter_fair_cap(cfg, sum.host_pressure, vms, n_vms, ret_decisions, &w, now);
	acc = sum_accounted(vms, n_vms);
	free = acc < size_budget ? size_budget - acc : 0;
	/*
	 * Under host pressure the budget's free room is not the host's: only
	 * what the host really has free goes to critical growth, so a guest cut
	 * for the host does not take it straight back.
	 */
	if (sum.host_pressure)
		free = arbiter_min(free, host->mem_available_bytes > host->reserve_bytes ?
						 host->mem_available_bytes - host->reserve_bytes : 0);
	free = grow_pass(cfg, vms, n_vms, ret_decisions, &w, true, free, now);
	grow_pass(cfg, vms, n_vms, ret_decisions, &w, false, free, now);
	if (sum.host_pressure) {
		arbiter_host_pressure(cfg, sum.host_shortfall_bytes, vms, n_vms, ret_decisions, &w, now);
	} else {
		arbiter_host_calm(vms, n_vms);
		arbiter_fair_enforce(cfg, vms, n_vms, ret_decisions, &w, now);
	}
	summarize(cfg, vms, n_vms, ret_decisions, &w, &sum);
	*ret_summary = sum;
	return 0;
}
