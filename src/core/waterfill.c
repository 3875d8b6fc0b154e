/* SPDX-License-Identifier: MIT */
#include "core/waterfill.h"

#include <stdbool.h>

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t align_down(uint64_t align, uint64_t v)
{
	return align ? v - v % align : v;
}

/*
 * min + x * w / wsum, saturating, without 128-bit arithmetic; q and rem are
 * x / wsum and x % wsum, the same for every VM (one division less per VM
 * and step of the search counts with thousands of VMs).
 */
static uint64_t fill_at(const struct waterfill *f, uint64_t wsum, uint64_t q, uint64_t rem)
{
	uint64_t v, share;

	/* rem < wsum: rem * weight / wsum < weight, and rem * weight fits (wsum is a sum of weights). */
	if (__builtin_mul_overflow(q, (uint64_t)f->weight, &share) ||
	    __builtin_add_overflow(share, rem * f->weight / wsum, &share) ||
	    __builtin_add_overflow(share, f->min_bytes, &v))
		v = UINT64_MAX;
	return clamp_u64(v, f->lo_bytes, f->hi_bytes);
}

static uint64_t fill_sum(const struct waterfill *f, size_t n, uint64_t wsum, uint64_t x)
{
	uint64_t sum = 0, q = x / wsum, rem = x % wsum;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = fill_at(&f[i], wsum, q, rem);

		sum = sum > UINT64_MAX - v ? UINT64_MAX : sum + v;
	}
	return sum;
}

/* The next whole block of f, within hi. */
static uint64_t next_block(const struct waterfill *f, uint64_t align)
{
	uint64_t next = align_down(align, f->alloc_bytes) + align;

	return next > f->hi_bytes ? f->hi_bytes : next;
}

/*
 * Round the shares down to align_bytes (a share at lo or hi stays as it is),
 * then hand what rounding freed back out in whole blocks: one block per VM
 * per pass, heaviest VM first (then the lower index), so that with
 * thousands of VMs the leftovers do not all land on the first heavy one.
 */
static void fill_align(struct waterfill *f, size_t n, uint64_t align, uint64_t cap)
{
	uint64_t used = 0;
	bool more = true;

	for (size_t i = 0; i < n; i++) {
		uint64_t a = f[i].alloc_bytes;

		if (a > f[i].lo_bytes && a < f[i].hi_bytes)
			f[i].alloc_bytes = align_down(align, a) > f[i].lo_bytes ? align_down(align, a)
									: f[i].lo_bytes;
		used += f[i].alloc_bytes;
	}
	while (align && more) {
		uint32_t w = UINT32_MAX;

		more = false;
		/* Each weight in turn, from the heaviest down. */
		while (w > 0) {
			uint32_t lighter = 0;

			for (size_t i = 0; i < n; i++) {
				uint64_t next = next_block(&f[i], align);

				if (f[i].weight < w && f[i].weight > lighter)
					lighter = f[i].weight;
				if (f[i].weight != w || next <= f[i].alloc_bytes ||
				    used + (next - f[i].alloc_bytes) > cap)
					continue;
				used += next - f[i].alloc_bytes;
				f[i].alloc_bytes = next;
				more = true;
			}
			w = lighter;
		}
	}
}

/* If even the floors exceed cap, everyone gets its floor: callers check. */
void waterfill(struct waterfill *f, size_t n, uint64_t align, uint64_t cap)
{
	uint64_t lo = 0, hi = 0, wsum = 0;

	for (size_t i = 0; i < n; i++)
		wsum += f[i].weight;
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		/* The pool at which this VM reaches hi. */
		uint64_t span = f[i].hi_bytes - f[i].min_bytes;
		uint64_t top = span / f[i].weight > UINT64_MAX / wsum ? UINT64_MAX
				: (span / f[i].weight + 1) * wsum;

		if (top > hi)
			hi = top;
	}
	/* The largest pool whose sum still fits. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2 + (hi - lo) % 2;

		if (fill_sum(f, n, wsum, mid) <= cap)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (size_t i = 0; i < n; i++)
		f[i].alloc_bytes = fill_at(&f[i], wsum, lo / wsum, lo % wsum);
	fill_align(f, n, align, cap);
}
