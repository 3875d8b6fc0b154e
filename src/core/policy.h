/* SPDX-License-Identifier: MIT */
#ifndef VMRD_POLICY_H
#define VMRD_POLICY_H

/*
 * The grow/shrink policy: pure, integer-only and deterministic.  It reads a
 * snapshot (struct policy_input, time included) and its own state, and says
 * what to do and why.  No I/O, no clock, no allocation, no logging: the
 * daemon and the simulator run this very code.
 *
 * Sizes are bytes, times microseconds of CLOCK_MONOTONIC, PSI averages and
 * ratios hundredths of a percent ("centi").
 *
 * How one evaluation decides (POLICY_MODE_DEFAULT):
 *
 *  1. The headroom target is max(min_headroom_bytes, headroom_ratio_centi x
 *     MemTotal).  The velocity is the least-squares slope of
 *     (MemAvailable - MemTotal) over velocity_window_usec: taking MemTotal
 *     out keeps our own grows and shrinks from looking like the workload
 *     freeing or eating memory.  The slope is limited to that of the newest
 *     interval (0 if its sign differs), so that a jump that has already
 *     happened does not read as a fall still going on.  One sample gives
 *     velocity 0.
 *
 *  2. GROW when any of these holds; the most urgent reason is reported:
 *     EMERGENCY (CRITICAL): PSI full avg10 >= full_emergency_centi, or the
 *       full stall time since the previous evaluation is at least that share
 *       of the elapsed time (avg10 lags by seconds, the total does not), or
 *       oom_kill rose since the previous evaluation, or allocstall rose
 *       while MemAvailable is below the headroom target (with headroom to
 *       spare, direct reclaim is page cache turning over, not a shortage).
 *       The first evaluation only primes these counters.
 *     PSI_TRIGGER (HIGH): trigger_events > 0.
 *     FALLING_FAST (HIGH): MemAvailable falls fast enough to cross
 *       reserve_bytes within plug_latency_usec + lead_margin_usec.
 *     LOW_HEADROOM (NORMAL): MemAvailable is below the headroom target.
 *     The step is deficit + |velocity| x (plug latency + lead margin), at
 *     least grow_step_min_bytes (emergency: emergency_step_bytes), shifted
 *     left by the escalation, capped at grow_step_max_bytes and rounded up
 *     to whole blocks; the target never passes max_bytes.  Escalation grows
 *     by one (up to escalate_max_shift) with each grow while pressure lasts
 *     and drops to 0 at the first evaluation without a grow reason.
 *     Hot-added memory needs struct pages (memmap_overhead_centi of it) from
 *     memory the guest has now: when MemAvailable cannot pay them, the step
 *     is cut to what it can pay, but never below one block, so that a plug
 *     can always complete.  All of MemAvailable counts: the kernel reclaims
 *     to allocate the memory map, and a guest this short must not be kept
 *     to tiny steps by a floor of our own (the reserve exists to make the
 *     cut rare, by growing early).
 *     A wanted grow is held while the backend is busy (BACKEND_BUSY), in
 *     backoff after a failure (BACKOFF) or at max_bytes (AT_MAX).
 *
 *  3. The daemon stops a running page-cache trim on any GROW decision.
 *     Without a grow, a running trim is stopped (RECLAIM_STOP,
 *     PRESSURE_RISING) when PSI some avg10 is not calm or file refaults since
 *     the previous evaluation exceed reclaim_refault_limit.  If a grow is
 *     wanted but held, the decision is RECLAIM_STOP instead of the hold.
 *
 *  4. Otherwise, with the backend idle, no trim running and no backoff, it
 *     may shrink.  Holds are checked in this order: AT_MIN (not one block
 *     above min_bytes), NO_SURPLUS, PRESSURE_RECENT (pressure within
 *     calm_hold_usec; "pressure" is any grow reason, PSI some above the calm
 *     thresholds or a refault burst), PINGPONG_HOLD (within calm_hold_usec x
 *     2^pingpong_level), GROW_HOLD, SHRINK_INTERVAL, NOT_RELEASABLE and
 *     STEADY (surplus below one block, or the first calm_hold_usec after
 *     start).  The surplus is MemAvailable - headroom target -
 *     shrink_margin_bytes; the release is (shrink_fraction_centi >>
 *     pingpong_level) of it, at least one block and at most
 *     shrink_max_blocks blocks, rounded down to blocks, never below min_bytes
 *     and never more than releasable_bytes.  Since the release never exceeds
 *     the surplus, a shrink leaves MemAvailable above the headroom target.
 *     Offlining needs free memory to migrate into: when MemFree is below
 *     release + reserve/2 and there is file cache above
 *     reclaim_min_cache_bytes, the policy first asks for a trim (RECLAIM,
 *     TRIM_CACHE) of whole reclaim steps, at most reclaim_max_steps of them;
 *     the daemon writes them to memory.reclaim one step at a time and the
 *     next evaluations stop it if PSI or refaults rise.  At most one trim
 *     precedes each shrink; if free memory is still short the shrink goes
 *     ahead and the kernel reclaims while migrating.
 *
 *  5. Host reclaim: when host_reclaim_target_bytes is set and below
 *     current_bytes, the policy shrinks (HOST_RECLAIM, NORMAL) toward
 *     max(host target, the lowest total that keeps MemAvailable >= headroom
 *     target + shrink margin, min_bytes), at most shrink_max_blocks per step,
 *     without the fraction, ping-pong, grow-hold or interval limits, but only
 *     with no pressure within calm_hold_usec.  Otherwise it holds with
 *     HOST_RECLAIM_UNSAFE (or AT_MIN, NOT_RELEASABLE).  Any grow reason wins
 *     over the host's ask.
 *
 *  6. Ping-pong: a grow within pingpong_window_usec of a shrink raises
 *     pingpong_level (at most pingpong_max_level, once per shrink), which
 *     lengthens the calm hold and shrinks the fraction; the level drops by
 *     one per 4 x pingpong_window_usec without ping-pong.  A trim stopped by
 *     pressure (RECLAIM_STOP without a grow) counts the same: the memory we
 *     were about to give back is in use.  The next shrink trims first again.
 *
 *  7. Backend feedback (policy_backend_done): a failure starts a backoff of
 *     backoff_min_usec << (failures - 1), at most backoff_max_usec; a success
 *     ends it.  A failed shrink released nothing and so does not count
 *     towards ping-pong.
 *
 * Every step is a whole number of blocks: (target - current) % block_bytes
 * is 0 and min_bytes <= target <= max_bytes for GROW and SHRINK (when
 * current itself lies within them).  A block_bytes of 0 is taken as 1.
 * Without PSI (psi_available false) the PSI fields are ignored and calm is
 * judged from memory alone.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum policy_mode {
	POLICY_MODE_DEFAULT = 0,
	/*
	 * The design vmrd started from, kept as a benchmark reference: each
	 * evaluation with a PSI trigger event grows by psionly_step_bytes
	 * (rounded up to a block), and after psionly_quiet_usec without an
	 * event each evaluation shrinks by that step down to min_bytes.  It
	 * only respects the backend (busy, backoff, min, max): no headroom,
	 * velocity, calm, releasable or trim logic.
	 */
	POLICY_MODE_PSI_ONLY = 1,
};

