/* SPDX-License-Identifier: MIT */
/*
 * Steps 2 and 3 of policy.h: which shortage growth can help, how much,
 * and in which zone.
 */
#include "core/policy.h"
#include "core/policy_impl.h"

/*
 * A kernel-zone shortage is unmovable demand when ZONE_MOVABLE could hold
 * what the kernel zones lack (so user pages are not what fills them), or
 * when unmovable memory grows at least half as fast as the kernel zones
 * lose available memory.  Otherwise user pages spill into the kernel zones
 * and more ZONE_MOVABLE is what helps them.
 */
static bool kernel_short_is_unmovable(const struct policy_input *in, const struct policy_eval *ev,
				      uint64_t need)
{
	uint64_t movable_room = sat_sub(in->movable_free_bytes, in->movable_high_bytes);

	if (movable_room >= need)
		return true;
	return ev->u_velocity > 0 && (uint64_t)ev->u_velocity * 2 >= neg_abs(ev->k_velocity);
}

/* How far the kernel zones may still grow, in whole memory blocks. */
static uint64_t kernel_room(const struct policy_input *in, const struct policy_eval *ev)
{
	return round_down(sat_sub(ev->kernel_max, in->kernel_managed_bytes), ev->mblock);
}

static enum urgency grow_urgency(const struct policy_eval *ev)
{
	uint32_t s = ev->signals;

	if (s & (POLICY_SIG_OOM_KILL | POLICY_SIG_EXHAUSTING))
		return URGENCY_CRITICAL;
	if ((s & (POLICY_SIG_FULL_AVG10 | POLICY_SIG_FULL_STALL)) ||
	    ((s & POLICY_SIG_ALLOCSTALL) && (s & (POLICY_SIG_LOW | POLICY_SIG_KERNEL_LOW))))
		return URGENCY_CRITICAL;
	if (s & (POLICY_SIG_STALLS | POLICY_SIG_FALLING))
		return URGENCY_HIGH;
	return URGENCY_NORMAL;
}

static enum policy_reason grow_reason(const struct policy_eval *ev, enum urgency u)
{
	if (u == URGENCY_CRITICAL)
		return POLICY_R_EMERGENCY;
	if (ev->need_kernel > 0)
		return POLICY_R_KERNEL_SHORT;
	/* User pages filling the kernel zones are short of headroom like any other. */
	if ((ev->signals & POLICY_SIG_LOW) || (ev->shortage & POLICY_SHORT_KERNEL_SPILL))
		return POLICY_R_LOW_HEADROOM;
	if (ev->signals & POLICY_SIG_FALLING)
		return POLICY_R_FALLING_FAST;
	return ev->need_cache > 0 ? POLICY_R_CACHE_REFAULTS : POLICY_R_LOW_HEADROOM;
}

/*
 * Available memory falls mostly because unmovable memory grows: a global
 * shortage that only the kernel zones can serve (slab filling a guest that
 * has no ZONE_MOVABLE memory yet looks like any other shortage otherwise).
 */
static bool fall_is_unmovable(const struct policy_eval *ev)
{
	return ev->zones && ev->u_velocity > 0 && ev->velocity < 0 &&
	       (uint64_t)ev->u_velocity * 2 >= neg_abs(ev->velocity);
}

/* The kernel need, with escalation; 0 when the kernel zones are not short of unmovable memory. */
static uint64_t kernel_need(const struct policy_state *st, const struct policy_config *cfg,
			    const struct policy_input *in, struct policy_eval *ev)
{
	uint64_t need = sat_add(ev->k_deficit, sat_shl(ev->k_falling, ev->escalation));

	if ((ev->shortage & POLICY_SHORT_GLOBAL) && fall_is_unmovable(ev)) {
		ev->signals |= POLICY_SIG_UNMOVABLE;
		ev->shortage |= POLICY_SHORT_KERNEL;
		return max_u64(need, ev->need_global);
	}
	if (ev->signals & POLICY_SIG_KERNEL_CACHE) {
		/* Their cache thrashes: the working set that refaulted, or a step. */
		uint64_t cache = max_u64(mul_div(ev->refault_rate, cfg->velocity_window_usec, POLICY_SEC),
					 cfg->grow_step_min_bytes);

		ev->signals |= POLICY_SIG_UNMOVABLE;
		ev->shortage |= POLICY_SHORT_KERNEL;
		return (ev->signals & POLICY_SIG_KERNEL_LOW) ? max_u64(need, cache) : cache;
	}
	if (!(ev->signals & POLICY_SIG_KERNEL_LOW))
		return 0;
	if (!kernel_short_is_unmovable(in, ev, need)) {
		/* User pages fill the kernel zones: ZONE_MOVABLE takes them. */
		ev->shortage |= POLICY_SHORT_KERNEL_SPILL | POLICY_SHORT_GLOBAL;
		ev->need_global = max_u64(ev->need_global, need);
		return 0;
	}
	ev->signals |= POLICY_SIG_UNMOVABLE;
	ev->shortage |= POLICY_SHORT_KERNEL;
	return need;
}

