/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PAGEMODEL_H
#define VMRD_PAGEMODEL_H

/*
 * How much host memory a give-back frees: a model of one guest's page
 * frames and of the host pages behind them (issue 12, item 5).  It stands
 * beside the measurement (make bench-mechanisms, bench/sections/
 * mechanisms.md) and reproduces it: vmrd-pagemodel runs the measured
 * scenarios here and prints both side by side.
 *
 * Every 4 KiB guest frame is free, in use (anonymous or kernel), page
 * cache, in the balloon, or unplugged, and has a host-populated bit: the
 * host holds a page behind it because the guest wrote it.  QEMU's RSS is
 * the populated frames plus the process's own overhead.  Pure: no I/O, no
 * clock (time is an argument), no log; memory is allocated only in
 * pagemodel_init().  In order, what each operation does:
 *
 *  1. Allocation.  Frames are taken from the zone user pages prefer
 *     (ZONE_MOVABLE, the virtio-mem memory, at the top of the address
 *     space), then from the boot memory.  Within a zone, the reuse order
 *     decides which free frame comes next: PAGEMODEL_MRU the one freed
 *     last (Linux's per-cpu and buddy free lists are LIFO), never-touched
 *     frames last, lowest address first; PAGEMODEL_FIRST_FIT the lowest
 *     free address.  An allocation writes the frame: it is populated
 *     (a reported frame is populated again).
 *  2. Reclaim.  When no frame is free, the oldest page cache is dropped
 *     (the LRU) and its frames become free, most recent on top.
 *  3. Free page reporting (pagemodel_report(), when fpr is on): every
 *     aligned free block of pageblock order (2 MiB) whose frames have all
 *     been free for report_delay_usec is reported, and the host discards
 *     its pages: they are no longer populated.  A block with one frame in
 *     use is never reported.
 *  4. Balloon inflation (pagemodel_balloon()): the balloon allocates pages
 *     of balloon_order (0: 4 KiB) as in 1 and 2 (an order above 0 needs a
 *     whole free aligned block), and the host discards each: what it gets
 *     back is the frames of them that were populated.
 *  5. virtio-mem unplug (pagemodel_unplug()): whole device blocks (2 MiB)
 *     from the top of ZONE_MOVABLE.  Clean page cache in them is dropped;
 *     other pages in use migrate to frames allocated as in 1 outside the
 *     unplugged range (populating them).  The host discards the whole
 *     block.  Dropping rather than migrating the cache is the assumption
 *     the measurement supports (256 MiB of cache unplugged gave back
 *     254 MiB, which migration into never-touched frames would not).
 *  6. Cache trim (pagemodel_trim()): page cache is dropped; its frames are
 *     free and come back to the host only through 3.
 */

#include <stdbool.h>
#include <stdint.h>

#define PAGEMODEL_PAGE_BYTES 4096ull
#define PAGEMODEL_BLOCK_PAGES 512u     /* pageblock order 9: 2 MiB */

enum pagemodel_order {
	PAGEMODEL_MRU = 0,
	PAGEMODEL_FIRST_FIT,
};

enum pagemodel_use {
	PAGEMODEL_FREE = 0,
	PAGEMODEL_ANON,     /* user pages: movable */
	PAGEMODEL_KERNEL,   /* unmovable; only the boot memory holds it */
	PAGEMODEL_CACHE,    /* clean page cache */
	PAGEMODEL_BALLOON,
	PAGEMODEL_UNPLUGGED,
};

struct pagemodel_params {
	uint64_t boot_bytes;         /* the guest's boot memory */
	uint64_t movable_bytes;      /* virtio-mem plugged at boot, ZONE_MOVABLE */
	uint64_t kernel_bytes;       /* in use since boot (kernel, daemons), at the bottom */
	uint32_t pinned_blocks;      /* boot-memory blocks above it with one kernel page each */
	uint64_t overhead_bytes;     /* QEMU's own memory, for RSS */
	enum pagemodel_order order;
	bool fpr;                    /* free page reporting */
	uint64_t report_delay_usec;  /* a block is reported after it was free this long */
	uint32_t balloon_order;      /* pages of 4 KiB << order; at most 9 */
};

#define PAGEMODEL_POPULATED 1u        /* frame flags */
#define PAGEMODEL_REPORTED 2u

struct pagemodel_frame {
	uint8_t use;                 /* enum pagemodel_use */
	uint8_t flags;
	uint32_t prev, next;         /* the zone's free list while free */
	uint32_t slot;               /* its place in a ring while ANON or CACHE */
	uint64_t freed_usec;
};

struct pagemodel {
	struct pagemodel_params p;
	uint32_t n;                  /* frames */
	uint32_t movable_start;      /* the first ZONE_MOVABLE frame (n: none) */
	struct pagemodel_frame *f;
	uint32_t head[2];            /* per zone: the MRU free list */
	uint32_t lowest_free[2];     /* per zone: no free frame below it */
	uint32_t *ring;              /* two FIFO rings of n: anonymous memory, the page cache LRU */
	uint32_t ring_first[2], ring_count[2];
	uint64_t populated;          /* frames */
	uint64_t count[PAGEMODEL_UNPLUGGED + 1];
};

/* The measured guest: 512 MiB, 120 MiB in use, MRU, FPR on, 2 s delay, 4 KiB balloon pages. */
void pagemodel_params_defaults(struct pagemodel_params *p);

/*
 * A booted guest: kernel_bytes in use and populated at the bottom, one
 * kernel frame in each of pinned_blocks blocks above them, the rest free
 * and never touched.  -EINVAL for sizes that are not whole blocks, or an
 * unknown order; -ENOMEM.
 */
int pagemodel_init(struct pagemodel *m, const struct pagemodel_params *p);
void pagemodel_free(struct pagemodel *m);

/* QEMU's RSS: populated frames and the overhead. */
uint64_t pagemodel_rss_bytes(const struct pagemodel *m);
/* Bytes of frames in one use. */
uint64_t pagemodel_bytes(const struct pagemodel *m, enum pagemodel_use use);

/*
 * The workload, at now_usec.  pagemodel_alloc(): use is ANON, KERNEL or
 * CACHE; returns the bytes it got (less when nothing is left to reclaim).
 * pagemodel_release(): bytes of ANON are freed, oldest first, as munmap()
 * walks a mapping that was touched in order.
 */
uint64_t pagemodel_alloc(struct pagemodel *m, enum pagemodel_use use, uint64_t bytes,
			 uint64_t now_usec);
uint64_t pagemodel_release(struct pagemodel *m, uint64_t bytes, uint64_t now_usec);

/* Step 3, when fpr is on; returns the bytes the host discarded that were populated. */
uint64_t pagemodel_report(struct pagemodel *m, uint64_t now_usec);

/* Steps 4 to 6.  Each returns the bytes the guest gave up (the balloon's, unplugged, dropped). */
uint64_t pagemodel_balloon(struct pagemodel *m, uint64_t bytes, uint64_t now_usec);
uint64_t pagemodel_unplug(struct pagemodel *m, uint64_t bytes, uint64_t now_usec);
uint64_t pagemodel_trim(struct pagemodel *m, uint64_t now_usec);

#endif
