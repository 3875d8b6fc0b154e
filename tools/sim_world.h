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
 * it, and vmrd-fleet runs many of them against the arbiter; integer-only
 * and deterministic.
 *
 * The policy's GROW and SHRINK go to a backend (struct sim_backend_ops).
 * The world's own one stands for vmrd's local backends: the change lands
 * plug_latency after the request, all at once, and a shrink fails with
 * -EBUSY when the guest has not enough free memory to offline.  vmrd-fleet
 * puts the host link in its place (the request goes to the arbiter, the
 * hypervisor resizes the guest); either way the guest's memory moves
 * through sim_world_resize() and the policy hears back through
 * sim_world_done().
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

struct sim_world;

/* Who carries out the policy's GROW and SHRINK. */
struct sim_backend_ops {
	/* Every step before the workload runs: carry on with what is pending. */
	void (*progress)(struct sim_world *w, void *ctx);
	/* The policy decided GROW or SHRINK (w->d): start it.  w->busy holds until sim_world_done(). */
	void (*request)(struct sim_world *w, void *ctx);
};

struct sim_world {
	struct sim_params p;
	const struct sim_backend_ops *backend;
	void *backend_ctx;
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
	uint64_t host_ask_bytes;   /* the host asked to shrink to this (0: no ask) */
	int32_t some10, some60, full10; /* centi */
	uint64_t some_total_usec, full_total_usec;
	uint64_t oom_kill, allocstall, refault_file;
	struct sim_stats stats;
};

void sim_params_defaults(struct sim_params *p);
/* With the world's own backend; sim_world_set_backend() may replace it before the first step. */
void sim_world_init(struct sim_world *w, const struct sim_params *p,
		    const struct policy_config *cfg);
void sim_world_set_backend(struct sim_world *w, const struct sim_backend_ops *ops, void *ctx);
/*
 * Advance one step with the workload wanting demand_bytes, of which
 * unmovable_bytes only the kernel zones can hold; w->d is the decision.
 */
void sim_world_step(struct sim_world *w, uint64_t demand_bytes, uint64_t unmovable_bytes);

/*
 * For backends.  sim_world_resize(): the guest's memory becomes target_bytes
 * now, growth landing in zone; a shrink takes ZONE_MOVABLE first and fails
 * with -EBUSY (nothing changes) beyond sim_world_releasable().
 * sim_world_done(): the request ended (status 0 or -errno, retry_after_usec
 * the host's hint with a deny); the policy hears it.
 */
int sim_world_resize(struct sim_world *w, uint64_t target_bytes, enum policy_zone zone);
uint64_t sim_world_releasable(const struct sim_world *w);
void sim_world_done(struct sim_world *w, int status, uint64_t retry_after_usec);

#endif
