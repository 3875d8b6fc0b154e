/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PAGEMODEL_SCENARIO_H
#define VMRD_PAGEMODEL_SCENARIO_H

/*
 * The scenarios of make bench-mechanisms (scripts/bench/mechanisms.py,
 * guest/scenarios/giveup.sh) run in the page model: the same names, the
 * same sizes, the same timeline.
 *
 *  1. Boot: a 512 MiB guest (and 256 MiB of virtio-mem for an unplug).
 *  2. Fill: a burst (320 MiB of anonymous memory touched, held 2 s, freed)
 *     or a cache fill (320 MiB of page cache).  The RSS peak is taken here.
 *  3. Settle 8 s, one report pass a second (free page reporting, if on).
 *     "Before" is the RSS now.
 *  4. Give back: the balloon takes 256 MiB, virtio-mem unplugs 256 MiB, or
 *     the page cache is dropped; then settle as in 3.  "After" is the RSS.
 * Given up: what the balloon took, what was unplugged or the cache dropped.
 */

#include <stddef.h>
#include <stdint.h>

#include "pagemodel.h"

enum pagemodel_action {
	PAGEMODEL_ACT_BALLOON,
	PAGEMODEL_ACT_UNPLUG,
	PAGEMODEL_ACT_TRIM,
};

struct pagemodel_case {
	const char *name;            /* as mechanisms.py names it */
	const char *mechanism;       /* as its table says it */
	const char *prep;            /* "burst" or "cache" */
	enum pagemodel_action action;
	bool fpr;
	bool vmem;                   /* 256 MiB of virtio-mem plugged at boot */
};

extern const struct pagemodel_case pagemodel_cases[];
extern const size_t pagemodel_n_cases;

struct pagemodel_result {
	uint64_t given_bytes;
	uint64_t peak_bytes;         /* RSS at the end of the fill */
	uint64_t before_bytes;       /* RSS before the give-back */
	uint64_t after_bytes;        /* RSS after it settled */
};

/*
 * Run case c on a guest of base (its fpr and movable_bytes are the case's).
 * -errno from pagemodel_init().
 */
int pagemodel_run(const struct pagemodel_case *c, const struct pagemodel_params *base,
		  struct pagemodel_result *ret);

/* The host's gain per MiB given up, in thousandths (drop / given; negative: RSS grew). */
int64_t pagemodel_per_mille(const struct pagemodel_result *r);

#endif
