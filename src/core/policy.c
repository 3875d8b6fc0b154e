/* SPDX-License-Identifier: MIT */
/*
 * The policy's facts and signals (steps 1 and 2 of policy.h), its
 * orchestration and memory between evaluations (steps 4, 8, 9, the
 * episode), and the PSI-only reference mode.  The needs and the grow step
 * are in policy_grow.c, shrinking and trimming in policy_shrink.c.
 */
#include <string.h>

#include "core/policy.h"
#include "core/policy_history.h"
#include "core/policy_impl.h"

void policy_init(struct policy_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pending = POLICY_HOLD;
}

static uint64_t counter_delta(uint64_t now, uint64_t prev)
{
	return now > prev ? now - prev : 0;
}

static uint32_t share_centi(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0 : (uint32_t)min_u64(mul_div(part, 10000, whole), 10000);
}

/* Signals from cumulative counters; the first evaluation only primes them. */
static uint32_t counters_update(struct policy_state *st, const struct policy_config *cfg,
				const struct policy_input *in, struct policy_eval *ev)
{
	uint32_t sig = 0;

	if (st->primed) {
		uint64_t elapsed = sat_sub(in->now_usec, st->prev_now_usec);
		uint64_t some = counter_delta(in->psi_some_total_usec, st->prev_psi_some_total_usec);
		uint64_t full = counter_delta(in->psi_full_total_usec, st->prev_psi_full_total_usec);

		if (counter_delta(in->oom_kill, st->prev_oom_kill) > 0)
			sig |= POLICY_SIG_OOM_KILL;
		if (counter_delta(in->allocstall, st->prev_allocstall) > 0)
			sig |= POLICY_SIG_ALLOCSTALL;
		ev->kernel_stalled = counter_delta(in->allocstall_kernel, st->prev_allocstall_kernel) > 0;
		if (counter_delta(in->refault_file, st->prev_refault_file) > cfg->reclaim_refault_limit)
			sig |= POLICY_SIG_REFAULTS;
		if (in->psi_available) {
			ev->stall_centi = share_centi(some, elapsed);
			if (full > 0 && share_centi(full, elapsed) >= cfg->full_emergency_centi)
				sig |= POLICY_SIG_FULL_STALL;
			if (ev->stall_centi >= cfg->calm_stall_centi)
				sig |= POLICY_SIG_SOME_STALL;
		}
	}
	st->primed = true;
	st->prev_now_usec = in->now_usec;
	st->prev_oom_kill = in->oom_kill;
	st->prev_allocstall = in->allocstall;
	st->prev_allocstall_kernel = in->allocstall_kernel;
	st->prev_refault_file = in->refault_file;
	st->prev_psi_some_total_usec = in->psi_some_total_usec;
	st->prev_psi_full_total_usec = in->psi_full_total_usec;
	return sig;
}

/*
 * What the kernel zones could give to a kernel allocation, after
 * si_mem_available(), but without their own cache: reclaimable slab and
 * block-device buffers live nowhere else, so they are the kernel zones'
 * demand (the policy grows for them before they thrash), not a reserve.
 */
static uint64_t kernel_available(const struct policy_input *in)
{
	uint64_t file = sat_sub(in->kernel_file_bytes, in->buffers_bytes);
	uint64_t avail = sat_sub(in->kernel_free_bytes, in->kernel_high_bytes);

	return sat_add(avail, file - min_u64(file / 2, in->kernel_low_bytes));
}

static int64_t kib(uint64_t bytes)
{
	return (int64_t)(bytes >> 10);
}

static void history_update(struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, struct policy_eval *ev)
{
	int64_t v[POLICY_SERIES__MAX];
	uint64_t page = in->page_bytes ? in->page_bytes : 4096;

	v[POLICY_SERIES_NET_AVAIL] = kib(in->mem_available_bytes) - kib(in->mem_total_bytes);
	v[POLICY_SERIES_NET_KERNEL] = kib(ev->k_avail) - kib(in->kernel_managed_bytes);
	v[POLICY_SERIES_UNMOVABLE] = kib(sat_add(in->unmovable_bytes, in->slab_reclaimable_bytes));
	v[POLICY_SERIES_REFAULT] = (int64_t)min_u64(in->refault_file, (uint64_t)INT64_MAX);
	policy_history_push(st, cfg->velocity_window_usec, in->now_usec, v);
	ev->velocity = policy_history_velocity(st, POLICY_SERIES_NET_AVAIL);
	ev->k_velocity = policy_history_velocity(st, POLICY_SERIES_NET_KERNEL);
	ev->u_velocity = policy_history_velocity(st, POLICY_SERIES_UNMOVABLE);
	ev->refault_rate = mul_div(policy_history_rate(st, POLICY_SERIES_REFAULT), page, 1);
}