/* The defaults (policy_config_defaults) are given after each field. */
struct policy_config {
	enum policy_mode mode; /* DEFAULT */

	/* Grow: the headroom target is max(min_headroom, ratio x MemTotal). */
	uint64_t min_headroom_bytes;   /* 128 MiB */
	uint32_t headroom_ratio_centi; /* 10.00 % */
	/*
	 * Available memory we never plan to cross; the velocity check protects
	 * it.  Half of it is the hard floor that struct pages for hot-added
	 * memory and migration before offlining may not dig into.  64 MiB;
	 * must not exceed min_headroom_bytes.
	 */
	uint64_t reserve_bytes;
	/* How long a grow takes to show up in MemTotal, plus safety margin. */
	uint64_t plug_latency_usec; /* 1 s */
	uint64_t lead_margin_usec;  /* 1 s */
	/* Span of MemAvailable history used to estimate its velocity: 3 s, at most 10 min. */
	uint64_t velocity_window_usec;
	/* Bounds of one grow request; escalation doubles the step while pressure persists. */
	uint64_t grow_step_min_bytes; /* 64 MiB */
	uint64_t grow_step_max_bytes; /* 1 GiB */
	uint32_t escalate_max_shift;  /* 3: up to 8 x */
	/* Emergency (PSI full, allocstall or oom_kill rising): at least this much at once. */
	uint64_t emergency_step_bytes; /* 256 MiB, at most grow_step_max_bytes */
	uint32_t full_emergency_centi; /* 5.00 %: PSI full avg10 at or above this is an emergency */
	/* Hot-added memory needs struct pages: 64 bytes per 4 KiB page, 1.60 %. */
	uint32_t memmap_overhead_centi;

