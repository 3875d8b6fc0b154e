/* SPDX-License-Identifier: MIT */
#ifndef VMRD_ZONEINFO_H
#define VMRD_ZONEINFO_H

/*
 * /proc/zoneinfo, folded into the two groups that matter for hot-plugged
 * memory.  ZONE_MOVABLE can hold only movable pages (anonymous memory,
 * regular file cache); the kernel zones (DMA, DMA32, Normal) hold those
 * and everything the kernel cannot move: slab, page tables, kernel stacks,
 * block-device buffers.  Memory plugged into ZONE_MOVABLE therefore cannot
 * relieve a shortage of the kernel zones, and vmrd tells the two apart.
 */

#include <stddef.h>
#include <stdint.h>

/* One group of zones, summed over its zones and over NUMA nodes, in bytes. */
struct zoneinfo_group {
	uint64_t free_bytes;
	/* The reclaim watermarks: kswapd wakes below low and sleeps above high. */
	uint64_t min_bytes;
	uint64_t low_bytes;
	uint64_t high_bytes;
	uint64_t present_bytes; /* onlined, including virtio-mem subblocks not plugged */
	uint64_t managed_bytes; /* handed to the page allocator */
	uint64_t file_bytes;    /* nr_zone_active_file + nr_zone_inactive_file */
	uint64_t anon_bytes;    /* nr_zone_active_anon + nr_zone_inactive_anon */
};

struct zoneinfo {
	struct zoneinfo_group kernel;  /* every zone but Movable and Device */
	struct zoneinfo_group movable; /* ZONE_MOVABLE */
};

/*
 * page_size_bytes converts the page counts of /proc/zoneinfo.  -EINVAL for
 * malformed text or a field given twice in one zone, -ERANGE for counts
 * that overflow bytes, -ENODATA when there is no zone at all or a counted
 * zone lacks "pages free" or "managed".  Watermarks, present and the LRU
 * counters are 0 when a kernel does not print them.
 */
int zoneinfo_parse(const char *buf, size_t len, uint64_t page_size_bytes, struct zoneinfo *ret);
/*
 * proc/zoneinfo, through a static buffer of ZONEINFO_READ_MAX bytes (the
 * file grows with CPUs and nodes); -EFBIG when it does not fit.
 */
int zoneinfo_read(int rootfd, struct zoneinfo *ret);

#define ZONEINFO_READ_MAX (256 * 1024)

#endif