/* Refaulted cache is demand for cache_protect_usec: the active file cache then stays. */
static uint64_t protected_cache(const struct policy_state *st, const struct policy_config *cfg,
				const struct policy_input *in)
{
	if (!st->seen_refaults || !within(in->now_usec, st->last_refaults_usec, cfg->cache_protect_usec))
		return 0;
	return min_u64(in->active_file_bytes, in->mem_available_bytes);
}

/* Step 1 of policy.h: the facts. */
static void eval_facts(struct policy_state *st, const struct policy_config *cfg,
		       const struct policy_input *in, struct policy_eval *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->block = in->block_bytes ? in->block_bytes : 1;
	ev->mblock = round_up(in->memory_block_bytes ? in->memory_block_bytes : ev->block, ev->block);
	if (ev->mblock == 0)
		ev->mblock = ev->block;
	ev->lead_usec = sat_add(in->plug_latency_usec ? in->plug_latency_usec : cfg->plug_latency_usec,
				cfg->lead_margin_usec);
	ev->avail = in->mem_available_bytes;
	ev->headroom = max_u64(cfg->min_headroom_bytes,
			       mul_div(in->mem_total_bytes, cfg->headroom_ratio_centi, 10000));
	ev->deficit = sat_sub(ev->headroom, ev->avail);

	ev->zones = cfg->zones && in->zones_available;
	ev->k_avail = kernel_available(in);
	ev->k_headroom = max_u64(cfg->kernel_min_headroom_bytes,
				 mul_div(in->kernel_managed_bytes, cfg->kernel_headroom_ratio_centi, 10000));
	ev->k_deficit = sat_sub(ev->k_headroom, ev->k_avail);
	ev->kernel_max = in->max_bytes == UINT64_MAX ? UINT64_MAX :
			 mul_div(in->max_bytes, cfg->kernel_max_ratio_centi, 10000);
	ev->movable_slack = sat_sub(in->movable_present_bytes, in->movable_managed_bytes);

	history_update(st, cfg, in, ev);
	ev->falling_bytes = mul_div(neg_abs(ev->velocity), ev->lead_usec, POLICY_SEC);
	ev->k_falling = mul_div(neg_abs(ev->k_velocity), ev->lead_usec, POLICY_SEC);
}

/* Demand and surplus, once trim_pace() knows whether the cache refaulted. */
static void eval_cache(const struct policy_state *st, const struct policy_config *cfg,
		       const struct policy_input *in, struct policy_eval *ev)
{
	ev->protected_cache = protected_cache(st, cfg, in);
	ev->demand = sat_add(sat_sub(in->mem_total_bytes, ev->avail), ev->protected_cache);
	ev->surplus = sat_sub(ev->avail, sat_add(sat_add(ev->headroom, cfg->shrink_margin_bytes),
						 ev->protected_cache));
	/* Memory use still rising eats the surplus: keep what the trend takes within a calm hold. */
	ev->surplus = sat_sub(ev->surplus, mul_div(neg_abs(ev->velocity), cfg->calm_hold_usec, POLICY_SEC));
}

/* Refaults soon after our own trim are the trim's doing, not a cache too small. */
static bool own_trim_recent(const struct policy_state *st, const struct policy_config *cfg,
			    const struct policy_input *in)
{
	return in->reclaim_busy ||
	       (st->seen_trim && within(in->now_usec, st->last_trim_usec,
					sat_add(cfg->velocity_window_usec, cfg->calm_hold_usec)));
}

/*
 * In the kernel zones, only as long as they stay within twice what it
 * trimmed: slab and block-device cache that comes back faster than that
 * is a working set that does not fit, trim or not (a trim of 32 MiB was
 * followed by 360 MiB of refaults in the unmovable benchmark, and the
 * guest never grew for them).
 */
static bool own_trim_explains_kernel(const struct policy_state *st, const struct policy_config *cfg,
				     const struct policy_input *in)
{
	uint64_t page = in->page_bytes ? in->page_bytes : 4096;
	uint64_t since;

	if (!own_trim_recent(st, cfg, in))
		return false;
	since = mul_div(counter_delta(in->refault_file, st->trim_refault_base), page, 1);
	return since <= sat_shl(st->trim_bytes, 1);
}