	/* Shrink only when calm. */
	uint32_t calm_some_avg10_centi; /* 0.50 % */
	uint32_t calm_some_avg60_centi; /* 0.20 % */
	uint64_t calm_hold_usec;        /* 30 s: no trigger/pressure for this long */
	uint64_t grow_hold_usec;        /* 60 s: no shrink this long after a grow */
	uint64_t shrink_margin_bytes;   /* 128 MiB: surplus = available - target - margin */
	uint32_t shrink_fraction_centi; /* 50.00 %: release this share of the surplus */
	uint32_t shrink_max_blocks;     /* 64: and at most this many blocks per cycle */
	uint64_t shrink_interval_usec;  /* 10 s: between two shrinks */
	/* A grow within this time after a shrink counts as ping-pong. */
	uint64_t pingpong_window_usec;  /* 120 s */
	uint32_t pingpong_max_level;    /* 4: hold x 2^level, fraction / 2^level */

	/* Trim cold page cache (cgroup v2 memory.reclaim) before shrinking. */
	bool reclaim_enabled;             /* yes */
	uint64_t reclaim_step_bytes;      /* 32 MiB per write to memory.reclaim */
	uint32_t reclaim_max_steps;       /* 4: at most this many steps per trim */
	uint64_t reclaim_min_cache_bytes; /* 64 MiB: leave at least this much file cache */
	/*
	 * File refaults per evaluation that stop a trim: 512 pages (2 MiB of
	 * 4 KiB pages) coming straight back means the trim reached the
	 * working set.
	 */
	uint64_t reclaim_refault_limit;

	/* Backend failure: retry with exponential backoff between these. */
	uint64_t backoff_min_usec; /* 1 s */
	uint64_t backoff_max_usec; /* 60 s */

	/* PSI-only mode. */
	uint64_t psionly_step_bytes; /* 4 MiB */
	uint64_t psionly_quiet_usec; /* 10 s */
};

/* One evaluation's view of the world.  Counters are cumulative (as in /proc). */
struct policy_input {
	uint64_t now_usec;

	uint64_t mem_total_bytes;
	uint64_t mem_available_bytes;
	uint64_t mem_free_bytes;
	uint64_t file_cache_bytes; /* Active(file) + Inactive(file) */
	uint64_t swap_total_bytes;
	uint64_t swap_free_bytes;

	bool psi_available;
	uint32_t psi_some_avg10; /* centi */
	uint32_t psi_some_avg60;
	uint32_t psi_full_avg10;
	uint64_t psi_some_total_usec;
	uint64_t psi_full_total_usec;
	uint32_t trigger_events; /* PSI trigger events since the previous evaluation */

