/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "core/policy.h"
#include "core/policy_history.h"
#include "core/urgency.h"

#define SEC 1000000ull

/* The facts of one evaluation, computed once and shared by the branches. */
struct policy_eval {
	uint64_t block;
	uint64_t headroom;
	uint64_t avail;
	uint64_t deficit;
	uint64_t surplus;
	uint64_t falling_bytes; /* how far MemAvailable drops within the lead time */
	int64_t velocity;
	uint32_t signals;
	bool want_grow;
	enum policy_reason grow_reason;
	uint32_t grow_urgency;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t sat_shl(uint64_t a, uint32_t shift)
{
	if (a == 0)
		return 0;
	if (shift >= 64 || a > (UINT64_MAX >> shift))
		return UINT64_MAX;
	return a << shift;
}

/*
 * a * b / c without overflow for the small divisors used here (percentages,
 * microseconds per second); saturates when the true result does not fit.
 */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t q = a / c, r = a % c;

	if (q != 0 && b > UINT64_MAX / q)
		return UINT64_MAX;
	if (r != 0 && b > UINT64_MAX / r)
		return UINT64_MAX;
	return sat_add(q * b, r * b / c);
}

static uint64_t round_down(uint64_t v, uint64_t block)
{
	return v - v % block;
}

static uint64_t round_up(uint64_t v, uint64_t block)
{
	uint64_t r = v % block;

	if (r == 0)
		return v;
	if (v > UINT64_MAX - (block - r))
		return v - r;
	return v + (block - r);
}

/* True while now lies before since + span; saturates instead of wrapping. */
static bool within(uint64_t now, uint64_t since, uint64_t span)
{
	return now < sat_add(since, span);
}

void policy_init(struct policy_state *st)
{
	memset(st, 0, sizeof(*st));
	st->pending = POLICY_HOLD;
}

static uint64_t counter_delta(uint64_t now, uint64_t prev)
{
	return now > prev ? now - prev : 0;
}

/* Signals from cumulative counters; the first evaluation only primes them. */
static uint32_t counters_update(struct policy_state *st, const struct policy_config *cfg,
				const struct policy_input *in)
{
	uint32_t sig = 0;

	if (st->primed) {
		uint64_t elapsed = sat_sub(in->now_usec, st->prev_now_usec);
		uint64_t full = counter_delta(in->psi_full_total_usec, st->prev_psi_full_total_usec);

		if (counter_delta(in->oom_kill, st->prev_oom_kill) > 0)
			sig |= POLICY_SIG_OOM_KILL;
		if (counter_delta(in->allocstall, st->prev_allocstall) > 0)
			sig |= POLICY_SIG_ALLOCSTALL;
		if (counter_delta(in->refault_file, st->prev_refault_file) > cfg->reclaim_refault_limit)
			sig |= POLICY_SIG_REFAULTS;
		if (in->psi_available && elapsed > 0 && full > 0 &&
		    mul_div(full, 10000, elapsed) >= cfg->full_emergency_centi)
			sig |= POLICY_SIG_FULL_STALL;
	}
	st->primed = true;
	st->prev_now_usec = in->now_usec;
	st->prev_oom_kill = in->oom_kill;
	st->prev_allocstall = in->allocstall;
	st->prev_refault_file = in->refault_file;
	st->prev_psi_full_total_usec = in->psi_full_total_usec;
	return sig;
}