/* Slab and block-device buffers, which only the kernel zones hold, are most of the cache. */
static bool kernel_cache_dominant(const struct policy_input *in)
{
	uint64_t theirs = sat_add(in->buffers_bytes, in->slab_reclaimable_bytes);

	return theirs * 2 >= sat_add(in->file_cache_bytes, in->slab_reclaimable_bytes);
}

/* The page cache refaults at the working-set rate and full is full. */
static bool cache_misses(const struct policy_state *st, const struct policy_config *cfg,
			 const struct policy_input *in, const struct policy_eval *ev, bool full)
{
	return full && ev->refault_rate >= cfg->cache_refault_rate_bytes && !own_trim_recent(st, cfg, in);
}

/*
 * The kernel zones' working set does not fit: they are at twice their
 * high watermark or below (kswapd reclaims them), the cache that thrashes
 * can only be theirs (ZONE_MOVABLE has a headroom target free, or slab
 * and buffers are most of the cache), and refaults or stalled kernel
 * allocations say it comes back.  Stalls alone could be a walk that
 * reads everything once: no grow for them.
 */
static bool kernel_cache_misses(const struct policy_state *st, const struct policy_config *cfg,
				const struct policy_input *in, const struct policy_eval *ev)
{
	bool full = in->kernel_free_bytes <= sat_add(in->kernel_high_bytes, in->kernel_high_bytes);
	bool room = sat_sub(in->movable_free_bytes, in->movable_high_bytes) >= ev->headroom;

	if (!ev->zones || !full || !(room || kernel_cache_dominant(in)) ||
	    own_trim_explains_kernel(st, cfg, in))
		return false;
	return ev->refault_rate >= cfg->cache_refault_rate_bytes || ev->kernel_stalled;
}

/* Step 2 of policy.h: the signals; policy_needs() turns them into needs. */
static void eval_signals(struct policy_state *st, const struct policy_config *cfg,
			 const struct policy_input *in, struct policy_eval *ev)
{
	ev->signals = counters_update(st, cfg, in, ev);
	if (in->trigger_events > 0)
		ev->signals |= POLICY_SIG_TRIGGER;
	if (in->psi_available && in->psi_full_avg10 >= cfg->full_emergency_centi)
		ev->signals |= POLICY_SIG_FULL_AVG10;
	if (ev->falling_bytes > sat_sub(ev->avail, cfg->reserve_bytes))
		ev->signals |= POLICY_SIG_FALLING;
	if (ev->velocity < 0 && ev->avail < cfg->reserve_bytes)
		ev->signals |= POLICY_SIG_EXHAUSTING;
	if (ev->deficit > 0)
		ev->signals |= POLICY_SIG_LOW;
	if (neg_abs(ev->velocity) > ev->headroom / 60)
		ev->signals |= POLICY_SIG_DRAINING;
	if (ev->zones && (ev->k_deficit > 0 || ev->k_falling > sat_sub(ev->k_avail, ev->k_headroom / 2)))
		ev->signals |= POLICY_SIG_KERNEL_LOW;
	/* Refaulting cache that is mostly slab and buffers can only grow back in the kernel zones. */
	if (cache_misses(st, cfg, in, ev, in->mem_free_bytes < ev->headroom))
		ev->signals |= ev->zones && kernel_cache_dominant(in) ? POLICY_SIG_KERNEL_CACHE :
									  POLICY_SIG_CACHE_MISS;
	if (kernel_cache_misses(st, cfg, in, ev))
		ev->signals |= POLICY_SIG_KERNEL_CACHE;
	/* Stalls after a grow landed say the steps are too small: escalate this one. */
	ev->escalation = st->escalation;
	if (st->grow_landed && (ev->signals & POLICY_SIG_STALLS) &&
	    ev->escalation < cfg->escalate_max_shift)
		ev->escalation++;
	policy_needs(st, cfg, in, ev);
	ev->pressure = ev->want_grow ||
		       (ev->signals & (POLICY_SIG_STALLS | POLICY_SIG_REFAULTS | POLICY_SIG_DRAINING));
}

bool policy_in_backoff(const struct policy_state *st, uint64_t now)
{
	return backoff_waiting(&st->backoff, now);
}

static void default_decide(struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, const struct policy_eval *ev,
			   struct policy_decision *d)
{
	bool trim_stop = ev->signals & (POLICY_SIG_STALLS | POLICY_SIG_REFAULTS);