	uint64_t oom_kill;
	uint64_t allocstall;
	uint64_t refault_file;
	uint64_t refault_anon;

	/* The backend's view. */
	uint64_t current_bytes;
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint64_t block_bytes;
	/* How much of current could be released (sysfs: offlinable movable blocks). UINT64_MAX: unknown. */
	uint64_t releasable_bytes;
	bool backend_busy; /* a request is outstanding */

	bool reclaim_busy; /* the page-cache trimmer is running */

	/* The host asked the guest to shrink to this total (0: no ask). */
	uint64_t host_reclaim_target_bytes;
};

enum policy_action {
	POLICY_HOLD = 0,
	POLICY_GROW,
	POLICY_SHRINK,
	POLICY_RECLAIM,      /* trim reclaim_bytes of cold page cache */
	POLICY_RECLAIM_STOP, /* abort the running trim at once */
};

enum policy_reason {
	/* grow */
	POLICY_R_PSI_TRIGGER = 0,
	POLICY_R_LOW_HEADROOM,
	POLICY_R_FALLING_FAST,
	POLICY_R_EMERGENCY,
	POLICY_R_PSI_EVENT,      /* PSI-only mode */
	/* shrink / reclaim */
	POLICY_R_SURPLUS,
	POLICY_R_HOST_RECLAIM,
	POLICY_R_TRIM_CACHE,
	POLICY_R_PSI_QUIET,      /* PSI-only mode */
	/* hold */
	POLICY_R_STEADY,
	POLICY_R_AT_MAX,
	POLICY_R_AT_MIN,
	POLICY_R_BACKEND_BUSY,
	POLICY_R_BACKOFF,
	POLICY_R_PRESSURE_RECENT,
	POLICY_R_GROW_HOLD,
	POLICY_R_PINGPONG_HOLD,
	POLICY_R_SHRINK_INTERVAL,
	POLICY_R_NO_SURPLUS,
	POLICY_R_NOT_RELEASABLE, /* e.g. zone Normal holds it */
	POLICY_R_RECLAIMING,
	POLICY_R_HOST_RECLAIM_UNSAFE,
	POLICY_R_PRESSURE_RISING, /* with RECLAIM_STOP */
	POLICY_R__MAX,
};

/* The signals seen in one evaluation (struct policy_decision.signals). */
enum policy_signal {
	POLICY_SIG_TRIGGER = 1u << 0,    /* PSI trigger events */
	POLICY_SIG_FULL_AVG10 = 1u << 1, /* PSI full avg10 at the emergency level */
	POLICY_SIG_FULL_STALL = 1u << 2, /* full stall time since the last evaluation */
	POLICY_SIG_OOM_KILL = 1u << 3,
	POLICY_SIG_ALLOCSTALL = 1u << 4,
	POLICY_SIG_FALLING = 1u << 5,    /* would cross the reserve within the lead time */
	POLICY_SIG_LOW = 1u << 6,        /* below the headroom target */
	POLICY_SIG_SOME_HIGH = 1u << 7,  /* PSI some above the calm thresholds */
	POLICY_SIG_REFAULTS = 1u << 8,   /* file refaults above reclaim_refault_limit */
};

