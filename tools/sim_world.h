/* SPDX-License-Identifier: MIT */
#ifndef VMRD_SIM_WORLD_H
#define VMRD_SIM_WORLD_H

/*
 * A small closed-loop model of a guest around the real policy: a workload
 * demand (user pages, and unmovable kernel memory such as slab), a page
 * cache with a working set, the kernel zones and ZONE_MOVABLE, a PSI
 * estimate and a backend with plug latency that places new memory in the
 * zone the policy asks for.  It is crude on purpose: good enough to see
 * whether the policy grows the right zone before the guest stalls and
 * gives memory back without flapping.  vmrd-sim and the scenario tests run
 * it; integer-only and deterministic.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/policy.h"

struct sim_params {
	uint64_t step_usec;        /* one evaluation */
	uint64_t boot_bytes;       /* in the kernel zones, never releasable */
	uint64_t start_bytes;      /* current at t = 0 */
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint64_t block_bytes;
	uint64_t plug_latency_usec;
	uint64_t kernel_bytes;     /* unreclaimable memory besides the workload */
	uint64_t cache_want_bytes; /* file cache the workload would keep */
	uint64_t cache_hot_bytes;  /* the part of it that is working set */
	uint64_t cache_fill_bytes; /* cache growth per step */
	bool cache_stream;         /* the cold part is read once: it never refaults */
	uint64_t trim_rate_bytes;  /* memory.reclaim progress per step */
	uint64_t low_mark_bytes;   /* available below this stalls */
	uint32_t memmap_centi;     /* struct pages of hot-added memory */
	uint32_t fail_requests;    /* the first N backend requests fail */
	bool kernel_growth;        /* new memory can be placed in the kernel zones */
	uint64_t host_target_bytes;
	uint64_t host_from_usec;
};

struct sim_stats {
	uint32_t grows, shrinks, trims, trim_stops, holds;
	uint32_t kernel_grows, cant_help;
	uint32_t failures, trigger_steps, oom_kills;
	uint64_t min_avail_bytes;
	uint64_t max_current_bytes;
	uint64_t stall_usec;       /* integral of the some-stall share */
	uint32_t max_pingpong;
};

struct sim_world {
	struct sim_params p;
	struct policy_config cfg;
	struct policy_state st;
	struct policy_input in;    /* what the policy saw last */
	struct policy_decision d;  /* what it decided */
	uint64_t now_usec;
	uint64_t current;          /* boot + kernel_plugged + movable */
	uint64_t kernel_plugged;   /* plugged into the kernel zones */
	uint64_t movable;          /* ZONE_MOVABLE */
	uint64_t used;             /* demand + kernel + memmap, capped by OOM */
	uint64_t unmovable;        /* the part of used only the kernel zones hold */
	uint64_t user_kernel;      /* user pages that spilled into the kernel zones */
	uint64_t cache;
	uint64_t oom_freed;        /* demand the OOM killer removed for good */
	bool busy;
	uint64_t done_at_usec;
	uint64_t pending_target;
	enum policy_zone pending_zone;
	uint64_t trim_left;
	uint32_t requests;
	int32_t some10, some60, full10; /* centi */
	uint64_t some_total_usec, full_total_usec;
	uint64_t oom_kill, allocstall, refault_file;
	struct sim_stats stats;
};

void sim_params_defaults(struct sim_params *p);
void sim_world_init(struct sim_world *w, const struct sim_params *p,
		    const struct policy_config *cfg);
/*
 * Advance one step with the workload wanting demand_bytes, of which
 * unmovable_bytes only the kernel zones can hold; w->d is the decision.
 */
void sim_world_step(struct sim_world *w, uint64_t demand_bytes, uint64_t unmovable_bytes);

/* Named workloads; demand (and its unmovable part, may be NULL) is a function of time. */
struct sim_scenario {
	const char *name;
	const char *what;
	uint64_t duration_usec;
	void (*setup)(struct sim_params *p);
	uint64_t (*demand)(uint64_t now_usec);
	uint64_t (*unmovable)(uint64_t now_usec);
};

/* One step of a scenario at the world's current time. */
void sim_scenario_step(const struct sim_scenario *sc, struct sim_world *w);

const struct sim_scenario *sim_scenario_find(const char *name);
const struct sim_scenario *sim_scenario_at(unsigned i); /* NULL past the end */

#endif
