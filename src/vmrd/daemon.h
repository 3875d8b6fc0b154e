/* SPDX-License-Identifier: MIT */
#ifndef VMRD_DAEMON_H
#define VMRD_DAEMON_H

/*
 * The vmrd daemon's state and its single event loop.  main.c builds a
 * struct daemon from the command line and the config; everything the
 * daemon does happens in daemon_run() on one event loop (common/loop.h):
 * signals, the sampling timer, PSI trigger fds, the backend's fd, the
 * page-cache trimmer's eventfd and the control socket.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/ctlsrv.h"
#include "common/loop.h"
#include "common/strbuf.h"
#include "core/policy.h"
#include "sensors/meminfo.h"
#include "sensors/psi.h"
#include "sensors/vmstat.h"
#include "sensors/zoneinfo.h"
#include "vmrd/backend.h"
#include "vmrd/config.h"
#include "vmrd/daemon_backend.h"
#include "vmrd/placement.h"
#include "vmrd/reclaim.h"

#define DECISION_LOG 64

/* Counters for `vmrctl metrics` (Prometheus) and status. */
struct daemon_metrics {
	uint64_t evaluations;
	uint64_t psi_events;
	uint64_t grows;
	uint64_t shrinks;
	uint64_t grown_bytes;
	uint64_t shrunk_bytes;
	uint64_t reclaims;
	uint64_t reclaimed_bytes;
	uint64_t reclaim_aborts;
	uint64_t reclaim_usec;
	uint64_t kernel_grows;
	uint64_t kernel_grown_bytes;
	uint64_t cant_help;     /* times the policy found that growth could not help */
	/* Backend failures and grow latencies: backend.stats. */
};

/* Where hot-plugged memory lands, and whether vmrd can steer it (steer.c). */
struct daemon_steer {
	struct placement placement;
	bool probed;               /* placement was read */
	bool own_onlining;         /* the backend onlines memory itself (sysfs) */
	enum policy_kernel_growth kernel_growth;
	bool kernel_active;        /* auto_online_blocks is online_kernel for a grow in flight */
	uint64_t memory_block_bytes;
	uint64_t plug_latency_usec; /* smoothed grow latency, 0 until measured */
};

struct daemon {
	struct vmrd_config cfg;
	const char *config_path; /* NULL: built-in defaults */
	const char *root_dir;
	int rootfd;
	bool dry_run;
	bool seccomp;            /* the filter is installed (main.c): no exec backend until restart */
	bool once;

	/* The one event loop and the daemon's own watches on it. */
	struct loop loop;
	struct loop_watch signals;
	struct loop_watch timer;
	struct loop_watch psi_some_watch;
	struct loop_watch psi_full_watch;
	struct loop_watch reclaim_watch;
	uint64_t timer_period_usec;
	uint64_t started_usec;

	bool psi_available;
	struct psi_trigger trig_some;
	struct psi_trigger trig_full;
	uint32_t trigger_events;

	/* The backend (daemon_backend.c), reopened with backoff while it fails. */
	struct daemon_backend backend;
	uint64_t host_reclaim_target_bytes;
	uint64_t last_report_usec;

	struct reclaim rc;
	bool reclaim_available;
	bool trim_cold;              /* the running trim is a proactive one */
	uint64_t trim_sum_since_usec; /* proactive trims since then, said once a minute */
	uint64_t trim_sum_steps;
	uint64_t trim_sum_bytes;

	struct daemon_steer steer;

	/* The latest sample and decision. */
	struct meminfo mi;
	struct vmstat vs;
	struct zoneinfo zi;
	bool zones_available;
	struct psi_stats psi;
	struct policy_input in;
	struct policy_state pst;
	struct policy_decision last;
	enum policy_reason last_logged_hold;
	uint64_t hold_logged_usec[POLICY_R__MAX]; /* when each hold reason was last said */
	bool fast;

	/* The last decisions worth remembering, oldest first from log_head. */
	struct policy_decision log[DECISION_LOG];
	uint32_t log_head;
	uint32_t log_len;

	struct daemon_metrics m;
	struct ctlsrv ctl;
	bool quit;
	uint64_t watchdog_usec;
	uint64_t last_watchdog_usec;
};

/* Set up everything but the loop; logs and returns a sysexits code on failure. */
int daemon_setup(struct daemon *d);
/* Run until SIGTERM/SIGINT; returns the exit status. */
int daemon_run(struct daemon *d);
void daemon_teardown(struct daemon *d);

/* --once: one sample, one decision, printed as JSON to stdout. */
int daemon_once(struct daemon *d);

/* Sampling: fill d->mi/vs/zi/psi and d->in (sample.c). */
int daemon_sample(struct daemon *d, uint64_t now_usec);

/*
 * Steering hot-plugged memory into the zone a grow is for (steer.c).
 * setup probes what this guest allows and says once what it cannot do;
 * grow switches auto_online_blocks for a kernel-zone grow about to be
 * sent, done switches it back when the request ends and folds the grow's
 * latency into the plug-latency estimate.
 */
void daemon_steer_setup(struct daemon *d);
void daemon_steer_grow(struct daemon *d, enum policy_zone zone);
void daemon_steer_done(struct daemon *d, int status, uint64_t latency_usec);

/* Rendering for the control socket and --once (status.c); -EINVAL for an unknown command. */
int status_render(struct daemon *d, const char *cmd, struct strbuf *out);
void status_decision_json(const struct daemon *d, struct strbuf *out);

#endif
