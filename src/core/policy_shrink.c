/* SPDX-License-Identifier: MIT */
/*
 * Steps 5 to 7 of policy.h: shrink when calm, the host's ask, and trimming
 * cold page cache back to the host.
 */
#include "core/policy.h"
#include "core/policy_impl.h"

/* What releasable_bytes allows, in whole blocks; UINT64_MAX when unknown. */
static uint64_t releasable_cap(const struct policy_input *in, uint64_t block)
{
	if (in->releasable_bytes == UINT64_MAX)
		return UINT64_MAX;
	return round_down(in->releasable_bytes, block);
}

/* The largest step: shrink_step_max_bytes and shrink_max_blocks, in whole blocks. */
static uint64_t step_cap(const struct policy_config *cfg, uint64_t block)
{
	uint64_t blocks = block > UINT64_MAX / cfg->shrink_max_blocks ? UINT64_MAX :
			  block * cfg->shrink_max_blocks;

	return max_u64(round_down(min_u64(blocks, cfg->shrink_step_max_bytes), block), block);
}

/*
 * Shrink by release, or first trim page cache when free memory cannot
 * take the pages that offlining migrates; see the header.
 */
static void shrink_or_trim(const struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, uint64_t release,
			   enum policy_reason reason, enum urgency urgency, struct policy_decision *d)
{
	uint64_t need = sat_add(release, cfg->reserve_bytes / 2);

	if (cfg->reclaim_enabled && !st->trimmed && in->mem_free_bytes < need &&
	    in->file_cache_bytes > cfg->reclaim_min_cache_bytes) {
		uint64_t missing = need - in->mem_free_bytes;
		uint64_t steps = missing / cfg->reclaim_step_bytes + (missing % cfg->reclaim_step_bytes != 0);

		steps = min_u64(steps, cfg->reclaim_max_steps);
		decide(d, POLICY_RECLAIM, POLICY_R_TRIM_CACHE, URGENCY_LOW);
		d->reclaim_bytes = min_u64(steps * cfg->reclaim_step_bytes,
					   in->file_cache_bytes - cfg->reclaim_min_cache_bytes);
		return;
	}
	decide(d, POLICY_SHRINK, reason, urgency);
	d->target_bytes = in->current_bytes - release;
}

static bool host_held(const struct policy_state *st, uint64_t now)
{
	return st->host_hold && st->host_hold_dir == POLICY_SHRINK && now < st->host_retry_at_usec;
}

void policy_host_decide(const struct policy_state *st, const struct policy_config *cfg,
			const struct policy_input *in, const struct policy_eval *ev,
			struct policy_decision *d)
{
	uint64_t goal, release, cap;

	if (st->seen_pressure && within(in->now_usec, st->last_pressure_usec, cfg->calm_hold_usec)) {
		hold_until(d, POLICY_R_HOST_RECLAIM_UNSAFE,
			   sat_add(st->last_pressure_usec, cfg->calm_hold_usec));
		return;
	}
	if (round_down(sat_sub(in->current_bytes, in->min_bytes), ev->block) == 0) {
		hold_until(d, POLICY_R_AT_MIN, 0);
		return;
	}
	/* current - surplus is the lowest total that keeps available above target + margin. */
	goal = max_u64(in->host_reclaim_target_bytes, sat_sub(in->current_bytes, ev->surplus));
	goal = max_u64(goal, in->min_bytes);
	release = round_down(min_u64(sat_sub(in->current_bytes, goal), step_cap(cfg, ev->block)),
			     ev->block);
	if (release == 0) {
		hold_until(d, POLICY_R_HOST_RECLAIM_UNSAFE, 0);
		return;
	}
	cap = releasable_cap(in, ev->block);
	if (cap == 0) {
		hold_until(d, POLICY_R_NOT_RELEASABLE, 0);
		return;
	}
	if (host_held(st, in->now_usec)) {
		hold_until(d, POLICY_R_HOST_DENIED, st->host_retry_at_usec);
		return;
	}
	shrink_or_trim(st, cfg, in, min_u64(release, cap), POLICY_R_HOST_RECLAIM, URGENCY_NORMAL, d);
}

/* Step 7: trim cold cache when calm and nothing else is to be done; false if not now. */
static bool trim_cold(const struct policy_state *st, const struct policy_config *cfg,
		      const struct policy_input *in, const struct policy_eval *ev,
		      struct policy_decision *d)
{
	uint64_t floor = sat_add(ev->protected_cache, cfg->reclaim_min_cache_bytes);
	uint64_t cold = sat_sub(in->file_cache_bytes, floor);
	uint64_t lo = cfg->reclaim_step_bytes / 4, step;

