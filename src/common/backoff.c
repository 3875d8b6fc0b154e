/* SPDX-License-Identifier: MIT */
#include "common/backoff.h"

void backoff_init(struct backoff *b, uint64_t min_usec, uint64_t max_usec)
{
	b->failures = 0;
	b->retry_at_usec = 0;
	backoff_set_limits(b, min_usec, max_usec);
}

void backoff_set_limits(struct backoff *b, uint64_t min_usec, uint64_t max_usec)
{
	b->min_usec = min_usec;
	b->max_usec = max_usec < min_usec ? min_usec : max_usec;
}

/* min << n, at most max, without overflowing on the way there. */
static uint64_t delay_after(const struct backoff *b, uint32_t n)
{
	uint64_t d = b->min_usec;

	/* At most 64 doublings reach any max; a zero delay stays zero. */
	while (n-- > 0 && d > 0 && d < b->max_usec)
		d = d > b->max_usec / 2 ? b->max_usec : d * 2;
	return d < b->max_usec ? d : b->max_usec;
}

uint64_t backoff_next_usec(const struct backoff *b)
{
	return delay_after(b, b->failures);
}

uint64_t backoff_failed(struct backoff *b, uint64_t now_usec)
{
	uint64_t d = backoff_next_usec(b);

	if (b->failures < UINT32_MAX)
		b->failures++;
	b->retry_at_usec = now_usec > UINT64_MAX - d ? UINT64_MAX : now_usec + d;
	return d;
}

void backoff_succeeded(struct backoff *b)
{
	b->failures = 0;
	b->retry_at_usec = 0;
}

bool backoff_waiting(const struct backoff *b, uint64_t now_usec)
{
	return b->failures > 0 && now_usec < b->retry_at_usec;
}
