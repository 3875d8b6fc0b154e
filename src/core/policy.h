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
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum policy_mode {
	POLICY_MODE_DEFAULT = 0,
	/*
	 * The design vmrd started from, kept as a benchmark reference: one
	 * step per PSI trigger event, and after psionly_quiet_usec without an
	 * event one step back per evaluation.
	 */
	POLICY_MODE_PSI_ONLY = 1,
};

struct policy_config {
	enum policy_mode mode;

	/* Grow: the headroom target is max(min_headroom, ratio x MemTotal). */
	uint64_t min_headroom_bytes;
	uint32_t headroom_ratio_centi;
	/* Available memory we never plan to cross; the velocity check protects it. */
	uint64_t reserve_bytes;
	/* How long a grow takes to show up in MemTotal, plus safety margin. */
	uint64_t plug_latency_usec;
	uint64_t lead_margin_usec;
	/* Span of MemAvailable history used to estimate its velocity. */
	uint64_t velocity_window_usec;
	/* Bounds of one grow request; escalation doubles the step while pressure persists. */
	uint64_t grow_step_min_bytes;
	uint64_t grow_step_max_bytes;
	uint32_t escalate_max_shift;
	/* Emergency (PSI full, allocstall or oom_kill rising): at least this much at once. */
	uint64_t emergency_step_bytes;
	uint32_t full_emergency_centi; /* PSI full avg10 at or above this is an emergency */
	/* Hot-added memory needs struct pages: about 1.6 % of what is added. */
	uint32_t memmap_overhead_centi;

	/* Shrink only when calm. */
	uint32_t calm_some_avg10_centi;
	uint32_t calm_some_avg60_centi;
	uint64_t calm_hold_usec;        /* no trigger/pressure for this long */
	uint64_t grow_hold_usec;        /* no shrink this long after a grow */
	uint64_t shrink_margin_bytes;   /* surplus = available - target - margin */
	uint32_t shrink_fraction_centi; /* release this share of the surplus */
	uint32_t shrink_max_blocks;     /* and at most this many blocks per cycle */
	uint64_t shrink_interval_usec;  /* between two shrinks */
	/* Pressure within this time after a shrink counts as ping-pong. */
	uint64_t pingpong_window_usec;
	uint32_t pingpong_max_level;    /* hold x 2^level, fraction / 2^level */

	/* Trim cold page cache (cgroup v2 memory.reclaim) before shrinking. */
	bool reclaim_enabled;
	uint64_t reclaim_step_bytes;
	uint64_t reclaim_min_cache_bytes; /* leave at least this much file cache */
	uint64_t reclaim_refault_limit;   /* file refaults per evaluation that stop it */

	/* Backend failure: retry with exponential backoff between these. */
	uint64_t backoff_min_usec;
	uint64_t backoff_max_usec;

	/* PSI-only mode. */
	uint64_t psionly_step_bytes;
	uint64_t psionly_quiet_usec;
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

struct policy_decision {
	enum policy_action action;
	enum policy_reason reason;
	uint32_t urgency;         /* enum vmrd_urgency */
	uint64_t now_usec;
	uint64_t current_bytes;
	uint64_t target_bytes;    /* GROW/SHRINK: the new total; else current */
	uint64_t reclaim_bytes;   /* RECLAIM */
	/* The numbers behind it. */
	uint64_t mem_total_bytes;
	uint64_t available_bytes;
	uint64_t headroom_target_bytes;
	int64_t velocity_bytes_per_sec; /* of MemAvailable; negative when falling */
	uint64_t deficit_bytes;
	uint64_t surplus_bytes;
	uint32_t psi_some_avg10;
	uint32_t psi_full_avg10;
	uint64_t last_pressure_usec;    /* when pressure was last seen (0: never) */
	uint64_t hold_until_usec;       /* for holds with a deadline */
	uint32_t escalation;
	uint32_t pingpong_level;
};

#define POLICY_HISTORY 64

/* The policy's memory between evaluations; opaque to callers. */
struct policy_state {
	bool primed;            /* counters below hold a previous sample */
	uint64_t prev_oom_kill;
	uint64_t prev_allocstall;
	uint64_t prev_refault_file;
	uint64_t prev_psi_full_total_usec;

	uint64_t hist_usec[POLICY_HISTORY];
	uint64_t hist_avail[POLICY_HISTORY];
	uint32_t hist_head;
	uint32_t hist_len;

	uint64_t last_pressure_usec;
	uint64_t last_grow_usec;
	uint64_t last_shrink_usec;
	uint64_t last_trigger_usec;
	uint32_t escalation;
	uint32_t pingpong_level;
	uint64_t pingpong_decay_usec;

	uint32_t failures;
	uint64_t retry_at_usec;
};

void policy_config_defaults(struct policy_config *cfg);
/* 0, or -EINVAL with *ret_msg naming the inconsistency. */
int policy_config_validate(const struct policy_config *cfg, const char **ret_msg);

void policy_init(struct policy_state *st);
void policy_evaluate(struct policy_state *st, const struct policy_config *cfg,
		     const struct policy_input *in, struct policy_decision *ret);

/* Feedback: a request finished (status 0 or -errno), the guest now has current_bytes. */
void policy_backend_done(struct policy_state *st, const struct policy_config *cfg,
			 uint64_t now_usec, int status, uint64_t current_bytes);

const char *policy_action_name(enum policy_action a);
const char *policy_reason_name(enum policy_reason r);
/* A human sentence for the reason ("pressure 2 min ago", "zone Normal holds it"). */
int policy_decision_explain(const struct policy_decision *d, char *buf, size_t len);
/* One JSON object, no newline; returns the length or -ENOSPC. */
int policy_decision_json(const struct policy_decision *d, char *buf, size_t len);

#endif