	if (ev->pressure) {
		st->seen_pressure = true;
		st->last_pressure_usec = in->now_usec;
	}
	if (ev->want_grow || ev->cant_help)
		policy_grow_decide(st, cfg, in, ev, d);
	else if (in->reclaim_busy && trim_stop)
		decide(d, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING, URGENCY_HIGH);
	else if (in->backend_busy)
		hold_until(d, POLICY_R_BACKEND_BUSY, 0);
	else if (in->reclaim_busy)
		hold_until(d, POLICY_R_RECLAIMING, 0);
	else if (policy_in_backoff(st, in->now_usec))
		hold_until(d, POLICY_R_BACKOFF, st->backoff.retry_at_usec);
	else if (in->host_reclaim_target_bytes != 0 &&
		 in->host_reclaim_target_bytes < in->current_bytes)
		policy_host_decide(st, cfg, in, ev, d);
	else if (ev->signals & POLICY_SIG_STALLS)
		/* Stalls without a shortage: reclaim of cache that is not used again. */
		hold_until(d, POLICY_R_CACHE_TURNOVER, 0);
	else
		policy_shrink_decide(st, cfg, in, ev, d);
}

static void psionly_decide(struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, const struct policy_eval *ev,
			   struct policy_decision *d)
{
	uint64_t step = round_up(cfg->psionly_step_bytes, ev->block);
	uint64_t room, quiet_ref;

	if (in->trigger_events > 0) {
		st->seen_trigger = true;
		st->last_trigger_usec = in->now_usec;
	}
	quiet_ref = st->seen_trigger ? st->last_trigger_usec : st->start_usec;
	if (in->trigger_events == 0 && within(in->now_usec, quiet_ref, cfg->psionly_quiet_usec)) {
		hold_until(d, POLICY_R_STEADY, sat_add(quiet_ref, cfg->psionly_quiet_usec));
		return;
	}
	if (in->backend_busy) {
		hold_until(d, POLICY_R_BACKEND_BUSY, 0);
		return;
	}
	if (policy_in_backoff(st, in->now_usec)) {
		hold_until(d, POLICY_R_BACKOFF, st->backoff.retry_at_usec);
		return;
	}
	if (in->trigger_events > 0) {
		room = round_down(sat_sub(in->max_bytes, in->current_bytes), ev->block);
		if (room == 0) {
			decide(d, POLICY_HOLD, POLICY_R_AT_MAX, URGENCY_HIGH);
			return;
		}
		decide(d, POLICY_GROW, POLICY_R_PSI_EVENT, URGENCY_HIGH);
		d->target_bytes = in->current_bytes + min_u64(step, room);
		return;
	}
	room = round_down(sat_sub(in->current_bytes, in->min_bytes), ev->block);
	if (room == 0) {
		hold_until(d, POLICY_R_AT_MIN, 0);
		return;
	}
	decide(d, POLICY_SHRINK, POLICY_R_PSI_QUIET, URGENCY_LOW);
	d->target_bytes = in->current_bytes - min_u64(step, room);
}

/* Ping-pong: a grow soon after a shrink raises the level (step 8). */
static void record_pingpong(struct policy_state *st, const struct policy_config *cfg, uint64_t now)
{
	if (st->pingpong_armed && within(now, st->last_shrink_usec, cfg->pingpong_window_usec) &&
	    st->pingpong_level < cfg->pingpong_max_level) {
		st->pingpong_level++;
		st->pingpong_decay_usec = now;
	}
	st->pingpong_armed = false;
}

