/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PLACEMENT_H
#define VMRD_PLACEMENT_H

/*
 * Where hot-plugged memory goes.  The kernel onlines memory that virtio-mem
 * (or ACPI) adds as /sys/devices/system/memory/auto_online_blocks says:
 * "online_movable" puts it in ZONE_MOVABLE (it can be unplugged again, but
 * holds no slab, page tables or buffers), "online_kernel" in the kernel
 * zones (holds anything, hard to unplug), "online" lets the kernel choose
 * (memory_hotplug.online_policy: contig-zones or auto-movable), "offline"
 * leaves it to user space.  vmrd keeps "online_movable" as the resting
 * state and switches to "online_kernel" for the duration of a grow the
 * policy placed in the kernel zones.  The probe says whether it can.
 *
 * A thin adapter: pure parsers, and reads and writes relative to an
 * injected root so that tests point it at a fixture tree.
 */

#include <stdbool.h>
#include <stddef.h>

enum placement_mode {
	PLACEMENT_UNKNOWN = 0,
	PLACEMENT_OFFLINE,
	PLACEMENT_ONLINE,          /* the kernel's online_policy decides */
	PLACEMENT_ONLINE_KERNEL,
	PLACEMENT_ONLINE_MOVABLE,
};

struct placement {
	enum placement_mode mode;  /* auto_online_blocks now */
	bool writable;             /* we may switch it */
	bool auto_movable;         /* memory_hotplug.online_policy=auto-movable */
};

/* "online_movable\n" and the like; -EINVAL for anything else. */
int placement_parse_mode(const char *buf, size_t len, enum placement_mode *ret);
const char *placement_mode_name(enum placement_mode mode);

/*
 * Read sys/devices/system/memory/auto_online_blocks, whether it is
 * writable, and sys/module/memory_hotplug/parameters/online_policy (absent
 * on old kernels: not auto-movable).  -ENOENT without memory hotplug.
 */
int placement_probe(int rootfd, struct placement *ret);

/* Write the mode (PLACEMENT_ONLINE_KERNEL or _MOVABLE, or any other) to auto_online_blocks. */
int placement_set(int rootfd, enum placement_mode mode);

#endif
