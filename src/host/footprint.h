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

/*
 * What a VM gave up and what the host got back, per give-back mechanism:
 * N, the sum of the falls of the guest's memory through the mechanism
 * (virtio-mem plugged, the boot memory the balloon leaves the guest), and
 * M, the fall of its QEMU's RSS they caused.  Pure: the owner passes each
 * RSS sample with the sizes at that time and the time.  In order:
 *
 *  1. The first sample only sets the reference.
 *  2. A size that fell opens an episode (if none is open) whose base is
 *     the RSS of the sample before; the fall counts at once as given up,
 *     to the episode and to the mechanism's total.
 *  3. The episode closes FOOTPRINT_SETTLE_USEC after the last fall (the
 *     balloon hands pages over for seconds, and free page reporting waits
 *     2 s), or at once when a size grows (the guest takes memory again).
 *     M is base - the lowest RSS seen in the episode (before a growth), at
 *     least 0 and at most what the episode gave up, shared among the
 *     mechanisms by what each gave up.  The lowest, not the last: a guest
 *     that touches memory again while the balloon settles (its next burst
 *     before it asks to grow) raises RSS for reasons not the give-back's.
 * So M follows N by up to FOOTPRINT_SETTLE_USEC, and a give-back while the
 * guest also fills memory elsewhere shows a smaller M: it is what the host
 * observed, not a model.
 */
enum footprint_mech {
	FOOTPRINT_VMEM = 0,
	FOOTPRINT_BALLOON,
	FOOTPRINT_MECH__MAX,
};

#define FOOTPRINT_SETTLE_USEC (10 * 1000000ull)

struct footprint_giveback {
	bool valid;
	uint64_t last_rss_bytes;
	uint64_t last_size_bytes[FOOTPRINT_MECH__MAX];
	/* The open episode. */
	bool open;
	uint64_t base_rss_bytes;
	uint64_t low_rss_bytes;
	uint64_t episode_bytes[FOOTPRINT_MECH__MAX];
	uint64_t last_fall_usec;
	/* The totals: N and M per mechanism. */
	uint64_t gave_up_bytes[FOOTPRINT_MECH__MAX];
	uint64_t back_bytes[FOOTPRINT_MECH__MAX];
};

/* "virtio-mem", "balloon": the metrics' mechanism label. */
const char *footprint_mech_name(enum footprint_mech m);

void footprint_giveback_sample(struct footprint_giveback *g, uint64_t now_usec, uint64_t rss_bytes,
			       const uint64_t size_bytes[FOOTPRINT_MECH__MAX]);

#endif