/* What a decision changes in the state, after it is made. */
static void record(struct policy_state *st, const struct policy_config *cfg,
		   const struct policy_eval *ev, const struct policy_decision *d)
{
	uint64_t now = d->now_usec;
	bool dflt = cfg->mode == POLICY_MODE_DEFAULT;

	if (dflt && !ev->want_grow)
		st->escalation = 0;
	switch (d->action) {
	case POLICY_GROW:
		if (dflt)
			record_pingpong(st, cfg, now);
		st->seen_grow = true;
		st->last_grow_usec = now;
		if (dflt)
			st->escalation = ev->escalation;
		st->grow_landed = false;
		st->pending_urgency = d->urgency;
		if (d->reason == POLICY_R_CACHE_REFAULTS) {
			st->seen_refaults = true;
			st->last_refaults_usec = now;
		}
		st->pending = POLICY_GROW;
		break;
	case POLICY_SHRINK:
		st->seen_shrink = true;
		st->last_shrink_usec = now;
		st->pingpong_armed = true;
		st->trimmed = false;
		st->pending = POLICY_SHRINK;
		break;
	case POLICY_RECLAIM:
		st->seen_trim = true;
		st->last_trim_usec = now;
		st->trim_bytes = d->reclaim_bytes;
		st->trim_refault_base = st->prev_refault_file; /* this evaluation's sample */
		if (d->reason == POLICY_R_TRIM_COLD) {
			st->trim_watch = true;
			st->trim_at_usec = sat_add(now, st->trim_interval_usec);
		} else {
			st->trimmed = true;
		}
		break;
	case POLICY_RECLAIM_STOP:
		/*
		 * A trim stopped by pressure reached memory in use: what we
		 * were about to give back is wanted, as in ping-pong.  The
		 * next attempt trims (and probes) again.
		 */
		if (st->trimmed && !ev->want_grow && st->pingpong_level < cfg->pingpong_max_level) {
			st->pingpong_level++;
			st->pingpong_decay_usec = now;
		}
		st->trimmed = false;
		break;
	default:
		break;
	}
}

/* Proactive trim pacing (step 7): refaults after a step double the interval. */
static void trim_pace(struct policy_state *st, const struct policy_config *cfg,
		      const struct policy_input *in, const struct policy_eval *ev)
{
	if (st->trim_interval_usec == 0)
		st->trim_interval_usec = cfg->trim_interval_usec;
	if (in->reclaim_busy) {
		st->seen_trim = true;
		st->last_trim_usec = in->now_usec;
	}
	if (ev->refault_rate >= cfg->cache_refault_rate_bytes || (ev->signals & POLICY_SIG_REFAULTS)) {
		/* The cache that refaults is a working set: protect it. */
		st->seen_refaults = true;
		st->last_refaults_usec = in->now_usec;
		if (st->trim_watch) {
			/*
			 * The trim reached it.  A working set used in cycles
			 * (a build, a scan every few seconds) refaults only in
			 * its next cycle: a pause of a few seconds would trim
			 * again in every gap, so the first pause is long.
			 */
			st->trim_interval_usec = min_u64(max_u64(sat_shl(st->trim_interval_usec, 1),
								 cfg->trim_backoff_min_usec),
							 cfg->trim_backoff_max_usec);
			st->trim_watch = false;
		}
		/* No trim while it still refaults: the pause runs from the last refault. */
		if (st->seen_trim)
			st->trim_at_usec = max_u64(st->trim_at_usec,
						   sat_add(in->now_usec, st->trim_interval_usec));
	} else if (st->trim_watch && in->now_usec >= st->trim_at_usec) {
		st->trim_interval_usec = max_u64(st->trim_interval_usec / 2, cfg->trim_interval_usec);
		st->trim_watch = false;
	}
}

static void pingpong_decay(struct policy_state *st, const struct policy_config *cfg, uint64_t now)
{
	uint64_t quiet = sat_shl(cfg->pingpong_window_usec, 2);

	if (st->pingpong_level > 0 && !within(now, st->pingpong_decay_usec, quiet)) {
		st->pingpong_level--;
		st->pingpong_decay_usec = now;
	}
}

/* An episode runs from a grow after calm until calm again; see policy.h. */
static void episode_update(struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, const struct policy_eval *ev,
			   const struct policy_decision *d)
{
	if (!st->episode && d->action == POLICY_GROW) {
		st->episode = true;
		st->episode_peak_total = 0;
		st->episode_peak_demand = 0;
	}
	if (!st->episode)
		return;
	st->episode_peak_total = max_u64(st->episode_peak_total, in->mem_total_bytes);
	st->episode_peak_demand = max_u64(st->episode_peak_demand, ev->demand);
	st->episode_headroom = ev->headroom;
	if (!ev->pressure && !in->backend_busy &&
	    !within(in->now_usec, st->last_pressure_usec, cfg->calm_hold_usec)) {
		st->overshoot_bytes = sat_sub(st->episode_peak_total,
					      sat_add(st->episode_peak_demand, st->episode_headroom));
		st->episode = false;
	}
}

