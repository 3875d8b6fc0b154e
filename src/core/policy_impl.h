/* SPDX-License-Identifier: MIT */
#ifndef VMRD_POLICY_IMPL_H
#define VMRD_POLICY_IMPL_H

/*
 * Internal to the policy: the facts of one evaluation and the arithmetic
 * the policy's files share (policy.c: facts, signals and orchestration;
 * policy_grow.c: needs and grow steps; policy_shrink.c: shrink and trim).
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/policy.h"

#define POLICY_SEC 1000000ull

/* The facts of one evaluation, computed once and shared by the branches. */
struct policy_eval {
	uint64_t block;          /* resize granularity */
	uint64_t mblock;         /* zone placement granularity, a multiple of block */
	uint64_t lead_usec;      /* plug latency + margin */
	uint64_t headroom;
	uint64_t avail;
	uint64_t deficit;
	uint64_t surplus;
	uint64_t protected_cache;
	uint64_t demand;
	uint64_t falling_bytes;  /* how far MemAvailable drops within the lead time */
	int64_t velocity;

	bool zones;              /* zone-aware this evaluation */
	uint64_t k_avail;
	uint64_t k_headroom;
	uint64_t k_deficit;
	uint64_t k_falling;
	int64_t k_velocity;
	int64_t u_velocity;
	uint64_t kernel_max;
	uint64_t movable_slack;  /* unplugged parts of online ZONE_MOVABLE blocks */

	uint64_t refault_rate;   /* bytes per second */
	uint32_t stall_centi;    /* PSI some share since the previous evaluation */
	bool kernel_stalled;     /* an allocation for the kernel zones stalled since then */
	uint32_t signals;
	uint32_t shortage;
	uint32_t escalation;     /* the shift for this evaluation's trend part */

	uint64_t need_global;
	uint64_t need_kernel;
	uint64_t need_cache;
	uint64_t need_movable;   /* max(global, cache) - kernel */

	bool pressure;           /* anything that makes the guest not calm */
	bool want_grow;
	enum policy_cant_help cant_help; /* a kernel need growth cannot serve, and nothing else */
	enum policy_reason grow_reason;
	enum urgency grow_urgency;
};

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static inline uint64_t sat_shl(uint64_t a, uint32_t shift)
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
static inline uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t q = a / c, r = a % c;

	if (q != 0 && b > UINT64_MAX / q)
		return UINT64_MAX;
	if (r != 0 && b > UINT64_MAX / r)
		return UINT64_MAX;
	return sat_add(q * b, r * b / c);
}

static inline uint64_t round_down(uint64_t v, uint64_t block)
{
	return v - v % block;
}

static inline uint64_t round_up(uint64_t v, uint64_t block)
{
	uint64_t r = v % block;

	if (r == 0)
		return v;
	if (v > UINT64_MAX - (block - r))
		return v - r;
	return v + (block - r);
}

/* |v| of a negative velocity, without overflow at INT64_MIN. */
static inline uint64_t neg_abs(int64_t v)
{
	return v < 0 ? (uint64_t)(-(v + 1)) + 1 : 0;
}

/* True while now lies before since + span; saturates instead of wrapping. */
static inline bool within(uint64_t now, uint64_t since, uint64_t span)
{
	return now < sat_add(since, span);
}

static inline void decide(struct policy_decision *d, enum policy_action action,
			  enum policy_reason reason, enum urgency urgency)
{
	d->action = action;
	d->reason = reason;
	d->urgency = urgency;
}

static inline void hold_until(struct policy_decision *d, enum policy_reason reason, uint64_t until)
{
	decide(d, POLICY_HOLD, reason, URGENCY_LOW);
	d->hold_until_usec = until;
}

/* policy_grow.c */
void policy_needs(const struct policy_state *st, const struct policy_config *cfg,
		  const struct policy_input *in, struct policy_eval *ev);
void policy_grow_decide(struct policy_state *st, const struct policy_config *cfg,
			const struct policy_input *in, const struct policy_eval *ev,
			struct policy_decision *d);

/* policy_shrink.c */
void policy_shrink_decide(struct policy_state *st, const struct policy_config *cfg,
			  const struct policy_input *in, const struct policy_eval *ev,
			  struct policy_decision *d);
void policy_host_decide(const struct policy_state *st, const struct policy_config *cfg,
			const struct policy_input *in, const struct policy_eval *ev,
			struct policy_decision *d);

/* policy.c */
bool policy_in_backoff(const struct policy_state *st, uint64_t now);

#endif