	uint64_t quiet_ref = st->seen_pressure ? st->last_pressure_usec : st->start_usec;

	if (!cfg->reclaim_enabled || cfg->trim_interval_usec == 0 || in->now_usec < st->trim_at_usec)
		return false;
	/* Only a guest calm for a while (and not just started) has cold cache to spare. */
	if (within(in->now_usec, quiet_ref, cfg->calm_hold_usec))
		return false;
	if (cold < lo)
		return false;
	step = min_u64(max_u64(cold / 8, lo), cfg->reclaim_step_bytes);
	decide(d, POLICY_RECLAIM, POLICY_R_TRIM_COLD, URGENCY_LOW);
	d->reclaim_bytes = round_down(step, 64 << 10);
	return true;
}

/* The holds below leave the guest calm: a cold-cache trim may go out instead. */
static bool calm_hold(enum policy_reason r)
{
	return r == POLICY_R_AT_MIN || r == POLICY_R_NO_SURPLUS || r == POLICY_R_STEADY ||
	       r == POLICY_R_NOT_RELEASABLE || r == POLICY_R_GROW_HOLD ||
	       r == POLICY_R_SHRINK_INTERVAL || r == POLICY_R_HOST_DENIED;
}

static void surplus_decide(const struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, const struct policy_eval *ev,
			   struct policy_decision *d)
{
	uint64_t room = round_down(sat_sub(in->current_bytes, in->min_bytes), ev->block);
	uint64_t now = in->now_usec, quiet_ref, release, cap;
	uint32_t level = st->pingpong_level;

	quiet_ref = st->seen_pressure ? st->last_pressure_usec : st->start_usec;
	if (room == 0)
		hold_until(d, POLICY_R_AT_MIN, 0);
	else if (ev->surplus == 0)
		hold_until(d, POLICY_R_NO_SURPLUS, 0);
	else if (ev->surplus < ev->block)
		hold_until(d, POLICY_R_STEADY, 0);
	else if (within(now, quiet_ref, cfg->calm_hold_usec))
		/* Without pressure yet, the first calm hold after start still applies. */
		hold_until(d, st->seen_pressure ? POLICY_R_PRESSURE_RECENT : POLICY_R_STEADY,
			   sat_add(quiet_ref, cfg->calm_hold_usec));
	else if (within(now, quiet_ref, sat_shl(cfg->calm_hold_usec, level)))
		hold_until(d, POLICY_R_PINGPONG_HOLD,
			   sat_add(quiet_ref, sat_shl(cfg->calm_hold_usec, level)));
	else if (st->seen_grow && within(now, st->last_grow_usec, cfg->grow_hold_usec))
		hold_until(d, POLICY_R_GROW_HOLD, sat_add(st->last_grow_usec, cfg->grow_hold_usec));
	else if (st->seen_shrink && within(now, st->last_shrink_usec, cfg->shrink_interval_usec))
		hold_until(d, POLICY_R_SHRINK_INTERVAL,
			   sat_add(st->last_shrink_usec, cfg->shrink_interval_usec));
	else if ((cap = releasable_cap(in, ev->block)) == 0)
		hold_until(d, POLICY_R_NOT_RELEASABLE, 0);
	else if (host_held(st, now))
		hold_until(d, POLICY_R_HOST_DENIED, st->host_retry_at_usec);
	else {
		release = mul_div(ev->surplus, cfg->shrink_fraction_centi >> level, 10000);
		/* One block is the smallest step, and the surplus covers it. */
		release = max_u64(round_down(release, ev->block), ev->block);
		release = min_u64(release, step_cap(cfg, ev->block));
		release = min_u64(min_u64(release, room), cap);
		shrink_or_trim(st, cfg, in, release, POLICY_R_SURPLUS, URGENCY_LOW, d);
	}
}

void policy_shrink_decide(struct policy_state *st, const struct policy_config *cfg,
			  const struct policy_input *in, const struct policy_eval *ev,
			  struct policy_decision *d)
{
	surplus_decide(st, cfg, in, ev, d);
	if (d->action == POLICY_HOLD && calm_hold(d->reason) && !ev->pressure) {
		struct policy_decision hold = *d;

		if (!trim_cold(st, cfg, in, ev, d))
			*d = hold;
	}
}
