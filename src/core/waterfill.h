/* SPDX-License-Identifier: MIT */
#ifndef VMRD_WATERFILL_H
#define VMRD_WATERFILL_H

/*
 * Weighted max-min fairness by water-filling.  The pool x (bytes above the
 * mins) is spread as min + x * weight / sum_of_weights, each VM never below
 * lo (what it must keep) nor above hi (what it wants); x rises until the sum
 * reaches cap.  Spreading x itself, rather than a per-weight level, keeps
 * shares exact (3G over weights 2:1 is 2G and 1G, to the byte).
 */

#include <stddef.h>
#include <stdint.h>

struct waterfill {
	size_t vm;                 /* the caller's index */
	uint64_t min_bytes;
	uint64_t lo_bytes;
	uint64_t hi_bytes;
	uint32_t weight;           /* > 0 */
	uint64_t alloc_bytes;      /* the result */
};

/*
 * Set alloc_bytes of f[0..n): the largest pool whose sum fits cap, shares
 * rounded down to align (0: none) and what rounding freed handed back in
 * whole blocks.  Needs lo <= hi and min <= hi; if the lo values alone
 * exceed cap, everyone gets lo and the caller must notice.
 */
void waterfill(struct waterfill *f, size_t n, uint64_t align, uint64_t cap);

#endif
