/* SPDX-License-Identifier: MIT */
#ifndef VMRD_ZONEINFO_H
#define VMRD_ZONEINFO_H

#include <stddef.h>
#include <stdint.h>

/* Free and managed memory per zone type, summed over NUMA nodes, in bytes. */
struct zoneinfo {
	uint64_t normal_free_bytes;
	uint64_t normal_managed_bytes;
	uint64_t movable_free_bytes;
	uint64_t movable_managed_bytes;
	uint64_t dma32_free_bytes;
	uint64_t dma32_managed_bytes;
};

/* page_size_bytes converts the page counts of /proc/zoneinfo. */
int zoneinfo_parse(const char *buf, size_t len, uint64_t page_size_bytes, struct zoneinfo *ret);
int zoneinfo_read(int rootfd, struct zoneinfo *ret); /* proc/zoneinfo */

#endif