/* Why a kernel need cannot be served, or POLICY_CANT_NONE. */
static enum policy_cant_help kernel_blocked(const struct policy_input *in,
					    const struct policy_eval *ev)
{
	if (in->kernel_growth != POLICY_KGROW_YES)
		return POLICY_CANT_NO_MECHANISM;
	if (kernel_room(in, ev) == 0)
		return POLICY_CANT_KERNEL_BOUND;
	return POLICY_CANT_NONE;
}

void policy_needs(const struct policy_state *st, const struct policy_config *cfg,
		  const struct policy_input *in, struct policy_eval *ev)
{
	enum policy_cant_help cant;

	if (ev->signals & (POLICY_SIG_LOW | POLICY_SIG_FALLING)) {
		ev->shortage |= POLICY_SHORT_GLOBAL;
		ev->need_global = sat_add(ev->deficit, sat_shl(ev->falling_bytes, ev->escalation));
	}
	ev->need_kernel = kernel_need(st, cfg, in, ev);
	if (ev->signals & POLICY_SIG_CACHE_MISS) {
		ev->shortage |= POLICY_SHORT_CACHE;
		ev->need_cache = max_u64(mul_div(ev->refault_rate, cfg->velocity_window_usec, POLICY_SEC),
					 cfg->grow_step_min_bytes);
	}
	if (ev->signals & POLICY_SIG_OOM_KILL) {
		if (ev->need_kernel > 0) {
			ev->need_kernel = max_u64(ev->need_kernel, cfg->emergency_step_bytes);
		} else {
			ev->shortage |= POLICY_SHORT_GLOBAL;
			ev->need_global = max_u64(ev->need_global, cfg->emergency_step_bytes);
		}
	}
	ev->need_movable = max_u64(ev->need_global, ev->need_cache);
	cant = ev->need_kernel > 0 ? kernel_blocked(in, ev) : POLICY_CANT_NONE;
	if (cant != POLICY_CANT_NONE) {
		/*
		 * Unmovable memory is what uses up available memory, and
		 * ZONE_MOVABLE cannot hold it: only the part of the fall
		 * that user pages make (and cache refaults) is worth a grow.
		 */
		uint64_t unmov = mul_div(ev->u_velocity > 0 ? (uint64_t)ev->u_velocity : 0,
					 ev->lead_usec, POLICY_SEC);

		ev->cant_help = cant;
		ev->need_kernel = 0;
		ev->need_movable = ev->need_cache;
		if (ev->shortage & POLICY_SHORT_GLOBAL)
			ev->need_movable = max_u64(sat_sub(sat_shl(ev->falling_bytes, ev->escalation),
							   unmov),
						   ev->need_cache);
		if (ev->signals & POLICY_SIG_OOM_KILL)
			ev->need_movable = 0;
	} else {
		/* Kernel-zone memory serves user pages too. */
		ev->need_movable = sat_sub(ev->need_movable, ev->need_kernel);
	}
	ev->want_grow = ev->need_kernel > 0 || ev->need_movable > 0;
	ev->grow_urgency = grow_urgency(ev);
	ev->grow_reason = grow_reason(ev, ev->grow_urgency);
}

/*
 * Hot-added memory needs struct pages from kernel-zone memory the guest has
 * now: cut the step to what it can pay, but never below one unit, so that
 * a plug can always complete (the kernel reclaims to allocate the map).
 */
