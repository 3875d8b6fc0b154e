/* SPDX-License-Identifier: MIT */
#ifndef VMRD_ARBITER_H
#define VMRD_ARBITER_H

/*
 * The host arbiter: decides, for every VM under one host budget, which
 * guest requests to grant (maybe in part), which to deny, which VMs to ask
 * to give memory back, and what size the host should apply.  Pure and
 * deterministic: plain structs in, plain structs out, time passed in as
 * now_usec; no I/O, clock, allocation or logging.  The broker (vmrd-host)
 * runs it after every guest request, after every reconciliation with QEMU
 * and periodically (about once a second).
 *
 * Sizes are a VM's TOTAL memory in bytes as the host accounts it (boot
 * memory + virtio-mem plugged - balloon).  "Target" is the size the arbiter
 * wants; "applied" the target the hypervisor has confirmed; "current" the
 * size the hypervisor reports the guest at.  The budget is host memory: a
 * VM also costs what its hypervisor process holds beyond the guest.
 *
 * One evaluation, in order (docs/protocol.md, "Host side behaviour"):
 *  1. Limits.  min/max (and the budget) are read afresh; a VM whose min or
 *     max changed gets send_limits, and its target is clamped into
 *     [min, max] (apply, reason "limits").
 *  2. Convergence.  A VM whose current does not get closer to its target
 *     for converge_timeout_usec is marked non-converging: a stuck grow has
 *     its target cut back to current (apply, reason "not_converging"); a
 *     stuck shrink keeps its target.  After reissue_after_usec the mark is
 *     dropped and the saved target is re-issued if the budget allows.
 *  3. Requests.  A request with a seq not yet evaluated is clamped to
 *     [min, max] (and rounded to align_bytes) first, then refused at the
 *     door if the guest was not welcomed yet ("not_welcomed"), if its seq
 *     is below the highest one answered in this guest session
 *     ("stale_seq"), or if the VM's token bucket is empty
 *     ("rate_limited").  A request past the door is the VM's demand (step
 *     6); one refused there is not, so a deny is never turned into growth
 *     later.  Then: growth of a stuck VM ("not_converging"), growth under
 *     host pressure except at urgency critical ("host_pressure"), and a
 *     grow within oscillation_hold_usec of a shrink, except at urgency
 *     high or critical ("oscillation_hold").  Giving memory back is never held: a
 *     guest that regrows after a shrink meets the hold then.  Each seq is
 *     answered once, whatever the answer; a deny for a hold that ends by
 *     itself (not_welcomed, rate_limited, oscillation_hold) says when
 *     (retry_after).  Shrinks that pass are granted in full.
 *  4. Accounting.  Every VM counts at max(target, applied, current) -- a
 *     shrink frees nothing until the hypervisor confirmed it and the guest
 *     gave the memory up -- plus what its hypervisor process holds beyond
 *     the guest: the measured overhead in budget mode strict (the sum of
 *     sizes and overheads stays within the budget: the host never swaps
 *     for its guests), or RSS - current in mode overcommit (the sum of
 *     RSS stays within the budget, sizes may add up to more).  What is
 *     left of the budget for guest sizes is the size budget; every step
 *     below works in sizes against it.
 *  5. Budget.  If the accounted sizes exceed the size budget (it was
 *     lowered, an overhead grew, the VMs start above it), targets above
 *     their weighted fair share are cut to it (apply + reclaim, reason
 *     "budget"); not while some VM's size is still unknown (seeded).
 *  6. Entitlements.  Each VM's demand is its latest admitted request
 *     (clamped like any request) while it is younger than
 *     demand_window_usec, at least what it holds while it reports PSI at
 *     or above guest_psi_pressure_centi, and otherwise what it holds.  The
 *     WHOLE size budget is water-filled over the demands by weight (min +
 *     weight x level, at least min, at most the demand -- or the max for a
 *     VM under pressure with a recent request, whose small steps say
 *     little of what it would take; a stuck VM fixed at what it holds):
 *     that is each VM's entitlement, reported as
 *     "fair".  A VM is under-served when it holds less than both its
 *     demand and its entitlement.  So under contention the shortfall lands
 *     by weight: a lighter VM gets a smaller part of what is above the mins.
 *  7. Growth.  The free size budget goes to the growing requests by the
 *     same water-filling, capped at the ask and floored at what the VM
 *     holds; VMs under pressure (urgency high/critical on a recent
 *     admitted request, or the reported PSI above) are served first, the
 *     rest from what is left.  While another VM is under-served, a VM
 *     grows no further than its entitlement ("fair_share" when that denies
 *     it; "budget" when nothing is free; a smaller grant says
 *     "contention"); a VM under pressure is only held back for another VM
 *     under pressure, so free memory still goes to pressure first.  An
 *     under-served VM whose request was already answered is raised towards
 *     its entitlement as memory becomes free (apply, reason "fair_share").
 *  8. Enforcement.  While some VM is under-served, every VM holding more
 *     than its entitlement is asked once to give the excess back (reclaim
 *     to its entitlement, reason "fair_share"; a VM answered this round
 *     is asked the next); if it still holds more
 *     fair_share_grace_usec later, the host cuts its target (apply,
 *     reason "fair_share"): lower weight first, among equal weights the
 *     one with the most surplus (reported available above
 *     healthy_headroom), only as much as the under-served VMs still miss,
 *     never below its entitlement (so never below min).  The guest is
 *     untrusted: asking is a courtesy, the cut is the decision, and the
 *     oscillation hold does not delay it.
 *  9. Host pressure (host PSI some avg10 at or above host_psi_centi while
 *     MemAvailable is below psi_available_bytes when that is set, or host
 *     MemAvailable below the host reserve): growth is denied (step 3;
 *     critical requests excepted, and served only from what the host
 *     really has free: MemAvailable above the reserve), fairness is not
 *     enforced (nobody could
 *     be given the memory), and the VMs that can spare memory are asked to
 *     reclaim their surplus ("host_pressure"), lower weight first, until
 *     the shortfall is covered (every such VM when the pressure is PSI
 *     only).  A VM marked this way that the pressure outlasts by
 *     host_pressure_grace_usec is cut ("host_pressure"): lower weight
 *     first, among equal weights the most surplus first, VMs whose guest
 *     is itself under pressure last; by the shortfall, else by its surplus
 *     or half of what it holds above min; never below min; at most
 *     one round of cuts per grace, since memory takes a while to come back
 *     and PSI to show it.
 * Invariant: after every evaluation the sum of targets is <= the size
 * budget whenever the sum of mins is (summary.budget_below_min otherwise)
 * and every VM's size is known.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/urgency.h"
#include "core/waterfill.h"

/*
 * The scratch of one evaluation, per VM: the caller gives the arbiter
 * ARBITER_SCRATCH_BYTES(n) bytes, aligned as malloc's (max_align_t), so that
 * the pure core allocates nothing and takes any number of VMs.  Its contents
 * mean nothing between calls; one buffer may serve every call.
 */
