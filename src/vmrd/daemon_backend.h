/* SPDX-License-Identifier: MIT */
#ifndef VMRD_DAEMON_BACKEND_H
#define VMRD_DAEMON_BACKEND_H

/*
 * The daemon's side of a backend (include/vmrd/backend.h): opening it, and
 * reopening it with backoff while it fails; its descriptor on the event
 * loop; the one request that may be outstanding and its seq; the
 * backend's view of the guest's size.  It knows nothing of the daemon: it
 * tells its owner through two callbacks what the policy must hear (a
 * request ended, the provider asks for memory back), logs what happened
 * to the backend, and counts failures for the metrics.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "vmrd/backend.h"

struct daemon_backend_owner {
	/*
	 * A request ended, or was refused at once: status 0 or -errno, the
	 * provider's retry hint (0: none) and the size now.
	 */
	void (*done)(void *ctx, int status, uint64_t retry_after_usec, uint64_t current_bytes,
		     uint64_t now_usec);
	/* The provider asks the guest to shrink to target_bytes if it safely can. */
	void (*reclaim)(void *ctx, uint64_t target_bytes, uint64_t now_usec);
};

struct daemon_backend_stats {
	uint64_t failures;             /* refused or failed requests, failed queries */
	uint64_t denies;               /* requests the provider held, with a retry hint */
	uint64_t grow_latency_usec_last;
	uint64_t grow_latency_usec_sum;
	uint64_t grow_latency_count;
};

struct daemon_backend {
	char name[32];                 /* as configured: host, sysfs, exec, plugin */
	struct loop *loop;
	const struct daemon_backend_owner *owner;
	void *ctx;

	const struct vmrd_backend_ops *ops;
	void *state;
	struct loop_watch watch;       /* the backend's fd(), if it has one */
	bool up;
	struct vmrd_backend_info info; /* the backend's view: current, min, max, block */
	struct backoff reopen;

	uint64_t reclaim_logged_usec;  /* when an ask to shrink was last said */
	uint64_t reclaim_unsaid;       /* asks since then */

	uint64_t seq;                  /* of the last request sent */
	bool pending;                  /* a request is outstanding */
	struct vmrd_backend_request req;
	uint64_t sent_usec;

	struct daemon_backend_stats stats;
};

void daemon_backend_init(struct daemon_backend *b, struct loop *loop,
			 const struct daemon_backend_owner *owner, void *ctx);

/* Which backend, and how long to wait between attempts to open it (a reload may change them). */
void daemon_backend_configure(struct daemon_backend *b, const char *name, uint64_t backoff_min_usec,
			      uint64_t backoff_max_usec);

/* True when the backend is closed and the next attempt to open it is due. */
bool daemon_backend_due(const struct daemon_backend *b, uint64_t now_usec);
/* Let the next attempt come at once (a new configuration), keeping the backoff's count. */
void daemon_backend_retry_now(struct daemon_backend *b);

/* Open it; on failure log why and schedule the next attempt.  0 or -errno. */
int daemon_backend_open(struct daemon_backend *b, const struct vmrd_backend_env *env, uint64_t now_usec);
void daemon_backend_close(struct daemon_backend *b);

/* Refresh info from the backend; a failure is counted and the old view kept. */
void daemon_backend_query(struct daemon_backend *b);

/*
 * Send a request for target_bytes (a grow in zone).  A refusal is counted, logged and
 * reported to the owner's done() at once; synchronous backends complete
 * within the call.  0 or -errno.
 */
int daemon_backend_request(struct daemon_backend *b, uint64_t target_bytes, uint32_t urgency,
			   enum vmrd_zone zone, const char *reason, uint64_t now_usec);

/*
 * Take the backend's pending events (its fd is readable, or it may have
 * news): at most a slice per loop turn, the rest on the next turn
 * (loop_again), so a flooding provider cannot starve the loop.
 */
void daemon_backend_drain(struct daemon_backend *b, uint64_t now_usec);

#endif
