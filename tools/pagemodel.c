/* SPDX-License-Identifier: MIT */
/* The guest's page frames and the host pages behind them; the steps are pagemodel.h's. */
#include "pagemodel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define F_POPULATED PAGEMODEL_POPULATED
#define F_REPORTED PAGEMODEL_REPORTED
#define MIB (1ull << 20)
#define SEC 1000000ull

enum { ZONE_BOOT = 0, ZONE_MOVABLE = 1 };
/* The FIFO rings: anonymous memory (freed oldest first) and the page cache LRU. */
enum { RING_ANON = 0, RING_CACHE = 1 };

void pagemodel_params_defaults(struct pagemodel_params *p)
{
	memset(p, 0, sizeof(*p));
	p->boot_bytes = 512 * MIB;
	/*
	 * Fitted to the measured table (mechanisms.md): what is in use after
	 * boot sets the never-touched memory a cache fill leaves, which the
	 * balloon takes first for nothing (0.72), and the pinned blocks are
	 * what a trim cannot report (0.97).  The overhead only makes the RSS
	 * figures look like QEMU's (227 MiB after a reported burst); no
	 * efficiency depends on it.
	 */
	p->kernel_bytes = 120 * MIB;
	p->pinned_blocks = 4;
	p->overhead_bytes = 107 * MIB;
	p->order = PAGEMODEL_MRU;
	p->fpr = true;
	p->report_delay_usec = 2 * SEC;
}

static int zone_of(const struct pagemodel *m, uint32_t pfn)
{
	return pfn >= m->movable_start ? ZONE_MOVABLE : ZONE_BOOT;
}

static void set_use(struct pagemodel *m, uint32_t pfn, enum pagemodel_use use)
{
	m->count[m->f[pfn].use]--;
	m->f[pfn].use = (uint8_t)use;
	m->count[use]++;
}

static void list_del(struct pagemodel *m, uint32_t pfn)
{
	struct pagemodel_frame *x = &m->f[pfn];
	int z = zone_of(m, pfn);

	if (x->prev != NONE)
		m->f[x->prev].next = x->next;
	else
		m->head[z] = x->next;
	if (x->next != NONE)
		m->f[x->next].prev = x->prev;
	x->prev = x->next = NONE;
}

static void list_push(struct pagemodel *m, uint32_t pfn)
{
	int z = zone_of(m, pfn);

	m->f[pfn].prev = NONE;
	m->f[pfn].next = m->head[z];
	if (m->head[z] != NONE)
		m->f[m->head[z]].prev = pfn;
	m->head[z] = pfn;
}

/*
 * ---- the FIFO rings ----
 * Each has 2n entries: at most n live frames, and at most n stale entries
 * of frames that left it without being taken (unplugged, once each).
 */
#define RING_SIZE(m) (2 * (size_t)(m)->n)

static uint32_t *ring_at(struct pagemodel *m, int r, uint32_t i)
{
	return &m->ring[(size_t)r * RING_SIZE(m) + i];
}

static void ring_put(struct pagemodel *m, int r, uint32_t pfn)
{
	uint32_t i = (uint32_t)((m->ring_first[r] + m->ring_count[r]++) % RING_SIZE(m));

	*ring_at(m, r, i) = pfn;
	m->f[pfn].slot = i;
}

/* The oldest live entry (entries of frames that left the ring are skipped); NONE when empty. */
static uint32_t ring_take(struct pagemodel *m, int r, enum pagemodel_use use)
{
	while (m->ring_count[r]) {
		uint32_t i = m->ring_first[r], pfn = *ring_at(m, r, i);

		m->ring_first[r] = (uint32_t)((i + 1) % RING_SIZE(m));
		m->ring_count[r]--;
		if (pfn != NONE && m->f[pfn].use == use && m->f[pfn].slot == i)
			return pfn;
	}
	return NONE;
}

/* ---- steps 1 and 2: freeing and allocating frames ---- */

static void free_frame(struct pagemodel *m, uint32_t pfn, uint64_t now_usec)
{
	set_use(m, pfn, PAGEMODEL_FREE);
	m->f[pfn].freed_usec = now_usec;
	list_push(m, pfn);
	if (pfn < m->lowest_free[zone_of(m, pfn)])
		m->lowest_free[zone_of(m, pfn)] = pfn;
}

static uint32_t zone_end(const struct pagemodel *m, int z)
{
	return z == ZONE_BOOT ? m->movable_start : m->n;
}

