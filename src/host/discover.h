/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_DISCOVER_H
#define VMRD_HOST_DISCOVER_H

/*
 * Zero-configuration discovery of libvirt domains, and the one libvirt
 * connection every libvirt VM's driver (driver_libvirt.c) goes through.
 *
 * The libvirt C API is synchronous, so all of it runs on one thread of
 * its own (the common worker, started once, running libvirt's event loop
 * until it is stopped): connecting (again, with the common backoff),
 * domain lifecycle and size events, and the commands the drivers queue.
 * What it learns comes back to the daemon's loop as messages through an
 * eventfd; nothing else crosses threads.
 *
 * A running domain is managed when, in its live XML:
 *  1. its name is usable as a VM name (1-31 of A-Z a-z 0-9 . _ -);
 *  2. it has a unix <channel> whose target is virtio name org.vmrd.0, with
 *     a socket QEMU serves (source mode bind; libvirt picks the path when
 *     none is given);
 *  3. it has a <memory model='virtio-mem'> device (with size and block)
 *     or a <memballoon model='virtio'>;
 *  4. its <metadata> element, if it has one in the vmrd namespace
 *     (DISCOVER_XMLNS), is valid: <vmrd:vm min="SIZE" max="SIZE"
 *     weight="N"/>, every attribute optional.  Defaults: min = the boot
 *     memory, max = boot memory + the virtio-mem device's size, weight 100.
 * Any other running domain is listed, once, as not managed with the
 * reason (a bad metadata attribute is named).  Domains come and go with
 * libvirt's lifecycle events (started, stopped, crashed, undefined) and
 * their XML is read again when it may have changed (defined, metadata
 * changed, device added or removed); when the set of managed domains or
 * their limits change, the owner's changed() is called and it rebuilds
 * its VM list (discover_config()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "host/config.h"

#define DISCOVER_CHANNEL_NAME "org.vmrd.0"
#define DISCOVER_XMLNS "http://vmrd.org/xmlns/libvirt/1"
#define DISCOVER_NAME_MAX CONFIG_NAME_MAX
#define DISCOVER_PATH_MAX CONFIG_PATH_MAX
#define DISCOVER_WEIGHT_MAX 10000
#define DISCOVER_XML_MAX (4u << 20)

/* One domain as its live XML describes it. */
struct discover_dom {
	char name[2 * DISCOVER_NAME_MAX]; /* room to tell a name that is too long */
	bool managed;
	char reason[160];                 /* why not managed */
	uint64_t boot_bytes;
	uint64_t balloon_actual_bytes;    /* <currentMemory>: boot memory less the balloon */
	char balloon_alias[CONFIG_ID_MAX];
	char vmem_alias[CONFIG_ID_MAX];
	uint64_t vmem_max_bytes;
	uint64_t vmem_block_bytes;
	uint64_t vmem_requested_bytes;
	uint64_t vmem_current_bytes;
	char channel_path[DISCOVER_PATH_MAX];
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint32_t weight;
};

/*
 * Parse a domain's XML (pure).  0 with ret filled (managed or not, with
 * the reason), -EINVAL when it is not a domain's XML at all, -E2BIG.
 */
int discover_parse_xml(const char *xml, size_t len, struct discover_dom *ret);

/*
 * The XML of the virtio-mem device with alias, its <requested> set to
 * bytes, for virDomainUpdateDeviceFlags() (pure).  *ret is malloc'ed.
 * 0, -ENOENT (no such device), -EINVAL.
 */
int discover_vmem_update_xml(const char *xml, size_t len, const char *alias, uint64_t bytes,
			     char **ret);

struct discover;

struct discover_ops {
	/* The managed domains or their limits changed: time to call discover_config(). */
	void (*changed)(void *ctx);
};

/* Connect to uri (on the thread, retrying) and discover.  0 or -errno. */
int discover_open(struct loop *loop, const char *uri, const struct discover_ops *ops, void *ctx,
		  struct discover **ret);
void discover_close(struct discover *disc);

/* Append a VM for every managed domain whose name the config does not use yet. */
void discover_config(struct discover *disc, struct config *cfg);

/* ---- for driver_libvirt.c ---- */

enum discover_news {
	DISCOVER_NEWS_UP,     /* the domain runs and the connection is up */
	DISCOVER_NEWS_DOWN,   /* the connection or the domain went away */
	DISCOVER_NEWS_VMEM,   /* dom->vmem_current_bytes changed (event) */
	DISCOVER_NEWS_BALLOON,/* dom->balloon_actual_bytes changed (event) */
};

typedef void discover_watch_fn(void *ctx, enum discover_news what, const struct discover_dom *dom);
/* A command's answer: err 0 or -errno with libvirt's message; dom after a refresh. */
typedef void discover_done_fn(void *ctx, int err, const char *msg, const struct discover_dom *dom);

/* Hear about domain name (one watcher per name); UP comes at once when it already runs. */
int discover_watch(struct discover *disc, const char *name, discover_watch_fn *fn, void *ctx);
/* Stop hearing, and drop the answers still due to ctx. */
void discover_unwatch(struct discover *disc, const char *name, void *ctx);

/* Read the domain's XML again. */
int discover_refresh(struct discover *disc, const char *name, discover_done_fn *fn, void *ctx);
/* virtio-mem <requested> (virsh update-memory-device --requested-size). */
int discover_set_vmem(struct discover *disc, const char *name, const char *alias, uint64_t bytes,
		      discover_done_fn *fn, void *ctx);
/* The balloon (virsh setmem --live). */
int discover_set_balloon(struct discover *disc, const char *name, uint64_t bytes,
			 discover_done_fn *fn, void *ctx);

/* The connection's state for status: "down", "connecting", "ready". */
const char *discover_link_word(const struct discover *disc);
unsigned discover_connects(const struct discover *disc);

#endif
