/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_DRIVER_H
#define VMRD_HOST_DRIVER_H

/*
 * The hypervisor side of one VM: what its memory is made of (boot memory,
 * virtio-mem, balloon), the arithmetic of sizes, and setting a total size.
 * A leaf like vm.c: it gets a struct driver_env, knows nothing of the
 * broker, and reports news bits the broker takes with driver_take_news().
 *
 * Sizes are the VM's total memory as the host accounts it:
 *	current = boot memory + virtio-mem plugged - balloon
 * A target above the boot memory comes from virtio-mem (whole device
 * blocks, at most the device's maximum); below it only the balloon can
 * take memory away.  A VM with both whose balloon frees more host memory
 * per MiB (its balloon_efficiency key) shrinks through the balloon first.  Every target is clamped to the VM's [min, max] right
 * before the hypervisor sees it.
 *
 * The hypervisor itself is behind struct driver_ops, one table per kind:
 * QMP today (driver_qmp.c); libvirt, Cloud Hypervisor or Firecracker fit
 * the same table.  The generic part (driver.c) owns the sizes and the
 * bookkeeping of what was applied; an implementation only talks to its
 * hypervisor, fills d->sizes from what it hears, and calls the driver_*()
 * functions in the second half of this header.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "common/ratelimit.h"
#include "host/config.h"

struct driver;
struct discover;

/* What every VM's driver shares. */
struct driver_env {
	struct loop *loop;
	struct discover *libvirt;  /* the libvirt connection of discovery (NULL: none) */
	bool dry_run;      /* decide and log, but never resize */
};

/*
 * What the VM's memory is made of, as the hypervisor last said.  The
 * requested and target values change only when the hypervisor took them:
 * a resize in flight or refused leaves them at what it holds.
 */
struct driver_sizes {
	uint64_t boot_bytes;           /* boot memory (-m) */
	uint64_t vmem_size_bytes;      /* virtio-mem: plugged by the guest */
	uint64_t vmem_requested_bytes; /* virtio-mem: asked of the guest */
	uint64_t vmem_max_bytes;
	uint64_t vmem_block_bytes;
	uint64_t balloon_actual_bytes; /* boot memory minus what the balloon holds */
	uint64_t balloon_target_bytes; /* the balloon value last set (0: none yet) */
};

/* News for the owner, taken with driver_take_news(). */
enum driver_news {
	DRIVER_NEWS_RECONCILED = 1u << 0, /* sizes known again after the link came up */
	DRIVER_NEWS_SIZE = 1u << 1,       /* the current size may have changed */
	DRIVER_NEWS_DOWN = 1u << 2,       /* the link to the hypervisor was lost */
	DRIVER_NEWS_APPLIED = 1u << 3,    /* a resize was confirmed or refused: applied_bytes is news */
	DRIVER_NEWS_PID = 1u << 4,        /* the hypervisor's process is known (again): pid */
};

/* The two ways a driver resizes; each resize command names the one it was. */
enum driver_device {
	DRIVER_VMEM = 0,
	DRIVER_BALLOON,
};

struct driver_ops {
	const char *name;
	/* Set up the implementation's state in d->impl; connecting is tick's job. */
	int (*open)(struct driver *d);
	/* Close the link now, without callbacks; the state stays until close. */
	void (*stop)(struct driver *d);
	/* Free the state (after the loop turn: watches may still be in its batch). */
	void (*close)(struct driver *d);
	/* Connect or reconnect when due, time out what waits too long. */
	void (*tick)(struct driver *d, uint64_t now_usec);
	/*
	 * Ask for the sizes: all of them after the link came up (ends in
	 * driver_reconcile_done()), or only those that change (refresh).
	 */
	int (*query)(struct driver *d, bool reconcile, uint64_t now_usec);
	/* Resize; each accepted command ends in one driver_resize_done() for its device. */
	int (*set_vmem)(struct driver *d, uint64_t requested_bytes, uint64_t now_usec);
	int (*set_balloon)(struct driver *d, uint64_t target_bytes, uint64_t now_usec);
	/* For status: the link's state in a word, and how often it came up. */
	const char *(*link_word)(const struct driver *d);
	unsigned (*connects)(const struct driver *d);
};

extern const struct driver_ops driver_qmp_ops;
extern const struct driver_ops driver_ch_ops;   /* driver_ch.c, on driver_http.c */
extern const struct driver_ops driver_fc_ops;   /* driver_fc.c, on driver_http.c */

struct driver {
	struct config_vm cfg;          /* name, sockets, device ids, min, max */
	const struct driver_env *env;
	const struct driver_ops *ops;
	void *impl;
	unsigned news;                 /* enum driver_news bits not yet taken */

	struct driver_sizes sizes;
	bool link_up;                  /* the hypervisor answers (driver_link_up() .. _down()) */
	bool reconciled;               /* sizes known since the link came up */
	/* A reconciliation that failed on a link that stays up is tried again with this. */
	struct backoff reconcile_retry;
	bool reconcile_again;          /* ...when reconcile_retry says so */
	int unreachable_err;           /* the last driver_link_failed() error said (0: none) */
	/*
	 * Refreshes follow the guest's `done`, which the guest may send as often
	 * as it likes: coalesced to DRIVER_REFRESH_BURST, then one per
	 * DRIVER_REFRESH_USEC; one asked for meanwhile is sent when it may.
	 */
	struct ratelimit refresh_rl;
	bool refresh_again;
	uint64_t commands_total;       /* commands sent to the hypervisor (queries and resizes) */
	/*
	 * The total size the hypervisor confirmed holding as its target: only
	 * a resize it answered moves it, so a shrink in flight or refused
	 * still counts at the old size (the arbiter's "applied").
	 */
	uint64_t applied_bytes;
	uint64_t wanted_bytes;         /* the last total size asked for */
	unsigned apply_inflight;       /* resize commands awaiting an answer */
	bool apply_again;              /* a newer target came while some were in flight */
	uint64_t pending_bytes[2];     /* per enum driver_device: the value in flight */
	bool apply_failed;             /* the last resize was refused: retried with backoff */
	bool batch_failed;             /* ...some command of the batch in flight was */
	struct backoff retry;          /* the common backoff between retries of a refused resize */
	int pid;                       /* the hypervisor's process (0: not known), for its footprint */
	unsigned errors;               /* failed hypervisor commands */
	char error[64];                /* the last one's class, for status */
};