static uint32_t pick(struct pagemodel *m, int z)
{
	uint32_t pfn;

	if (m->p.order == PAGEMODEL_MRU)
		return m->head[z];
	for (pfn = m->lowest_free[z]; pfn < zone_end(m, z); pfn++)
		if (m->f[pfn].use == PAGEMODEL_FREE)
			break;
	m->lowest_free[z] = pfn;
	return pfn < zone_end(m, z) ? pfn : NONE;
}

/* A free frame for use, written by the guest; reclaims cache if it must.  NONE: nothing left. */
static uint32_t take_frame(struct pagemodel *m, enum pagemodel_use use, uint64_t now_usec)
{
	for (;;) {
		uint32_t pfn = NONE, victim;

		if (use != PAGEMODEL_KERNEL && m->movable_start < m->n)
			pfn = pick(m, ZONE_MOVABLE);
		if (pfn == NONE)
			pfn = pick(m, ZONE_BOOT);
		if (pfn != NONE) {
			list_del(m, pfn);
			set_use(m, pfn, use);
			m->populated += !(m->f[pfn].flags & F_POPULATED);
			m->f[pfn].flags = F_POPULATED;
			return pfn;
		}
		victim = ring_take(m, RING_CACHE, PAGEMODEL_CACHE);
		if (victim == NONE)
			return NONE;
		free_frame(m, victim, now_usec);
	}
}

uint64_t pagemodel_alloc(struct pagemodel *m, enum pagemodel_use use, uint64_t bytes,
			 uint64_t now_usec)
{
	uint64_t pages = bytes / PAGEMODEL_PAGE_BYTES, got = 0;

	for (; got < pages; got++) {
		uint32_t pfn = take_frame(m, use, now_usec);

		if (pfn == NONE)
			break;
		if (use == PAGEMODEL_ANON || use == PAGEMODEL_CACHE)
			ring_put(m, use == PAGEMODEL_ANON ? RING_ANON : RING_CACHE, pfn);
	}
	return got * PAGEMODEL_PAGE_BYTES;
}

uint64_t pagemodel_release(struct pagemodel *m, uint64_t bytes, uint64_t now_usec)
{
	uint64_t pages = bytes / PAGEMODEL_PAGE_BYTES, done = 0;

	for (; done < pages; done++) {
		uint32_t pfn = ring_take(m, RING_ANON, PAGEMODEL_ANON);

		if (pfn == NONE)
			break;
		free_frame(m, pfn, now_usec);
	}
	return done * PAGEMODEL_PAGE_BYTES;
}

/* ---- step 3: free page reporting ---- */

static bool block_reportable(const struct pagemodel *m, uint32_t start, uint64_t now_usec)
{
	bool news = false;

	for (uint32_t i = start; i < start + PAGEMODEL_BLOCK_PAGES; i++) {
		const struct pagemodel_frame *x = &m->f[i];

		if (x->use != PAGEMODEL_FREE || now_usec - x->freed_usec < m->p.report_delay_usec)
			return false;
		news |= !(x->flags & F_REPORTED);
	}
	return news;
}

/* The host discards the frames from start on; returns how many were populated. */
static uint64_t discard(struct pagemodel *m, uint32_t start, uint32_t pages, uint8_t flags)
{
	uint64_t back = 0;

	for (uint32_t i = start; i < start + pages; i++) {
		back += m->f[i].flags & F_POPULATED;
		m->f[i].flags = flags;
	}
	m->populated -= back;
	return back;
}

uint64_t pagemodel_report(struct pagemodel *m, uint64_t now_usec)
{
	uint64_t back = 0;

	if (!m->p.fpr)
		return 0;
	for (uint32_t b = 0; b < m->n; b += PAGEMODEL_BLOCK_PAGES)
		if (block_reportable(m, b, now_usec))
			back += discard(m, b, PAGEMODEL_BLOCK_PAGES, F_REPORTED);
	return back * PAGEMODEL_PAGE_BYTES;
}

/* ---- step 4: the balloon ---- */

static bool block_free(const struct pagemodel *m, uint32_t start, uint32_t pages)
{
	for (uint32_t i = start; i < start + pages; i++)
		if (m->f[i].use != PAGEMODEL_FREE)
			return false;
	return true;
}