static void eval_prepare(struct policy_state *st, const struct policy_config *cfg,
			 const struct policy_input *in, struct policy_eval *ev)
{
	uint64_t lead = sat_add(cfg->plug_latency_usec, cfg->lead_margin_usec);

	memset(ev, 0, sizeof(*ev));
	ev->block = in->block_bytes ? in->block_bytes : 1;
	ev->avail = in->mem_available_bytes;
	ev->headroom = max_u64(cfg->min_headroom_bytes,
			       mul_div(in->mem_total_bytes, cfg->headroom_ratio_centi, 10000));
	ev->deficit = sat_sub(ev->headroom, ev->avail);
	ev->surplus = sat_sub(ev->avail, sat_add(ev->headroom, cfg->shrink_margin_bytes));

	policy_history_push(st, cfg->velocity_window_usec, in->now_usec, in->mem_available_bytes,
			    in->mem_total_bytes);
	ev->velocity = policy_history_velocity(st);
	if (ev->velocity < 0)
		ev->falling_bytes = mul_div((uint64_t)(-(ev->velocity + 1)) + 1, lead, SEC);

	ev->signals = counters_update(st, cfg, in);
	if (in->trigger_events > 0)
		ev->signals |= POLICY_SIG_TRIGGER;
	if (in->psi_available) {
		if (in->psi_full_avg10 >= cfg->full_emergency_centi)
			ev->signals |= POLICY_SIG_FULL_AVG10;
		if (in->psi_some_avg10 >= cfg->calm_some_avg10_centi ||
		    in->psi_some_avg60 >= cfg->calm_some_avg60_centi)
			ev->signals |= POLICY_SIG_SOME_HIGH;
	}
	if (ev->velocity < 0 && ev->falling_bytes > sat_sub(ev->avail, cfg->reserve_bytes))
		ev->signals |= POLICY_SIG_FALLING;
	if (ev->deficit > 0)
		ev->signals |= POLICY_SIG_LOW;

	ev->want_grow = true;
	/*
	 * Direct reclaim while MemAvailable is above the headroom target is
	 * page cache turning over (a guest reading files does it all the
	 * time), not a shortage: only with low headroom is an allocation
	 * stall an emergency.  Otherwise streaming reads grow a guest to its
	 * maximum for cache, the very footprint vmrd exists to give back.
	 */
	if ((ev->signals & (POLICY_SIG_FULL_AVG10 | POLICY_SIG_FULL_STALL | POLICY_SIG_OOM_KILL)) ||
	    (ev->signals & POLICY_SIG_ALLOCSTALL && ev->signals & POLICY_SIG_LOW)) {
		ev->grow_reason = POLICY_R_EMERGENCY;
		ev->grow_urgency = URGENCY_CRITICAL;
	} else if (ev->signals & POLICY_SIG_TRIGGER) {
		ev->grow_reason = POLICY_R_PSI_TRIGGER;
		ev->grow_urgency = URGENCY_HIGH;
	} else if (ev->signals & POLICY_SIG_FALLING) {
		ev->grow_reason = POLICY_R_FALLING_FAST;
		ev->grow_urgency = URGENCY_HIGH;
	} else if (ev->signals & POLICY_SIG_LOW) {
		ev->grow_reason = POLICY_R_LOW_HEADROOM;
		ev->grow_urgency = URGENCY_NORMAL;
	} else {
		ev->want_grow = false;
		ev->grow_reason = POLICY_R_STEADY;
		ev->grow_urgency = URGENCY_LOW;
	}
}

static void decide(struct policy_decision *d, enum policy_action action,
		   enum policy_reason reason, uint32_t urgency)
{
	d->action = action;
	d->reason = reason;
	d->urgency = urgency;
}

static void hold_until(struct policy_decision *d, enum policy_reason reason, uint64_t until)
{
	decide(d, POLICY_HOLD, reason, URGENCY_LOW);
	d->hold_until_usec = until;
}

static bool in_backoff(const struct policy_state *st, uint64_t now)
{
	return st->failures > 0 && now < st->retry_at_usec;
}

/* The grow step; room is how far max_bytes allows, in whole blocks (> 0). */
static uint64_t grow_step(const struct policy_state *st, const struct policy_config *cfg,
			  const struct policy_eval *ev, uint64_t room)
{
	uint64_t step = sat_add(ev->deficit, ev->falling_bytes);
	uint64_t floor = cfg->grow_step_min_bytes;

	if (ev->grow_reason == POLICY_R_EMERGENCY)
		floor = max_u64(floor, cfg->emergency_step_bytes);
	step = max_u64(step, floor);
	step = sat_shl(step, st->escalation);
	step = min_u64(step, cfg->grow_step_max_bytes);
	step = round_up(step, ev->block);
	if (cfg->memmap_overhead_centi > 0) {
		uint64_t payable = ev->avail;
		uint64_t cap = round_down(mul_div(payable, 10000, cfg->memmap_overhead_centi), ev->block);

		step = min_u64(step, max_u64(cap, ev->block));
	}
	return min_u64(step, room);
}

static void grow_decide(struct policy_state *st, const struct policy_config *cfg,
			const struct policy_input *in, const struct policy_eval *ev,
			struct policy_decision *d)
{
	uint64_t room = round_down(sat_sub(in->max_bytes, in->current_bytes), ev->block);
	bool backoff = in_backoff(st, in->now_usec);

