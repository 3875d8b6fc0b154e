/* SPDX-License-Identifier: MIT */
#ifndef VMRD_MEMINFO_H
#define VMRD_MEMINFO_H

#include <stddef.h>
#include <stdint.h>

/* The /proc/meminfo fields vmrd uses, in bytes. */
struct meminfo {
	uint64_t mem_total_bytes;
	uint64_t mem_free_bytes;
	uint64_t mem_available_bytes;
	uint64_t buffers_bytes;
	uint64_t cached_bytes;
	uint64_t active_file_bytes;
	uint64_t inactive_file_bytes;
	uint64_t shmem_bytes;
	uint64_t swap_total_bytes;
	uint64_t swap_free_bytes;
	uint64_t committed_as_bytes;
	uint64_t anon_pages_bytes;
	/* What only the kernel zones can hold (see sensors/zoneinfo.h). */
	uint64_t slab_reclaimable_bytes;
	uint64_t slab_unreclaimable_bytes;
	uint64_t kernel_stack_bytes;
	uint64_t page_tables_bytes;
};

/*
 * -EINVAL for a malformed line of a known field, -ENODATA when MemTotal,
 * MemFree or MemAvailable is missing, -ERANGE for kB values that overflow
 * bytes.  Unknown fields are ignored.
 */
int meminfo_parse(const char *buf, size_t len, struct meminfo *ret);
int meminfo_read(int rootfd, struct meminfo *ret); /* proc/meminfo */

#endif
