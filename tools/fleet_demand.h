/* SPDX-License-Identifier: MIT */
#ifndef VMRD_FLEET_DEMAND_H
#define VMRD_FLEET_DEMAND_H

/*
 * What each simulated guest of vmrd-fleet wants over time: a synthetic
 * workload of one kind, or a CSV trace (fleet_trace.h).  A workload's
 * parameters are drawn from its own seeded generator (splitmix64 of the run's
 * seed and the VM's index), so VM i has the same workload whatever the
 * number of VMs, and a run is the same on every machine: integer-only, no
 * libm.
 *
 * Kinds (sizes drawn uniformly per VM from the ranges given):
 *   bursty     a base of 300-900 MiB; bursts start at random, on average
 *              every 30 min, of 0.5-3 GiB reached at 16-128 MiB/s, for
 *              1-15 min, and end at once (the job exits)
 *   diurnal    a base of 300-700 MiB plus 0.5-3 GiB times (1 + cos)/2 of
 *              the time of day, peaking at 14:00 +- 3 h of the run's day,
 *              and noise of up to a tenth of that swing, a random walk of
 *              at most a hundredth of it per minute
 *   cache      400-900 MiB of demand and a page cache of 2-6 GiB of which
 *              a working set of 256 MiB-1.5 GiB is hot; the working set
 *              changes size every 30 min to 3 h
 *   unmovable  a base of 400-900 MiB; slab episodes start on average every
 *              2 h, grow at 4-24 MiB/s to 256 MiB-1.5 GiB, last 10-60 min
 *              at that height, then are freed
 *   trace      a CSV trace, replayed from its start
 */

#include <stdbool.h>
#include <stdint.h>

#include "fleet_trace.h"

enum fleet_kind {
	FLEET_KIND_BURSTY = 0,
	FLEET_KIND_DIURNAL,
	FLEET_KIND_CACHE,
	FLEET_KIND_UNMOVABLE,
	FLEET_KIND_TRACE,
	FLEET_KIND__MAX,
};

/* One step's demand; cache_bytes 0 leaves the guest's own cache model as it is. */
struct fleet_sample {
	uint64_t demand_bytes;
	uint64_t unmovable_bytes;
	uint64_t cache_bytes;
	uint64_t hot_bytes;
};

struct fleet_demand {
	enum fleet_kind kind;
	uint64_t rng;
	uint64_t base_bytes;
	uint64_t amp_bytes;         /* diurnal: the swing */
	uint64_t day_usec;          /* diurnal: the period */
	uint64_t peak_usec;         /* diurnal: the time of day of the peak */
	uint64_t noise_bytes;       /* diurnal: the current noise */
	uint64_t cache_bytes;       /* cache: the page cache it keeps */
	uint64_t hot_bytes;         /* cache: the working set now */
	uint64_t next_usec;         /* diurnal noise, cache working set: the next change */
	/* An episode (bursty: a burst, unmovable: slab growth). */
	bool on;
	uint64_t level_bytes;       /* how far it got */
	uint64_t height_bytes;      /* how far it goes */
	uint64_t rate_bytes;        /* per second */
	uint64_t end_usec;          /* bursty: when it ends; unmovable: how long it holds, then when */
	const struct fleet_trace *trace;
	size_t cursor;
};

const char *fleet_kind_name(enum fleet_kind kind);
/* -EINVAL for a name that is not a kind. */
int fleet_kind_parse(const char *name, enum fleet_kind *ret);

/* VM index's workload of run seed; trace only for FLEET_KIND_TRACE; day_usec > 0. */
void fleet_demand_init(struct fleet_demand *g, enum fleet_kind kind, uint64_t seed, uint64_t index,
		       const struct fleet_trace *trace, uint64_t day_usec);
/* The demand over [now, now + step); call with now increasing by step. */
void fleet_demand_next(struct fleet_demand *g, uint64_t now_usec, uint64_t step_usec,
		       struct fleet_sample *ret);

#endif
