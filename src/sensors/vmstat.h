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