struct policy_decision {
	enum policy_action action;
	enum policy_reason reason;
	uint32_t urgency;         /* enum urgency */
	uint64_t now_usec;
	uint64_t current_bytes;
	uint64_t target_bytes;    /* GROW/SHRINK: the new total; else current */
	uint64_t reclaim_bytes;   /* RECLAIM */
	/* The numbers behind it. */
	uint64_t mem_total_bytes;
	uint64_t available_bytes;
	uint64_t headroom_target_bytes;
	int64_t velocity_bytes_per_sec; /* of MemAvailable net of MemTotal; negative when falling */
	uint64_t deficit_bytes;   /* headroom target - available, or 0 */
	uint64_t surplus_bytes;   /* available - headroom target - shrink margin, or 0 */
	uint32_t psi_some_avg10;
	uint32_t psi_full_avg10;
	uint64_t last_pressure_usec;    /* when pressure was last seen (0: never) */
	uint64_t hold_until_usec;       /* for holds with a deadline (0: none) */
	uint32_t escalation;      /* GROW: the shift applied to this step */
	uint32_t pingpong_level;
	uint32_t signals;         /* enum policy_signal bits */
	uint64_t min_bytes;       /* the backend's bounds, for AT_MIN/AT_MAX */
	uint64_t max_bytes;
	uint64_t host_target_bytes; /* the host's ask, 0: none */
	uint32_t failures;        /* consecutive backend failures */
};

/* Entries in the MemAvailable ring; older entries beyond it are dropped. */
#define POLICY_HISTORY 64

/* The policy's memory between evaluations; opaque to callers. */
struct policy_state {
	bool primed;            /* counters below hold a previous sample */
	uint64_t prev_now_usec;
	uint64_t prev_oom_kill;
	uint64_t prev_allocstall;
	uint64_t prev_refault_file;
	uint64_t prev_psi_full_total_usec;
	uint64_t start_usec;

	uint64_t hist_usec[POLICY_HISTORY];
	uint64_t hist_avail[POLICY_HISTORY];
	uint64_t hist_total[POLICY_HISTORY];
	uint32_t hist_head;
	uint32_t hist_len;

	/* Times are only meaningful with their seen_* flag: 0 is a valid time. */
	bool seen_pressure;
	bool seen_grow;
	bool seen_shrink;
	bool seen_trigger;
	uint64_t last_pressure_usec;
	uint64_t last_grow_usec;
	uint64_t last_shrink_usec;
	uint64_t last_trigger_usec;
	uint32_t escalation;
	uint32_t pingpong_level;
	uint64_t pingpong_decay_usec;
	bool pingpong_armed;    /* a shrink happened that a grow has not answered yet */
	bool trimmed;           /* a trim was asked for since the last shrink */
	enum policy_action pending; /* GROW/SHRINK awaiting policy_backend_done */

	uint32_t failures;
	uint64_t retry_at_usec;
};

void policy_config_defaults(struct policy_config *cfg);
/* 0, or -EINVAL with *ret_msg naming the inconsistency. */
int policy_config_validate(const struct policy_config *cfg, const char **ret_msg);

void policy_init(struct policy_state *st);
void policy_evaluate(struct policy_state *st, const struct policy_config *cfg,
		     const struct policy_input *in, struct policy_decision *ret);

/*
 * Feedback: a request finished (status 0 or -errno), the guest now has
 * current_bytes.  The next input's current_bytes is what the policy plans
 * from; this call only drives backoff and the grow/shrink clocks.
 */
void policy_backend_done(struct policy_state *st, const struct policy_config *cfg,
			 uint64_t now_usec, int status, uint64_t current_bytes);

const char *policy_action_name(enum policy_action a);
const char *policy_reason_name(enum policy_reason r);
/*
 * A human sentence for the decision, sizes in MiB and times relative
 * ("pressure 2 min ago", "zone Normal holds it").  Returns the length or
 * -ENOSPC (buf then holds a truncated, terminated sentence).
 */
int policy_decision_explain(const struct policy_decision *d, char *buf, size_t len);
/*
 * One JSON object, no newline, keys: action, reason, urgency, target_bytes,
 * current_bytes, reclaim_bytes, mem_total_bytes, available_bytes,
 * headroom_target_bytes, velocity_bytes_per_sec, deficit_bytes,
 * surplus_bytes, psi_some_avg10, psi_full_avg10 (percent, numbers with two
 * decimals), escalation, pingpong_level, explain.  Returns the length or
 * -ENOSPC.
 */
int policy_decision_json(const struct policy_decision *d, char *buf, size_t len);

#endif
