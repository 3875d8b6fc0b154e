/* SPDX-License-Identifier: MIT */
#ifndef VMRD_VMSTAT_H
#define VMRD_VMSTAT_H

#include <stddef.h>
#include <stdint.h>

/* The /proc/vmstat counters vmrd uses (cumulative since boot). */
struct vmstat {
	uint64_t oom_kill;
	uint64_t workingset_refault_anon;
	uint64_t workingset_refault_file;
	uint64_t pgmajfault;
	uint64_t allocstall; /* sum of allocstall_* over zones */
	/*
	 * The same split by the zone the stalled allocation asked for: kernel
	 * allocations (slab, page tables: DMA, DMA32, Normal) and user ones
	 * (Movable).  Both 0 on kernels before 4.10.
	 */
	uint64_t allocstall_kernel;
	uint64_t allocstall_movable;
	uint64_t workingset_activate_file; /* refaults of pages that were in the working set */
	uint64_t pgscan;  /* pgscan_kswapd + pgscan_direct */
	uint64_t pgsteal; /* pgsteal_kswapd + pgsteal_direct */
	uint64_t pswpin;
	uint64_t pswpout;
};

/*
 * Missing counters stay 0 (old kernels lack some); malformed lines are
 * -EINVAL, counters too large for 64 bits -ERANGE, and a text with none of
 * these counters at all (it is not /proc/vmstat) -ENODATA.
 */
int vmstat_parse(const char *buf, size_t len, struct vmstat *ret);
int vmstat_read(int rootfd, struct vmstat *ret); /* proc/vmstat */

#endif
