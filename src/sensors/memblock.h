/* SPDX-License-Identifier: MIT */
#ifndef VMRD_MEMBLOCK_H
#define VMRD_MEMBLOCK_H

/* Memory blocks: /sys/devices/system/memory. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum memblock_state {
	MEMBLOCK_UNKNOWN = 0,
	MEMBLOCK_ONLINE,
	MEMBLOCK_OFFLINE,
	MEMBLOCK_GOING_OFFLINE,
};

/* Bits of valid_zones. */
enum memblock_zone {
	MEMBLOCK_ZONE_DMA = 1u << 0,
	MEMBLOCK_ZONE_DMA32 = 1u << 1,
	MEMBLOCK_ZONE_NORMAL = 1u << 2,
	MEMBLOCK_ZONE_MOVABLE = 1u << 3,
	MEMBLOCK_ZONE_NONE = 1u << 4,
};

struct memblock {
	uint32_t id;        /* memoryN */
	enum memblock_state state;
	uint32_t valid_zones; /* online: the zone it is in; offline: where it could go */
	bool removable;
};

struct memblock_set {
	uint64_t block_size_bytes;
	size_t n;
	size_t cap;
	struct memblock *blocks; /* caller-owned array of cap entries, sorted by id */
};

/* Pure parsers of the single-value files. */
int memblock_parse_block_size(const char *buf, size_t len, uint64_t *ret); /* hex */
int memblock_parse_state(const char *buf, size_t len, enum memblock_state *ret);
int memblock_parse_zones(const char *buf, size_t len, uint32_t *ret);

/*
 * Scan sys/devices/system/memory under rootfd.  -ENOSPC when cap is too
 * small.  n and block_size_bytes are set only on success; on failure the
 * entries of blocks may have been overwritten.  A block whose state file
 * vanishes during the scan (hot-unplugged) is left out; a missing
 * valid_zones reads as 0 and a missing removable as true (kernels that
 * still have the file report 1 for every block).
 */
int memblock_scan(int rootfd, struct memblock_set *set);
/* Write "online_movable", "online" or "offline" to memoryN/state. */
int memblock_set_state(int rootfd, uint32_t id, const char *state);

const char *memblock_state_name(enum memblock_state s);

#endif