	if (in->reclaim_busy && (in->backend_busy || backoff || room == 0)) {
		/* The grow that would stop the trim cannot go out: stop it explicitly. */
		decide(d, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING, ev->grow_urgency);
		return;
	}
	if (in->backend_busy) {
		decide(d, POLICY_HOLD, POLICY_R_BACKEND_BUSY, ev->grow_urgency);
		return;
	}
	if (backoff) {
		decide(d, POLICY_HOLD, POLICY_R_BACKOFF, ev->grow_urgency);
		d->hold_until_usec = st->retry_at_usec;
		return;
	}
	if (room == 0) {
		decide(d, POLICY_HOLD, POLICY_R_AT_MAX, ev->grow_urgency);
		return;
	}
	decide(d, POLICY_GROW, ev->grow_reason, ev->grow_urgency);
	d->target_bytes = in->current_bytes + grow_step(st, cfg, ev, room);
	d->escalation = st->escalation;
}

/*
 * Shrink by release, or first trim page cache when free memory cannot
 * take the pages that offlining migrates; see the header.
 */
static void shrink_or_trim(const struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, uint64_t release,
			   enum policy_reason reason, uint32_t urgency, struct policy_decision *d)
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

/* What releasable_bytes allows, in whole blocks; UINT64_MAX when unknown. */
static uint64_t releasable_cap(const struct policy_input *in, uint64_t block)
{
	if (in->releasable_bytes == UINT64_MAX)
		return UINT64_MAX;
	return round_down(in->releasable_bytes, block);
}

static uint64_t max_blocks_bytes(const struct policy_config *cfg, uint64_t block)
{
	if (block > UINT64_MAX / cfg->shrink_max_blocks)
		return UINT64_MAX;
	return block * cfg->shrink_max_blocks;
}

