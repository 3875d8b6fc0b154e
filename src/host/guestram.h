/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_GUESTRAM_H
#define VMRD_HOST_GUESTRAM_H

/*
 * How much of a hypervisor process's resident memory is guest RAM, read
 * from /proc/PID/smaps.  The budget counts a VM at its guest size plus
 * its hypervisor's own memory (the overhead); RSS minus the guest size
 * says nothing of that overhead while the guest has not yet touched all
 * its memory (a fresh VM holds 40 MiB of a 512 MiB guest), so a strict
 * budget counted 0 overhead for a new VM and let the host's real total run
 * over it once the guests filled up.
 *
 * Guest RAM is recognised by its mappings: a memory backend (boot RAM,
 * a virtio-mem device's memdev, a DIMM) is one mapping of at least
 * GUESTRAM_MIN_MAPPING bytes that is not executable.  QEMU's own large
 * mappings are smaller (malloc arenas are 64 MiB) or executable (the TCG
 * translation buffer, 1 GiB rwx).  Reading smaps walks the page tables, so
 * the broker does it every few seconds, not every round.
 *
 * A pure line parser and a thin reader relative to an injected root.
 */

#include <stddef.h>
#include <stdint.h>

#define GUESTRAM_MIN_MAPPING (128ull << 20)

/* What one pass over smaps found, in bytes. */
struct guestram {
	uint64_t rss_bytes;       /* every mapping's Rss */
	uint64_t guest_bytes;     /* Rss of the guest RAM mappings */
	unsigned guest_mappings;  /* how many mappings were taken for guest RAM */
	/* The parser's state: the mapping whose fields are being read. */
	int in_guest;
};

/* Start a pass. */
void guestram_begin(struct guestram *g);

/*
 * Feed one line of smaps (without its newline).  -EINVAL for a mapping
 * header or an Rss line it cannot read; other lines are ignored.
 */
int guestram_line(struct guestram *g, const char *line, size_t len);

/*
 * One pass over proc/PID/smaps relative to rootfd.  -ENOENT: the process
 * is gone; -EACCES: not ours to read (then the caller falls back to RSS
 * against the guest size); -ENODATA: no mapping looks like guest RAM.
 */
int guestram_read(int rootfd, int pid, struct guestram *ret);

#endif