static uint64_t memmap_cap(const struct policy_config *cfg, const struct policy_input *in,
			   const struct policy_eval *ev, uint64_t step, uint64_t unit)
{
	/* The kernel reclaims its own cache to pay: it counts here, unlike in k_avail. */
	uint64_t payable = ev->zones ? sat_add(ev->k_avail, sat_add(in->slab_reclaimable_bytes,
								     in->buffers_bytes)) :
				       ev->avail;
	uint64_t cap;

	if (cfg->memmap_overhead_centi == 0)
		return step;
	cap = round_down(mul_div(payable, 10000, cfg->memmap_overhead_centi), unit);
	return min_u64(step, max_u64(cap, unit));
}

/* The kernel-zone step: whole memory blocks plus the movable slack the kernel fills first. */
static uint64_t kernel_step(const struct policy_config *cfg, const struct policy_input *in,
			    const struct policy_eval *ev)
{
	uint64_t k = round_up(max_u64(ev->need_kernel, cfg->grow_step_min_bytes), ev->mblock);

	k = min_u64(k, max_u64(round_down(cfg->grow_step_max_bytes, ev->mblock), ev->mblock));
	k = min_u64(k, kernel_room(in, ev));
	k = memmap_cap(cfg, in, ev, k, ev->mblock);
	return round_up(sat_add(k, ev->movable_slack), ev->block);
}

static uint64_t movable_step(const struct policy_config *cfg, const struct policy_input *in,
			     const struct policy_eval *ev)
{
	uint64_t floor = cfg->grow_step_min_bytes;
	uint64_t m;

	if (ev->signals & POLICY_SIG_OOM_KILL)
		floor = max_u64(floor, cfg->emergency_step_bytes);
	m = min_u64(max_u64(ev->need_movable, floor), cfg->grow_step_max_bytes);
	return memmap_cap(cfg, in, ev, round_up(m, ev->block), ev->block);
}

/* A grow is wanted (or only CANT_HELP is to be said): decide it or say what holds it. */
void policy_grow_decide(struct policy_state *st, const struct policy_config *cfg,
			const struct policy_input *in, const struct policy_eval *ev,
			struct policy_decision *d)
{
	uint64_t now = in->now_usec;
	uint64_t room = round_down(sat_sub(in->max_bytes, in->current_bytes), ev->block);
	bool backoff = policy_in_backoff(st, now);
	bool held = st->host_hold && st->host_hold_dir == POLICY_GROW && now < st->host_retry_at_usec &&
		    ev->grow_urgency <= st->host_hold_urgency;
	bool kernel = ev->need_kernel > 0;
	uint64_t step;

	d->cant_help = ev->cant_help;
	if (!ev->want_grow) {
		if (in->reclaim_busy)
			decide(d, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING, URGENCY_HIGH);
		else
			decide(d, POLICY_HOLD, POLICY_R_CANT_HELP, ev->grow_urgency);
		return;
	}
	if (in->reclaim_busy && (in->backend_busy || backoff || held || room == 0)) {
		/* The grow that would stop the trim cannot go out: stop it explicitly. */
		decide(d, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING, ev->grow_urgency);
		return;
	}
	if (in->backend_busy) {
		decide(d, POLICY_HOLD, POLICY_R_BACKEND_BUSY, ev->grow_urgency);
	} else if (backoff) {
		decide(d, POLICY_HOLD, POLICY_R_BACKOFF, ev->grow_urgency);
		d->hold_until_usec = st->backoff.retry_at_usec;
	} else if (held) {
		decide(d, POLICY_HOLD, POLICY_R_HOST_DENIED, ev->grow_urgency);
		d->hold_until_usec = st->host_retry_at_usec;
	} else if (room == 0) {
		decide(d, POLICY_HOLD, POLICY_R_AT_MAX, ev->grow_urgency);
	} else {
		step = kernel ? kernel_step(cfg, in, ev) : movable_step(cfg, in, ev);
		decide(d, POLICY_GROW, ev->grow_reason, ev->grow_urgency);
		d->zone = kernel ? POLICY_ZONE_KERNEL : POLICY_ZONE_MOVABLE;
		d->target_bytes = in->current_bytes + min_u64(step, room);
		d->escalation = ev->escalation;
	}
}