/* --- for the owner --- */

/* Start driving the VM of cfg (connection comes with driver_tick()).  0 or -errno. */
int driver_init(struct driver *d, const struct driver_env *env, const struct driver_ops *ops,
		const struct config_vm *cfg);
/* Drop the link at once (the VM is going away); driver_close() frees it after the loop turn. */
void driver_stop(struct driver *d);
void driver_close(struct driver *d);

/* A reload changed the VM's limits (the sockets and devices stay). */
void driver_set_limits(struct driver *d, uint64_t min_bytes, uint64_t max_bytes);

/* Connect when due; retry a refused resize when its backoff is over. */
void driver_tick(struct driver *d, uint64_t now_usec);

/* The news since the last call (enum driver_news bits), and none left. */
unsigned driver_take_news(struct driver *d);

static inline bool driver_reconciled(const struct driver *d)
{
	return d->reconciled;
}

/*
 * boot + virtio-mem plugged - balloon.  The balloon's actual size comes
 * from the guest, so it is not believed below the balloon target set.
 */
uint64_t driver_current_bytes(const struct driver *d);
/* The block size the guest should align to. */
uint64_t driver_block_bytes(const struct driver *d);

/*
 * After DRIVER_NEWS_RECONCILED: the total size the hypervisor holds as its
 * target.  virtio-mem's requested-size is the truth; a balloon target
 * cannot be queried, so it is the one set before, else saved_bytes (the
 * state file, 0: none) when below the boot memory, else the balloon's
 * actual size.  That target also counts as applied.
 */
uint64_t driver_reconciled_target(struct driver *d, uint64_t saved_bytes);

/*
 * Set the VM's total size (clamped to [min, max] and to what the devices
 * can do).  applied_bytes follows only when the hypervisor confirms; a
 * refused resize is rolled back (the sizes keep what the hypervisor holds)
 * and retried from driver_tick() with backoff (-EAGAIN until then).
 */
int driver_apply(struct driver *d, uint64_t target_bytes, uint64_t now_usec);

/* The total the hypervisor holds as its target, from the sizes it confirmed. */
uint64_t driver_confirmed_bytes(const struct driver *d);

/* Ask the hypervisor for the sizes again (after the guest's `done`), within the refresh budget. */
void driver_refresh(struct driver *d, uint64_t now_usec);

/* For status. */
const char *driver_link_word(const struct driver *d);
unsigned driver_connects(const struct driver *d);

/*
 * Whether a VM with both devices gives memory back through the balloon
 * first: when its balloon_efficiency (host memory back per MiB given up,
 * measured by make bench-mechanisms) is above its virtio_mem_efficiency.
 * Pure.
 */
bool driver_prefers_balloon(const struct config_vm *cfg);

/*
 * Split a total into virtio-mem requested-size and balloon target (pure;
 * 0 for a device the VM does not have).  Virtio-mem first: it holds what
 * is above the boot memory and the balloon what is below.  The balloon
 * first (driver_prefers_balloon()): virtio-mem keeps what it has and the
 * balloon takes a shrink, growth deflates it before virtio-mem plugs more.
 */
void driver_split(const struct config_vm *cfg, const struct driver_sizes *s, uint64_t total_bytes,
		  uint64_t *ret_vmem_bytes, uint64_t *ret_balloon_bytes);

/* --- for implementations --- */

/* The link came up: reconciliation starts. */
void driver_link_up(struct driver *d, uint64_t now_usec);
/* The link was lost (err says why); commands in flight are gone with it. */
void driver_link_down(struct driver *d, int err);
/*
 * An attempt to bring the link up failed (err: why); the implementation
 * retries with its own backoff.  Said once per distinct error, and shown
 * in status, so a VM whose hypervisor is gone is reported, not silent.
 */
void driver_link_failed(struct driver *d, int err);
/*
 * Reconciliation ended: ok, or a query failed.  After a failure on a link
 * that is still up, driver_tick() asks again with backoff (at most every
 * DRIVER_RETRY_MAX_USEC): nothing waits for a reconnect that may never come.
 */
void driver_reconcile_done(struct driver *d, bool ok);
/* d->sizes changed (an answer to a refresh, an event). */
void driver_sizes_changed(struct driver *d);
/*
 * A resize command of dev ended: err 0 (the hypervisor took the value sent)
 * or -errno (a failure, reported with driver_failed(); nothing changed).
 */
void driver_resize_done(struct driver *d, enum driver_device dev, int err, uint64_t now_usec);
/* The hypervisor's process is pid (0: not known); a change is news for the owner. */
void driver_set_pid(struct driver *d, int pid);
/* A command failed: counted, its class kept for status, logged with what it was. */
void driver_failed(struct driver *d, const char *what, const char *error_class, const char *desc);

#endif