static void fill_numbers(const struct policy_state *st, const struct policy_input *in,
			 const struct policy_eval *ev, struct policy_decision *d)
{
	d->mem_total_bytes = in->mem_total_bytes;
	d->available_bytes = ev->avail;
	d->headroom_target_bytes = ev->headroom;
	d->velocity_bytes_per_sec = ev->velocity;
	d->deficit_bytes = ev->deficit;
	d->surplus_bytes = ev->surplus;
	d->demand_bytes = ev->demand;
	d->protected_cache_bytes = ev->protected_cache;
	d->shortage = ev->shortage;
	d->kernel_available_bytes = ev->k_avail;
	d->kernel_headroom_bytes = ev->k_headroom;
	d->kernel_deficit_bytes = ev->k_deficit;
	d->kernel_bytes = in->kernel_managed_bytes;
	d->kernel_max_bytes = ev->kernel_max;
	d->movable_free_bytes = in->movable_free_bytes;
	d->unmovable_velocity_bytes_per_sec = ev->u_velocity;
	d->refault_rate_bytes_per_sec = ev->refault_rate;
	d->need_kernel_bytes = ev->need_kernel;
	d->need_movable_bytes = ev->need_movable;
	d->psi_some_avg10 = in->psi_available ? in->psi_some_avg10 : 0;
	d->psi_full_avg10 = in->psi_available ? in->psi_full_avg10 : 0;
	d->stall_centi = ev->stall_centi;
	d->last_pressure_usec = st->seen_pressure ? st->last_pressure_usec : 0;
	d->pingpong_level = st->pingpong_level;
	d->signals = ev->signals;
	d->min_bytes = in->min_bytes;
	d->max_bytes = in->max_bytes;
	d->releasable_bytes = in->releasable_bytes;
	d->host_target_bytes = in->host_reclaim_target_bytes;
	d->failures = st->backoff.failures;
	d->overshoot_bytes = st->overshoot_bytes;
}

void policy_evaluate(struct policy_state *st, const struct policy_config *cfg,
		     const struct policy_input *in, struct policy_decision *ret)
{
	struct policy_eval ev;
	struct policy_decision d;

	if (!st->primed)
		st->start_usec = in->now_usec;
	eval_facts(st, cfg, in, &ev);
	eval_signals(st, cfg, in, &ev);
	pingpong_decay(st, cfg, in->now_usec);
	if (cfg->mode == POLICY_MODE_DEFAULT)
		trim_pace(st, cfg, in, &ev);
	eval_cache(st, cfg, in, &ev);

	memset(&d, 0, sizeof(d));
	d.now_usec = in->now_usec;
	d.current_bytes = in->current_bytes;
	d.target_bytes = in->current_bytes;
	d.escalation = ev.escalation;

	if (cfg->mode == POLICY_MODE_PSI_ONLY)
		psionly_decide(st, cfg, in, &ev, &d);
	else
		default_decide(st, cfg, in, &ev, &d);
	record(st, cfg, &ev, &d);
	if (cfg->mode == POLICY_MODE_DEFAULT)
		episode_update(st, cfg, in, &ev, &d);
	fill_numbers(st, in, &ev, &d);
	*ret = d;
}

void policy_backend_done(struct policy_state *st, const struct policy_config *cfg,
			 uint64_t now_usec, int status, uint64_t retry_after_usec,
			 uint64_t current_bytes)
{
	(void)current_bytes;
	if (status < 0 && retry_after_usec > 0) {
		/* The host holds this direction for a while: wait that long, no failure. */
		st->host_hold = true;
		st->host_hold_dir = st->pending;
		st->host_hold_urgency = st->pending == POLICY_GROW ? st->pending_urgency : URGENCY_CRITICAL;
		st->host_retry_at_usec = sat_add(now_usec, retry_after_usec);
		if (st->pending == POLICY_SHRINK)
			st->pingpong_armed = false;
	} else if (status < 0) {
		backoff_set_limits(&st->backoff, cfg->backoff_min_usec, cfg->backoff_max_usec);
		(void)backoff_failed(&st->backoff, now_usec);
		/* A failed shrink released nothing a grow could answer. */
		if (st->pending == POLICY_SHRINK)
			st->pingpong_armed = false;
	} else {
		backoff_succeeded(&st->backoff);
		st->host_hold = false;
		/* The hold clocks run from when the change took effect. */
		if (st->pending == POLICY_GROW) {
			st->last_grow_usec = now_usec;
			st->grow_landed = true;
		} else if (st->pending == POLICY_SHRINK) {
			st->last_shrink_usec = now_usec;
		}
	}
	st->pending = POLICY_HOLD;
}