/* A whole free aligned block of pages frames: the lowest, or (MRU) the one freed last. */
static uint32_t find_block(const struct pagemodel *m, uint32_t pages)
{
	uint32_t best = NONE;
	uint64_t best_usec = 0;

	for (uint32_t b = 0; b < m->n; b += pages) {
		uint64_t newest = 0;

		if (!block_free(m, b, pages))
			continue;
		if (m->p.order == PAGEMODEL_FIRST_FIT)
			return b;
		for (uint32_t i = b; i < b + pages; i++)
			newest = m->f[i].freed_usec > newest ? m->f[i].freed_usec : newest;
		if (best == NONE || newest > best_usec)
			best = b, best_usec = newest;
	}
	return best;
}

/* One balloon page of more than one frame: reclaim the LRU until a whole block is free. */
static uint32_t take_block(struct pagemodel *m, uint32_t pages, uint64_t now_usec)
{
	uint32_t b;

	while ((b = find_block(m, pages)) == NONE) {
		uint32_t victim = ring_take(m, RING_CACHE, PAGEMODEL_CACHE);

		if (victim == NONE)
			return NONE;
		free_frame(m, victim, now_usec);
	}
	for (uint32_t i = b; i < b + pages; i++) {
		list_del(m, i);
		set_use(m, i, PAGEMODEL_BALLOON);
	}
	return b;
}

uint64_t pagemodel_balloon(struct pagemodel *m, uint64_t bytes, uint64_t now_usec)
{
	uint32_t pages = 1u << m->p.balloon_order;
	uint64_t given = 0;

	while (given + pages * PAGEMODEL_PAGE_BYTES <= bytes) {
		uint32_t b;

		/*
		 * take_frame() counts the frame as written; the discard right
		 * after takes it away again, so a frame the host did not hold
		 * before changes nothing, as it should.
		 */
		b = pages == 1 ? take_frame(m, PAGEMODEL_BALLOON, now_usec)
			       : take_block(m, pages, now_usec);
		if (b == NONE)
			break;
		discard(m, b, pages, 0);
		given += pages * PAGEMODEL_PAGE_BYTES;
	}
	return given;
}

/* ---- step 5: virtio-mem unplug ---- */

/* A frame in use in a block being unplugged moves to one taken as in step 1. */
static int migrate(struct pagemodel *m, uint32_t pfn, uint64_t now_usec)
{
	enum pagemodel_use use = m->f[pfn].use;
	uint32_t to = take_frame(m, use, now_usec);

	if (to == NONE)
		return -ENOMEM;
	if (use == PAGEMODEL_ANON) {
		*ring_at(m, RING_ANON, m->f[pfn].slot) = to;
		m->f[to].slot = m->f[pfn].slot;
	}
	set_use(m, pfn, PAGEMODEL_FREE);
	return 0;
}

/*
 * The block's free frames leave the free list first, so that nothing
 * migrates into it; the cache in it is dropped; the rest migrates.
 */
static int unplug_block(struct pagemodel *m, uint32_t b, uint64_t now_usec)
{
	uint32_t end = b + PAGEMODEL_BLOCK_PAGES;

	for (uint32_t i = b; i < end; i++)
		if (m->f[i].use == PAGEMODEL_KERNEL || m->f[i].use == PAGEMODEL_BALLOON)
			return -EBUSY;
	for (uint32_t i = b; i < end; i++) {
		if (m->f[i].use != PAGEMODEL_FREE)
			continue;
		list_del(m, i);
		set_use(m, i, PAGEMODEL_UNPLUGGED);
	}
	for (uint32_t i = b; i < end; i++) {
		if (m->f[i].use == PAGEMODEL_ANON && migrate(m, i, now_usec) < 0)
			return -ENOMEM;
		set_use(m, i, PAGEMODEL_UNPLUGGED);
	}
	discard(m, b, PAGEMODEL_BLOCK_PAGES, 0);
	return 0;
}

uint64_t pagemodel_unplug(struct pagemodel *m, uint64_t bytes, uint64_t now_usec)
{
	uint64_t given = 0;
	uint32_t b = m->n;

	while (given + PAGEMODEL_BLOCK_PAGES * PAGEMODEL_PAGE_BYTES <= bytes && b > m->movable_start) {
		b -= PAGEMODEL_BLOCK_PAGES;
		if (m->f[b].use == PAGEMODEL_UNPLUGGED)
			continue;
		if (unplug_block(m, b, now_usec) < 0)
			break;
		given += PAGEMODEL_BLOCK_PAGES * PAGEMODEL_PAGE_BYTES;
	}
	return given;
}

