/* SPDX-License-Identifier: MIT */
#ifndef VMRD_BACKEND_H
#define VMRD_BACKEND_H

/*
 * The vmrd backend interface.
 *
 * A backend turns the daemon's decision ("the guest should have N bytes")
 * into a change of the guest's memory: onlining standby memory blocks,
 * asking the host broker, or running vendor tooling.  Built-in backends and
 * plugins (shared objects loaded with dlopen) implement the same table of
 * operations.  This header is the whole public ABI for plugins.
 *
 * The exchange is asynchronous, because the most important backend asks a
 * host that may answer later, less, or not at all:
 *
 *   request(seq, target)   the daemon asks; 0 means accepted.
 *   fd()                   a descriptor the daemon polls for readability
 *                          (-1: the backend completes synchronously).
 *   next_event(&ev)        called after request() and whenever fd() is
 *                          readable, until it returns 0; each call that
 *                          returns 1 delivers one event.
 *
 * Every request ends in exactly one VMRD_BACKEND_EV_DONE event with the same
 * seq.  At most one request is outstanding at a time.  All sizes are the
 * guest's total memory in bytes as the provider accounts it (for the host
 * broker: boot memory + virtio-mem plugged - balloon).
 *
 * Functions return >= 0 on success and a negative errno on failure.
 * Backends never log; they return errors and put a short reason word in
 * events.  None of the callbacks may block for long: slow work belongs in
 * a thread or a child process that signals fd().
 */

#include <stdint.h>

/*
 * 2: requests say in which zone the memory should land (zone), and a
 * failed request may carry the provider's retry hint (retry_after_usec).
 */
#define VMRD_BACKEND_ABI_VERSION 2u

/* The symbol a plugin exports; see vmrd_backend_plugin_init_fn. */
#define VMRD_BACKEND_PLUGIN_SYMBOL "vmrd_backend_plugin_init"

struct vmrd_backend_info {
	uint64_t current_bytes; /* what the guest has now */
	uint64_t min_bytes;     /* never request less */
	uint64_t max_bytes;     /* never request more */
	uint64_t block_bytes;   /* requests are multiples of this */
};

enum vmrd_backend_event_type {
	/* A request finished: status 0 (possibly partial, see current_bytes) or -errno. */
	VMRD_BACKEND_EV_DONE = 1,
	/* The provider changed min/max (e.g. the host's "limits" message). */
	VMRD_BACKEND_EV_LIMITS = 2,
	/* The provider asks the guest to shrink to target_bytes if it safely can. */
	VMRD_BACKEND_EV_RECLAIM = 3,
	/* The link to the provider came up (1) or went down (0): status. */
	VMRD_BACKEND_EV_LINK = 4,
};

#define VMRD_BACKEND_REASON_MAX 32

struct vmrd_backend_event {
	uint32_t type;          /* enum vmrd_backend_event_type */
	int32_t status;         /* 0 or -errno for EV_DONE; link state for EV_LINK */
	uint64_t seq;           /* EV_DONE: the request it answers */
	uint64_t current_bytes; /* the guest's size as the backend now sees it */
	uint64_t target_bytes;  /* EV_DONE: what was granted; EV_RECLAIM: asked */
	uint64_t min_bytes;     /* EV_LIMITS */
	uint64_t max_bytes;     /* EV_LIMITS */
	uint32_t urgency;       /* EV_RECLAIM: enum vmrd_urgency */
	char reason[VMRD_BACKEND_REASON_MAX]; /* one word, e.g. "granted", "ebusy" */
	/*
	 * EV_DONE with a failure: the provider holds requests like this one
	 * for this long (the host's deny retry_after); 0: no hint, back off.
	 */
	uint64_t retry_after_usec;
};

/*
 * Where the memory of a grow should land.  Memory in ZONE_MOVABLE can be
 * given back again but holds no kernel allocations; the kernel zones hold
 * anything but are hard to give back.  Backends that online memory
 * themselves (sysfs) honour it; for memory the kernel onlines on its own
 * (virtio-mem behind the host backend) the daemon steers placement itself.
 */
enum vmrd_zone {
	VMRD_ZONE_MOVABLE = 0,
	VMRD_ZONE_KERNEL = 1,
};

enum vmrd_urgency {
	VMRD_URGENCY_LOW = 0,
	VMRD_URGENCY_NORMAL = 1,
	VMRD_URGENCY_HIGH = 2,
	VMRD_URGENCY_CRITICAL = 3,
};

/* Periodic figures the daemon hands to backends that forward them (host link). */
struct vmrd_backend_report {
	uint64_t now_usec;
	uint64_t mem_total_bytes;
	uint64_t mem_available_bytes;
	uint32_t psi_some_avg10; /* hundredths of a percent */
	uint32_t psi_full_avg10;
	uint64_t swap_total_bytes;
	uint64_t swap_free_bytes;
	uint64_t oom_kill;
};

/* What the daemon gives a backend when it opens it. */
struct vmrd_backend_env {
	uint32_t abi_version;
	/* Directory fd that /proc and /sys paths are opened relative to. */
	int rootfd;
	/*
	 * Configuration: the value of a key of the [backend] section (plugin
	 * keys are those of the [plugin] section), or NULL when not set.
	 */
	const char *(*config_get)(void *ctx, const char *key);
	void *config_ctx;
};

struct vmrd_backend_request {
	uint64_t seq;
	uint64_t target_bytes;
	uint32_t urgency; /* enum vmrd_urgency */
	char reason[VMRD_BACKEND_REASON_MAX];
	uint32_t zone;    /* enum vmrd_zone, for a grow */
};

struct vmrd_backend_ops {
	uint32_t abi_version; /* VMRD_BACKEND_ABI_VERSION */
	const char *name;

	int (*open)(const struct vmrd_backend_env *env, void **ret_state);
	int (*query)(void *state, struct vmrd_backend_info *ret_info);
	int (*request)(void *state, const struct vmrd_backend_request *req);
	int (*fd)(void *state);
	int (*next_event)(void *state, struct vmrd_backend_event *ret_event);
	/* Optional (may be NULL). */
	void (*report)(void *state, const struct vmrd_backend_report *report);
	void (*close)(void *state);
	/*
	 * Optional (may be NULL: unknown).  How many bytes of the current size
	 * could be given back now, e.g. the sysfs backend's online blocks in
	 * ZONE_MOVABLE above its minimum.  The policy does not plan a shrink
	 * larger than this.  Must be cheap; it is called on the daemon's loop.
	 */
	int (*releasable)(void *state, uint64_t *ret_bytes);
};

/*
 * A plugin exports this function under VMRD_BACKEND_PLUGIN_SYMBOL.  It is
 * called with the daemon's ABI version and returns its table, or NULL if it
 * cannot serve that version.  The daemon refuses a table whose abi_version
 * differs from its own.
 */
typedef const struct vmrd_backend_ops *(*vmrd_backend_plugin_init_fn)(uint32_t abi_version);

#endif