#define ARBITER_SCRATCH_PER_VM                                                                   \
	(sizeof(struct waterfill) + 3 * sizeof(uint64_t) + sizeof(size_t) + sizeof(int) +        \
	 4 * sizeof(bool))
#define ARBITER_SCRATCH_BYTES(n) ((size_t)(n) * ARBITER_SCRATCH_PER_VM)
/* Weights are 1..ARBITER_WEIGHT_MAX. */
#define ARBITER_WEIGHT_MAX 10000

/* What the budget limits (step 4). */
enum arbiter_budget_mode {
	ARBITER_BUDGET_STRICT = 0,     /* sum of (size + overhead): the host never swaps for its guests */
	ARBITER_BUDGET_OVERCOMMIT,     /* sum of RSS: sizes may add up to more */
};

struct arbiter_config {
	enum arbiter_budget_mode budget_mode;

	/* Host pressure. */
	uint32_t host_psi_centi;            /* host PSI some avg10 at/above: pressure */
	/* A VM asked to give memory back for host pressure is cut after this. */
	uint64_t host_pressure_grace_usec;
	/* A guest is "under pressure" at or above this reported PSI some avg10. */
	uint32_t guest_psi_pressure_centi;
	/* Reported MemAvailable above this is surplus the guest could give back. */
	uint64_t healthy_headroom_bytes;

	/* Granularity of every target the arbiter sets (0: none). */
	uint64_t align_bytes;

	uint64_t oscillation_hold_usec;
	/* Current must get closer to target within this, or the VM is stuck. */
	uint64_t converge_timeout_usec;
	/* |current - target| at or below this counts as converged. */
	uint64_t converge_slack_bytes;
	/* How long a stuck VM stays marked before its target is re-issued. */
	uint64_t reissue_after_usec;

	/* Request rate limit: a bucket of rate_burst tokens, one back every rate_refill_usec. */
	uint32_t rate_burst;
	uint64_t rate_refill_usec;

	/* The same VM is asked to reclaim at most once per this interval. */
	uint64_t reclaim_interval_usec;

	/* A request this young still counts as the VM's demand. */
	uint64_t demand_window_usec;
	/* How long a VM over its entitlement may ignore the ask before its target is cut. */
	uint64_t fair_share_grace_usec;
};

/* Sensible defaults, documented in docs/protocol.md. */
void arbiter_config_defaults(struct arbiter_config *ret);