static void host_decide(const struct policy_state *st, const struct policy_config *cfg,
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
	release = min_u64(sat_sub(in->current_bytes, goal), max_blocks_bytes(cfg, ev->block));
	release = round_down(release, ev->block);
	if (release == 0) {
		hold_until(d, POLICY_R_HOST_RECLAIM_UNSAFE, 0);
		return;
	}
	cap = releasable_cap(in, ev->block);
	if (cap == 0) {
		hold_until(d, POLICY_R_NOT_RELEASABLE, 0);
		return;
	}
	shrink_or_trim(st, cfg, in, min_u64(release, cap), POLICY_R_HOST_RECLAIM,
		       URGENCY_NORMAL, d);
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
	else {
		release = mul_div(ev->surplus, cfg->shrink_fraction_centi >> level, 10000);
		/* One block is the smallest step, and the surplus covers it. */
		release = max_u64(round_down(release, ev->block), ev->block);
		release = min_u64(release, round_down(max_blocks_bytes(cfg, ev->block), ev->block));
		release = min_u64(min_u64(release, room), cap);
		shrink_or_trim(st, cfg, in, release, POLICY_R_SURPLUS, URGENCY_LOW, d);
	}
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
	if (in_backoff(st, in->now_usec)) {
		hold_until(d, POLICY_R_BACKOFF, st->retry_at_usec);
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

static void default_decide(struct policy_state *st, const struct policy_config *cfg,
			   const struct policy_input *in, const struct policy_eval *ev,
			   struct policy_decision *d)
{
	if (ev->signals & (POLICY_SIG_SOME_HIGH | POLICY_SIG_REFAULTS) || ev->want_grow) {
		st->seen_pressure = true;
		st->last_pressure_usec = in->now_usec;
	}
	if (ev->want_grow)
		grow_decide(st, cfg, in, ev, d);
	else if (in->reclaim_busy && (ev->signals & (POLICY_SIG_SOME_HIGH | POLICY_SIG_REFAULTS)))
		decide(d, POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING, URGENCY_HIGH);
	else if (in->backend_busy)
		hold_until(d, POLICY_R_BACKEND_BUSY, 0);
	else if (in->reclaim_busy)
		hold_until(d, POLICY_R_RECLAIMING, 0);
	else if (in_backoff(st, in->now_usec))
		hold_until(d, POLICY_R_BACKOFF, st->retry_at_usec);
	else if (in->host_reclaim_target_bytes != 0 &&
		 in->host_reclaim_target_bytes < in->current_bytes)
		host_decide(st, cfg, in, ev, d);
	else
		surplus_decide(st, cfg, in, ev, d);
}

/* What a decision changes in the state, after it is made. */
static void record(struct policy_state *st, const struct policy_config *cfg,
		   const struct policy_eval *ev, const struct policy_decision *d)
{
	uint64_t now = d->now_usec;

	if (cfg->mode == POLICY_MODE_DEFAULT && !ev->want_grow)
		st->escalation = 0;
	switch (d->action) {
	case POLICY_GROW:
		if (cfg->mode == POLICY_MODE_DEFAULT && st->pingpong_armed &&
		    within(now, st->last_shrink_usec, cfg->pingpong_window_usec) &&
		    st->pingpong_level < cfg->pingpong_max_level) {
			st->pingpong_level++;
			st->pingpong_decay_usec = now;
		}
		st->pingpong_armed = false;
		st->seen_grow = true;
		st->last_grow_usec = now;
		if (cfg->mode == POLICY_MODE_DEFAULT && st->escalation < cfg->escalate_max_shift)
			st->escalation++;
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
		st->trimmed = true;
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

static void pingpong_decay(struct policy_state *st, const struct policy_config *cfg, uint64_t now)
{
	uint64_t quiet = sat_shl(cfg->pingpong_window_usec, 2);

	if (st->pingpong_level > 0 && !within(now, st->pingpong_decay_usec, quiet)) {
		st->pingpong_level--;
		st->pingpong_decay_usec = now;
	}
}

void policy_evaluate(struct policy_state *st, const struct policy_config *cfg,
		     const struct policy_input *in, struct policy_decision *ret)
{
	struct policy_eval ev;
	struct policy_decision d;

	if (!st->primed)
		st->start_usec = in->now_usec;
	eval_prepare(st, cfg, in, &ev);
	pingpong_decay(st, cfg, in->now_usec);

	memset(&d, 0, sizeof(d));
	d.now_usec = in->now_usec;
	d.current_bytes = in->current_bytes;
	d.target_bytes = in->current_bytes;
	d.escalation = st->escalation;

	if (cfg->mode == POLICY_MODE_PSI_ONLY)
		psionly_decide(st, cfg, in, &ev, &d);
	else
		default_decide(st, cfg, in, &ev, &d);
	record(st, cfg, &ev, &d);

	d.mem_total_bytes = in->mem_total_bytes;
	d.available_bytes = ev.avail;
	d.headroom_target_bytes = ev.headroom;
	d.velocity_bytes_per_sec = ev.velocity;
	d.deficit_bytes = ev.deficit;
	d.surplus_bytes = ev.surplus;
	d.psi_some_avg10 = in->psi_available ? in->psi_some_avg10 : 0;
	d.psi_full_avg10 = in->psi_available ? in->psi_full_avg10 : 0;
	d.last_pressure_usec = st->seen_pressure ? st->last_pressure_usec : 0;
	d.pingpong_level = st->pingpong_level;
	d.signals = ev.signals;
	d.min_bytes = in->min_bytes;
	d.max_bytes = in->max_bytes;
	d.host_target_bytes = in->host_reclaim_target_bytes;
	d.failures = st->failures;
	*ret = d;
}

void policy_backend_done(struct policy_state *st, const struct policy_config *cfg,
			 uint64_t now_usec, int status, uint64_t current_bytes)
{
	if (status < 0) {
		if (st->failures < 64)
			st->failures++;
		st->retry_at_usec = sat_add(now_usec, min_u64(sat_shl(cfg->backoff_min_usec,
								     st->failures - 1),
							     cfg->backoff_max_usec));
		/* A failed shrink released nothing a grow could answer. */
		if (st->pending == POLICY_SHRINK)
			st->pingpong_armed = false;
	} else {
		st->failures = 0;
		st->retry_at_usec = 0;
		/* The hold clocks run from when the change took effect. */
		if (st->pending == POLICY_GROW)
			st->last_grow_usec = now_usec;
		else if (st->pending == POLICY_SHRINK)
			st->last_shrink_usec = now_usec;
	}
	st->pending = POLICY_HOLD;
}