/* ---- step 6: cache trim ---- */

uint64_t pagemodel_trim(struct pagemodel *m, uint64_t now_usec)
{
	uint64_t dropped = 0;
	uint32_t pfn;

	while ((pfn = ring_take(m, RING_CACHE, PAGEMODEL_CACHE)) != NONE) {
		free_frame(m, pfn, now_usec);
		dropped += PAGEMODEL_PAGE_BYTES;
	}
	return dropped;
}

/* ---- the guest ---- */

uint64_t pagemodel_rss_bytes(const struct pagemodel *m)
{
	return m->populated * PAGEMODEL_PAGE_BYTES + m->p.overhead_bytes;
}

uint64_t pagemodel_bytes(const struct pagemodel *m, enum pagemodel_use use)
{
	return m->count[use] * PAGEMODEL_PAGE_BYTES;
}

static bool whole_blocks(uint64_t bytes)
{
	return bytes % (PAGEMODEL_BLOCK_PAGES * PAGEMODEL_PAGE_BYTES) == 0;
}

static void boot_use(struct pagemodel *m, uint32_t pfn)
{
	set_use(m, pfn, PAGEMODEL_KERNEL);
	m->f[pfn].flags = F_POPULATED;
	m->populated++;
}

/* Never-touched frames go to the back of their list, lowest address first. */
static void boot_free(struct pagemodel *m, uint32_t *tail, uint32_t pfn)
{
	int z = zone_of(m, pfn);

	m->f[pfn].prev = tail[z];
	m->f[pfn].next = NONE;
	if (tail[z] != NONE)
		m->f[tail[z]].next = pfn;
	else
		m->head[z] = pfn;
	tail[z] = pfn;
	if (m->lowest_free[z] == NONE)
		m->lowest_free[z] = pfn;
}

int pagemodel_init(struct pagemodel *m, const struct pagemodel_params *p)
{
	uint64_t total = p->boot_bytes + p->movable_bytes;
	uint32_t kernel = (uint32_t)(p->kernel_bytes / PAGEMODEL_PAGE_BYTES);
	uint32_t tail[2] = { NONE, NONE }, pinned_from;

	memset(m, 0, sizeof(*m));
	if (!whole_blocks(p->boot_bytes) || !whole_blocks(p->movable_bytes) || p->boot_bytes == 0 ||
	    total / PAGEMODEL_PAGE_BYTES >= NONE / 2 || p->balloon_order > 9 ||
	    (p->order != PAGEMODEL_MRU && p->order != PAGEMODEL_FIRST_FIT) ||
	    p->kernel_bytes + (uint64_t)p->pinned_blocks * PAGEMODEL_BLOCK_PAGES *
	    PAGEMODEL_PAGE_BYTES > p->boot_bytes)
		return -EINVAL;
	m->p = *p;
	m->n = (uint32_t)(total / PAGEMODEL_PAGE_BYTES);
	m->movable_start = (uint32_t)(p->boot_bytes / PAGEMODEL_PAGE_BYTES);
	m->f = calloc(m->n, sizeof(*m->f));
	m->ring = calloc(2 * RING_SIZE(m), sizeof(*m->ring));
	if (!m->f || !m->ring) {
		pagemodel_free(m);
		return -ENOMEM;
	}
	m->head[0] = m->head[1] = m->lowest_free[0] = m->lowest_free[1] = NONE;
	m->count[PAGEMODEL_FREE] = m->n;
	/* The pinned blocks start at the first block boundary above the kernel's memory. */
	pinned_from = (kernel + PAGEMODEL_BLOCK_PAGES - 1) / PAGEMODEL_BLOCK_PAGES *
			       PAGEMODEL_BLOCK_PAGES;
	for (uint32_t pfn = 0; pfn < m->n; pfn++) {
		bool pinned = pfn >= pinned_from && (pfn - pinned_from) % PAGEMODEL_BLOCK_PAGES == 0 &&
			      (pfn - pinned_from) / PAGEMODEL_BLOCK_PAGES < p->pinned_blocks;

		if (pfn < kernel || pinned)
			boot_use(m, pfn);
		else
			boot_free(m, tail, pfn);
	}
	return 0;
}

void pagemodel_free(struct pagemodel *m)
{
	free(m->f);
	free(m->ring);
	m->f = NULL;
	m->ring = NULL;
}
