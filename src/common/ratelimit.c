/* SPDX-License-Identifier: MIT */
#include "common/ratelimit.h"

void ratelimit_init(struct ratelimit *rl, uint32_t burst, uint64_t interval_usec)
{
	*rl = (struct ratelimit){ .burst = burst, .interval_usec = interval_usec };
}

void ratelimit_set(struct ratelimit *rl, uint32_t burst, uint64_t interval_usec)
{
	rl->burst = burst;
	rl->interval_usec = interval_usec;
	if (rl->tokens > burst)
		rl->tokens = burst;
}

/* Count the tokens earned since refill_usec; the time of a partial token is kept. */
static void refill(struct ratelimit *rl, uint64_t now_usec)
{
	uint64_t add;

	if (!rl->started) {
		rl->started = true;
		rl->tokens = rl->burst;
		rl->refill_usec = now_usec;
		return;
	}
	if (now_usec <= rl->refill_usec)
		return;
	add = (now_usec - rl->refill_usec) / rl->interval_usec;
	if (add >= (uint64_t)(rl->burst - rl->tokens)) {
		/* Full: time spent full earns nothing, the next token counts from now. */
		rl->tokens = rl->burst;
		rl->refill_usec = now_usec;
		return;
	}
	rl->tokens += (uint32_t)add;
	rl->refill_usec += add * rl->interval_usec;
}

bool ratelimit_take(struct ratelimit *rl, uint64_t now_usec)
{
	if (rl->interval_usec == 0)
		return true;
	refill(rl, now_usec);
	if (rl->tokens == 0) {
		rl->suppressed++;
		rl->suppressed_total++;
		return false;
	}
	rl->tokens--;
	return true;
}

void ratelimit_start(struct ratelimit *rl, uint32_t tokens, uint64_t now_usec)
{
	rl->started = true;
	rl->tokens = tokens < rl->burst ? tokens : rl->burst;
	rl->refill_usec = now_usec;
}

uint32_t ratelimit_tokens(struct ratelimit *rl, uint64_t now_usec)
{
	if (rl->interval_usec == 0)
		return rl->burst;
	refill(rl, now_usec);
	return rl->tokens;
}

uint64_t ratelimit_wait_usec(struct ratelimit *rl, uint64_t now_usec)
{
	if (rl->interval_usec == 0)
		return 0;
	refill(rl, now_usec);
	if (rl->tokens > 0)
		return 0;
	if (rl->burst == 0)
		return UINT64_MAX;
	return rl->refill_usec + rl->interval_usec - now_usec;
}

uint64_t ratelimit_take_suppressed(struct ratelimit *rl)
{
	uint64_t n = rl->suppressed;

	rl->suppressed = 0;
	return n;
}
