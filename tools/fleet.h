/* SPDX-License-Identifier: MIT */
#ifndef VMRD_FLEET_H
#define VMRD_FLEET_H

/*
 * A fleet of simulated guests on one host, in closed loop with the real
 * arbiter: the model behind vmrd-fleet.  Pure like the core it drives (no
 * I/O, no clock, no log; time is a field), deterministic for a seed, and
 * allocation only in fleet_init().
 *
 * Each guest is a sim_world (the real policy over a crude guest) whose
 * demand comes from a workload (fleet_demand.h).  Its backend is the host
 * link, as src/backends/host.c and the broker speak it, through the core's
 * structs instead of a socket:
 *  - the policy's GROW or SHRINK becomes a request with the next seq, the
 *    decision's urgency and the time it was made; the guest is busy until
 *    it is answered;
 *  - a grant is confirmed when the guest's size has moved to the grant
 *    (within 1/32 of the change, as the guest backend allows for struct
 *    pages and rounding), or ends after confirm_timeout_usec with
 *    -ETIMEDOUT; a deny ends it with -EAGAIN and the deny's retry_after,
 *    which the policy honours;
 *  - a reclaim ask becomes the policy's host reclaim target until the
 *    policy shrinks for it;
 *  - every report_interval_usec the guest reports MemTotal, MemAvailable
 *    and PSI.
 * The hypervisor (a virtio-mem device) takes every target the arbiter sets
 * at once and the guest follows plug_latency_usec later: growth lands all
 * at once (in the zone of the guest's last request), a shrink unplugs what
 * the guest can offline now, in whole blocks, and the rest as it becomes
 * free.
 *
 * One step (fleet_step()) of step_usec: every guest runs one policy
 * evaluation (in index order), then the host runs one arbiter round at the
 * end of the step over what they said, and its decisions are delivered.
 * The broker evaluates after every request and at least once a second, so
 * with one-second steps this is what it does, batched per step.
 *
 * Host footprint.  A VM costs the host its size (current), plus
 * overhead_bytes for its hypervisor process, plus what it gave up that the
 * host did not get back ("stranded").  How much of a shrink the host gets
 * back is the host_back() hook (below): all of it by default, as for
 * virtio-mem unplug; the balloon model plugs its measured share in there.
 * When the guest grows again it reuses stranded memory first.
 *
 * Static sizing (static_sizing): the same guests without vmrd, each fixed
 * at one size for the whole run (min = max = that size, all boot memory),
 * and no arbiter.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arbiter.h"
#include "core/policy.h"
#include "fleet_demand.h"
#include "sim_world.h"

struct fleet_vm;

struct fleet_config {
	uint64_t seed;
	uint64_t step_usec;            /* one policy evaluation and one arbiter round */
	uint64_t day_usec;             /* the diurnal workloads' period */
	uint64_t host_bytes;           /* the host's memory */
	uint64_t reserve_bytes;        /* kept free on the host: the budget is host - reserve */
	uint64_t overhead_bytes;       /* each VM's hypervisor process */
	uint64_t report_interval_usec; /* guest reports (vmrd's report_interval) */
	uint64_t confirm_timeout_usec; /* a grant the guest does not reach ends after this */
	bool static_sizing;
	struct sim_params guest;       /* every VM's world: min, max, boot, plug latency... */
	struct policy_config policy;
	struct arbiter_config arbiter;
	/*
	 * What the host gets back when vm gives up given_bytes (its size went
	 * down).  NULL: vm->back_ppm millionths of it (1,000,000 unless the
	 * caller set it after fleet_init()).  ctx is host_back_ctx.
	 */
	uint64_t (*host_back)(void *ctx, const struct fleet_vm *vm, uint64_t given_bytes);
	void *host_back_ctx;
};

/* vmrd-fleet's defaults: 1 s steps, a 24 h day, 256 GiB host, 2 GiB reserve, 64 MiB overhead. */
void fleet_config_defaults(struct fleet_config *cfg);

enum fleet_link_state {
	FLEET_LINK_IDLE = 0,
	FLEET_LINK_WAIT,               /* a request awaits its answer */
	FLEET_LINK_CONFIRM,            /* granted: the guest waits for its size to get there */
};

struct fleet_vm_stats {
	uint32_t requests;
	uint32_t grants;
	uint32_t denies;
	uint32_t timeouts;             /* grants the guest did not reach in time */
	uint32_t reclaims;             /* reclaim asks from the host */
	uint32_t host_sets;            /* targets the host set without a request (cuts, raises) */
	uint32_t resizes;              /* size changes carried out (plugs and unplugs) */
	uint32_t denied[ARBITER_R__MAX];  /* denies by reason */
	uint32_t asked[ARBITER_R__MAX];   /* reclaim asks by reason */
	uint32_t set[ARBITER_R__MAX];     /* host-set targets by reason */
	uint64_t low_usec;             /* time with MemAvailable below the policy's reserve */
	uint64_t size_mib_steps;       /* the size summed over the steps, in MiB (for the mean) */
};

struct fleet_vm {
	size_t index;
	enum fleet_kind kind;
	const struct fleet_config *cfg;
	struct fleet_demand demand;
	struct sim_world w;
	struct arbiter_vm *arb;        /* the host's view of this VM (the fleet's array) */
	uint32_t back_ppm;             /* share of a shrink the host gets back (host_back NULL) */
	uint64_t static_bytes;         /* static sizing: the size it is fixed at */

	/* The guest's end of the host link. */
	enum fleet_link_state link;
	uint64_t seq;
	uint64_t granted_bytes;
	uint64_t from_bytes;
	uint64_t deadline_usec;
	uint64_t next_report_usec;
	enum policy_zone zone;         /* of the last request: where a grow lands */

	/* The hypervisor: the size it was set to and when. */
	uint64_t requested_bytes;
	uint64_t requested_usec;

	uint64_t stranded_bytes;
	struct fleet_vm_stats stats;
};

struct fleet {
	struct fleet_config cfg;
	size_t n;
	struct fleet_vm *vms;
	struct arbiter_vm *arb;
	struct arbiter_decision *dec;
	void *scratch;                  /* the arbiter's, ARBITER_SCRATCH_BYTES(n) */
	struct arbiter_summary sum;
	uint64_t now_usec;
	int arbiter_error;             /* the last round's error (0: fine) */

	uint64_t footprint_bytes;      /* after the last step */
	uint64_t over_budget_usec;     /* time with the footprint above host - reserve */
	uint64_t rounds;
};

/*
 * n VMs, VM i of kinds[i] (and traces[i] for FLEET_KIND_TRACE; traces may
 * be NULL otherwise).  With static_sizing, static_bytes[i] is VM i's size.
 * Returns 0, -ENOMEM or -EINVAL (nothing to free then).
 */
int fleet_init(struct fleet *f, const struct fleet_config *cfg, size_t n,
	       const enum fleet_kind *kinds, const struct fleet_trace *const *traces,
	       const uint64_t *static_bytes);
void fleet_step(struct fleet *f);
void fleet_free(struct fleet *f);

/* The budget the arbiter works with: host - reserve. */
uint64_t fleet_budget_bytes(const struct fleet_config *cfg);

/*
 * The static size of a workload: its peak need over duration_usec (the
 * guest's kernel memory + demand + hot cache) plus the policy's headroom
 * target at that size, rounded up to a block, within [min, max].
 */
uint64_t fleet_static_size(const struct fleet_config *cfg, enum fleet_kind kind, uint64_t index,
			   const struct fleet_trace *trace, uint64_t duration_usec);

#endif
