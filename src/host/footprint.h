/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_FOOTPRINT_H
#define VMRD_HOST_FOOTPRINT_H

/*
 * What a VM costs the host: the resident memory of its hypervisor process
 * (QEMU), and the part of it the guest does not explain, its overhead.
 * QEMU holds a few hundred MiB of its own per VM under TCG (translation
 * cache, device state, its heap), less under KVM, never nothing; a budget
 * that counts guest sizes only is not the host's memory.
 *
 * A pure parser of /proc/PID/status (its counters are cheap to read: no
 * page table walk, unlike smaps_rollup) and a thin reader relative to an
 * injected root, plus the pure smoothing of the overhead.  The process is
 * found by the driver (SO_PEERCRED of the QMP socket, or the pid libvirt
 * reports).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The fields of /proc/PID/status that say what a process holds, in bytes. */
struct footprint_sample {
	uint64_t rss_bytes;     /* VmRSS */
	uint64_t anon_bytes;    /* RssAnon */
	uint64_t file_bytes;    /* RssFile */
	uint64_t shmem_bytes;   /* RssShmem */
	uint64_t swap_bytes;    /* VmSwap */
};

/*
 * Parse the text of /proc/PID/status.  -ENODATA without VmRSS (a kernel
 * thread, or a zombie), -EINVAL for a malformed line of a field it knows,
 * -ERANGE for a value that overflows bytes.  Other lines are ignored.
 */
int footprint_parse_status(const char *buf, size_t len, struct footprint_sample *ret);

/* proc/PID/status relative to rootfd.  -ENOENT: the process is gone. */
int footprint_read(int rootfd, int pid, struct footprint_sample *ret);

/* One VM's footprint as the broker keeps it. */
struct footprint {
	bool valid;              /* a sample was taken for this process */
	uint64_t rss_bytes;      /* the last sample's VmRSS */
	uint64_t overhead_bytes; /* smoothed: what the guest's size does not explain */
};

/*
 * Take a sample: rss_bytes held by the process while the guest's size is
 * guest_bytes.  A guest explains at most its size, so overhead is what is
 * held beyond it.  It rises at once (a budget must never count less than
 * the host holds) and falls slowly (by 1/64 of the gap per sample, about a
 * minute at one sample a second): RSS below size + overhead is the
 * guest's untouched or reported memory, not QEMU shrinking.
 */
void footprint_update(struct footprint *f, uint64_t rss_bytes, uint64_t guest_bytes);

#endif
