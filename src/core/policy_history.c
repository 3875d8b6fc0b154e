/* SPDX-License-Identifier: MIT */
/*
 * The policy's short memory of a few series (available memory net of the
 * total, the same for the kernel zones, unmovable memory, refaults) and
 * the trends estimated from it.  Pure, like the rest of the policy; split
 * out of policy.c only to keep each file to one concern.
 */
#include "core/policy.h"
#include "core/policy_history.h"

void policy_history_push(struct policy_state *st, uint64_t window_usec, uint64_t now_usec,
			 const int64_t values[POLICY_SERIES__MAX])
{
	uint32_t newest = (st->hist_head + POLICY_HISTORY - 1) % POLICY_HISTORY;

	/* A clock that went backwards (a restarted trace) voids the history. */
	if (st->hist_len > 0 && now_usec < st->hist_usec[newest])
		st->hist_len = 0;
	st->hist_usec[st->hist_head] = now_usec;
	for (int s = 0; s < POLICY_SERIES__MAX; s++)
		st->hist[s][st->hist_head] = values[s];
	st->hist_head = (st->hist_head + 1) % POLICY_HISTORY;
	if (st->hist_len < POLICY_HISTORY)
		st->hist_len++;
	while (st->hist_len > 1) {
		uint32_t oldest = (st->hist_head + POLICY_HISTORY - st->hist_len) % POLICY_HISTORY;

		if (now_usec - st->hist_usec[oldest] <= window_usec)
			break;
		st->hist_len--;
	}
}

static uint32_t history_index(const struct policy_state *st, uint32_t k)
{
	return (st->hist_head + POLICY_HISTORY - st->hist_len + k) % POLICY_HISTORY;
}

/*
 * The trend must still hold in the newest interval: a step (a burst that
 * has already landed) smears into the least-squares slope for a whole
 * window and would otherwise read as an ongoing fall and buy memory twice.
 * So the slope is limited to the newest interval's slope when that is
 * smaller or of the other sign (then 0).  A steady ramp keeps its slope.
 */
static int64_t history_recent(int64_t slope, int64_t dx_ms, int64_t dy)
{
	int64_t last;

	if (dx_ms <= 0)
		return slope;
	last = dy * 1000 / dx_ms * 1024;
	if ((slope < 0) != (last < 0) || slope == 0 || last == 0)
		return 0;
	if (slope < 0)
		return slope > last ? slope : last;
	return slope < last ? slope : last;
}

/*
 * Least-squares slope in bytes per second.  x is milliseconds (at most
 * 10 min, so < 2^20) and y KiB relative to the newest sample, clamped to
 * 2^36 KiB (64 TiB): 64 products of 2^56 fit an int64_t.
 */
int64_t policy_history_velocity(const struct policy_state *st, enum policy_series s)
{
	const int64_t ylim = (int64_t)1 << 36;
	uint32_t n = st->hist_len, first, k;
	int64_t sum_x = 0, sum_y = 0, mx, my, sxx = 0, sxy = 0, q, r, y0;
	int64_t xs[POLICY_HISTORY], ys[POLICY_HISTORY];

	if (n < 2)
		return 0;
	first = history_index(st, 0);
	y0 = st->hist[s][history_index(st, n - 1)];
	for (k = 0; k < n; k++) {
		uint32_t i = history_index(st, k);
		int64_t y = st->hist[s][i] - y0;

		xs[k] = (int64_t)((st->hist_usec[i] - st->hist_usec[first]) / 1000);
		ys[k] = y > ylim ? ylim : y < -ylim ? -ylim : y;
		sum_x += xs[k];
		sum_y += ys[k];
	}
	mx = sum_x / n;
	my = sum_y / n;
	for (k = 0; k < n; k++) {
		sxx += (xs[k] - mx) * (xs[k] - mx);
		sxy += (xs[k] - mx) * (ys[k] - my);
	}
	if (sxx == 0)
		return 0;
	/* KiB per ms to bytes per second, keeping the remainder's precision. */
	q = sxy / sxx;
	r = sxy % sxx;
	return history_recent((q * 1000 + r * 1000 / sxx) * 1024, xs[n - 1] - xs[n - 2],
			      ys[n - 1] - ys[n - 2]);
}

uint64_t policy_history_rate(const struct policy_state *st, enum policy_series s)
{
	uint32_t first, newest;
	uint64_t dt;
	int64_t dv;

	if (st->hist_len < 2)
		return 0;
	first = history_index(st, 0);
	newest = history_index(st, st->hist_len - 1);
	dt = st->hist_usec[newest] - st->hist_usec[first];
	dv = st->hist[s][newest] - st->hist[s][first];
	if (dt == 0 || dv <= 0)
		return 0;
	/* Counters here grow by far less than 2^44 per window: no overflow. */
	return (uint64_t)dv * 1000000 / dt;
}
