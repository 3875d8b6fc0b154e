/* SPDX-License-Identifier: MIT */
#ifndef VMRD_BACKENDS_SYSFS_H
#define VMRD_BACKENDS_SYSFS_H

/*
 * The sysfs backend onlines and offlines memory blocks that are already
 * present (hot-added by ACPI, virtio-mem in "auto-online off" mode, or
 * the host's DIMM hotplug): sys/devices/system/memory under env->rootfd.
 *
 * Accounting: sizes are online blocks x block size.  This is not MemTotal:
 * the kernel keeps some of boot memory for itself and takes struct pages
 * out of what it onlines, so MemTotal is a little lower, but the two move
 * together block by block, and the policy only compares the backend's
 * figures with each other.
 *
 *   min:  online blocks the kernel will not give up (not removable, or not
 *         in ZONE_MOVABLE: boot memory), or the config key `min` if larger.
 *   max:  every present block, or the config key `max` if smaller.
 *   releasable: online, removable blocks in ZONE_MOVABLE, down to min.
 *
 * Grow onlines offline blocks lowest id first, as "online_movable" so they
 * can be taken back later, falling back to "online" when the kernel refuses
 * ZONE_MOVABLE for that block.  Shrink offlines ZONE_MOVABLE blocks highest
 * id first: /proc/zoneinfo counts free pages per zone, not per block, so
 * there is no per-block free figure to sort by; the highest blocks were
 * onlined last and so hold the youngest allocations, and taking blocks from
 * the top keeps the online range contiguous for the hypervisor's unplug.
 * ZONE_NORMAL blocks are never offlined: they hold unmovable kernel memory
 * and offlining them mostly fails after seconds of migration.
 *
 * A block that refuses (EBUSY/EAGAIN while pages are pinned, or any other
 * error) is skipped and the next candidate tried.  The request ends with
 * status 0 and reason "ok" when the whole step was made, status 0 and
 * reason "partial" when only part of it was (current_bytes says how much),
 * and when no block moved at all with -EBUSY/"ebusy" (also for EAGAIN) or
 * the first other error and its name ("eisdir", ...).  Growing with no
 * offline block left is -ENOSPC/"no_blocks".  The writes run on a worker
 * thread: offlining one block can take seconds.
 *
 * Config keys ([backend]): min, max (sizes).
 */

#include <stdint.h>

#include "sensors/memblock.h"

struct sysfs_survey {
	uint64_t block_bytes;
	uint64_t current_bytes;
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint64_t releasable_bytes;
};

/* Pure: the figures above for one scan; cfg_max 0 means "no limit". */
void sysfs_survey_compute(const struct memblock_set *set, uint64_t cfg_min_bytes,
			  uint64_t cfg_max_bytes, struct sysfs_survey *ret);

/* True for a block the shrink path may try to offline. */
int sysfs_block_offlinable(const struct memblock *b);

/*
 * For tests: replace the state writer (memblock_set_state by default), to
 * inject the kernel's refusals (EBUSY) that a fixture tree cannot produce
 * for root.  Call it before the first request.
 */
void sysfs_backend_set_writer(void *backend_state,
			      int (*fn)(int rootfd, uint32_t id, const char *state, void *ctx),
			      void *ctx);

#endif