struct arbiter_host {
	uint64_t now_usec;
	uint64_t budget_bytes;          /* all VMs' targets together may not exceed it */
	uint32_t psi_some_avg10_centi;  /* the host's /proc/pressure/memory */
	uint64_t mem_available_bytes;   /* the host's MemAvailable */
	uint64_t reserve_bytes;         /* keep at least this available on the host */
	/*
	 * When the PSI above is the whole machine's rather than the budget's
	 * own (a cgroup's), a process stalling at its own cgroup limit raises
	 * it too, and cutting VMs cannot relieve that: such PSI is host
	 * pressure only while MemAvailable is below this.  0: PSI always is.
	 */
	uint64_t psi_available_bytes;
};

/* The guest's latest `request` (kept by the broker; the arbiter answers each seq once). */
struct arbiter_request {
	bool valid;
	uint64_t seq;
	uint64_t target_bytes;
	enum urgency urgency;
	uint64_t usec;                  /* when it arrived */
};

/* The guest's latest `report`. */
struct arbiter_report {
	bool valid;
	uint64_t usec;
	uint64_t mem_total_bytes;
	uint64_t mem_available_bytes;
	uint32_t psi_some_avg10_centi;
	uint32_t psi_full_avg10_centi;
};

/* Arbiter-owned memory of one VM; zero it once, then leave it to the arbiter. */
struct arbiter_vm_state {
	bool initialized;
	uint64_t target_bytes;          /* what the host asks QEMU for */

	/* Previous evaluation's limits, to notice run-time changes. */
	uint64_t prev_min_bytes;
	uint64_t prev_max_bytes;

	/* Anti-oscillation: +1 grow, -1 shrink, 0 none yet. */
	int last_dir;
	uint64_t last_resize_usec;

	/* Convergence tracking. */
	uint64_t best_gap_bytes;        /* closest |current - target| since target was set */
	uint64_t progress_usec;         /* when best_gap_bytes last shrank */
	bool non_converging;
	uint64_t non_converging_usec;   /* since when */
	uint64_t reissue_bytes;         /* the target given up on, re-issued later (0: none) */

	/*
	 * Requests: each seq is evaluated and answered once (seen); answered_seq
	 * is the high mark of this guest session (arbiter_vm_hello() starts one).
	 */
	bool seen;
	uint64_t seen_seq;
	bool answered;
	uint64_t answered_seq;
	/* The latest request past the door (not refused unwelcome, stale or rate-limited). */
	struct arbiter_request demand;
	uint32_t tokens;
	uint64_t refill_usec;

	uint64_t last_reclaim_usec;
	bool reclaimed;                 /* last_reclaim_usec is meaningful */

	/* Fair share enforcement. */
	bool fair_asked;                /* over its entitlement and asked, since fair_asked_usec */
	uint64_t fair_asked_usec;

	/* Host pressure: asked (or due to be cut) since host_since_usec; last cut at host_cut_usec. */
	bool host_marked;
	uint64_t host_since_usec;
	uint64_t host_cut_usec;
};

struct arbiter_vm {
	/* Host-side limits; may change between evaluations. */
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint32_t weight;                /* 1..ARBITER_WEIGHT_MAX */
	/* From the hypervisor: the size it reports, and the target it confirmed. */
	uint64_t current_bytes;
	uint64_t applied_bytes;
	/* From the hypervisor's process: resident memory (0: not measured) and its own part. */
	uint64_t rss_bytes;
	uint64_t overhead_bytes;        /* RSS beyond the guest, smoothed (strict accounting) */
	/* The guest agent was welcomed (requests are taken, reclaim asks and limits sent, only then). */
	bool connected;
	/*
	 * The hypervisor has not told this VM's size yet (it counts at the
	 * size it was seeded with): nothing grows into it, and no VM is cut
	 * for the budget on its account until it is known.
	 */
	bool size_unknown;

	struct arbiter_request request;
	struct arbiter_report report;

	struct arbiter_vm_state state;
};

enum arbiter_action {
	ARBITER_NONE = 0,
	ARBITER_GRANT,      /* send `grant seq target current`; apply target */
	ARBITER_DENY,       /* send `deny seq reason` */
	ARBITER_RECLAIM,    /* send `reclaim target urgency` */
};

enum arbiter_reason {
	ARBITER_R_NONE = 0,
	ARBITER_R_GRANTED,          /* grant: in full */
	ARBITER_R_CLAMPED,          /* grant: in full after clamping to [min, max] */
	ARBITER_R_CONTENTION,       /* grant: less than asked, by fair share */
	ARBITER_R_NO_CHANGE,        /* grant: the ask equals the target already set */
	ARBITER_R_BUDGET,           /* deny: no free budget; or target cut (budget lowered) */
	ARBITER_R_HOST_PRESSURE,    /* deny growth; or reclaim ask */
	ARBITER_R_OSCILLATION_HOLD, /* deny */
	ARBITER_R_NOT_CONVERGING,   /* deny; or target cut back to current */
	ARBITER_R_RATE_LIMITED,     /* deny */
	ARBITER_R_STALE_SEQ,        /* deny: seq below one already answered */
	ARBITER_R_LIMITS,           /* apply: target clamped into new [min, max] */
	ARBITER_R_REISSUE,          /* apply: target given up on is re-issued */
	ARBITER_R_FAIR_SHARE,       /* reclaim ask, or target cut: holds more than its
				     * entitlement; deny: at its entitlement while another
				     * VM is under-served; apply: raised towards it */
	ARBITER_R_NOT_WELCOMED,     /* deny: a request before the welcome */
	ARBITER_R__MAX,
};

