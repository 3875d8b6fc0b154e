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

/*
 * page_size_bytes converts the page counts of /proc/zoneinfo.  -EINVAL for
 * malformed text, -ERANGE for counts that overflow bytes, -ENODATA when
 * there is no zone at all or a DMA32/Normal/Movable zone lacks "pages free"
 * or "managed".
 */
int zoneinfo_parse(const char *buf, size_t len, uint64_t page_size_bytes, struct zoneinfo *ret);
/*
 * proc/zoneinfo, through a static buffer of ZONEINFO_READ_MAX bytes (the
 * file grows with CPUs and nodes); -EFBIG when it does not fit.
 */
int zoneinfo_read(int rootfd, struct zoneinfo *ret);

#define ZONEINFO_READ_MAX (256 * 1024)

#endif