/* The word for the wire and the log ("oscillation_hold"); "unknown" if out of range. */
const char *arbiter_reason_word(enum arbiter_reason reason);
const char *arbiter_action_name(enum arbiter_action action);

struct arbiter_decision {
	enum arbiter_action action;
	enum arbiter_reason reason;
	uint64_t seq;                   /* GRANT/DENY: the request answered */
	uint64_t retry_after_usec;      /* DENY for a hold that ends by itself: when it does */
	uint64_t target_bytes;          /* GRANT/RECLAIM: the size granted or asked for */
	enum urgency urgency;     /* RECLAIM */

	/* Set the target in QEMU (virtio-mem requested-size / balloon). */
	bool apply;
	enum arbiter_reason apply_reason;
	uint64_t apply_bytes;           /* == state.target_bytes */

	/* min or max changed: send `limits min max`. */
	bool send_limits;

	/* The numbers behind the decision, for the log. */
	uint64_t current_bytes;
	uint64_t asked_bytes;           /* the request after clamping (0: none) */
	uint64_t fair_bytes;            /* the VM's entitlement (weighted fair share) this round */
	uint64_t surplus_bytes;         /* reported available above healthy headroom */
	uint64_t accounted_bytes;       /* max(target, applied, current) after this evaluation */
	bool pressured;                 /* counted as under pressure */
	bool non_converging;
};

struct arbiter_summary {
	uint64_t budget_bytes;
	uint64_t size_budget_bytes;     /* what is left of the budget for guest sizes (step 4) */
	uint64_t sum_min_bytes;
	uint64_t sum_target_bytes;      /* after this evaluation */
	uint64_t sum_accounted_bytes;   /* every VM at max(target, applied, current) */
	uint64_t sum_charged_bytes;     /* ...plus its hypervisor's part: against the budget */
	uint64_t free_bytes;            /* size budget - accounted (0 if over) */
	bool budget_below_min;          /* sum of mins exceeds the size budget */
	bool host_pressure;
	bool host_psi_discounted;       /* PSI at its threshold, but MemAvailable >= psi_available */
	uint64_t host_shortfall_bytes;  /* reserve - host available (0 if none) */
};

/*
 * The three moments the owner sets a VM's arbiter state itself, so that it
 * never has to write the state's fields:
 *
 * arbiter_vm_seed(): a VM whose size is not known yet (the hypervisor has
 * not answered) is accounted at target_bytes, which the owner picks on the
 * safe side (a saved target, else max).  Its current size is taken to be
 * the same until arbiter_vm_reconcile().  min, max and weight must be set.
 *
 * arbiter_vm_reconcile(): the hypervisor told the VM's real size and the
 * target it holds (after a (re)connect): both are the truth from now on,
 * and convergence is judged afresh from now_usec, so a reconnect never
 * counts as time without progress.  The target counts as applied.  Other
 * state (rate limit, oscillation hold, fair share) is kept.
 *
 * arbiter_vm_hello(): a guest agent said hello: a new session, whose seq
 * numbers start again (a restarted agent starts at 1).  What the last
 * session asked for is no demand any more; the rate limit is kept, so
 * saying hello again buys no tokens.
 */
void arbiter_vm_seed(struct arbiter_vm *vm, uint64_t target_bytes);
void arbiter_vm_reconcile(struct arbiter_vm *vm, uint64_t target_bytes, uint64_t current_bytes,
			  uint64_t now_usec);
void arbiter_vm_hello(struct arbiter_vm *vm);

/*
 * Evaluate all VMs.  vms[i].state is read and updated; ret_decisions gets
 * n_vms entries; scratch is scratch_bytes >= ARBITER_SCRATCH_BYTES(n_vms)
 * bytes of the caller's.  Returns 0, or -EINVAL (nothing written, no state
 * changed) for a scratch too small or misaligned, min > max or a weight out
 * of range.
 */
int arbiter_evaluate(const struct arbiter_config *cfg, const struct arbiter_host *host,
		     struct arbiter_vm *vms, size_t n_vms, void *scratch, size_t scratch_bytes,
		     struct arbiter_decision *ret_decisions, struct arbiter_summary *ret_summary);

#endif
