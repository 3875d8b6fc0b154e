/* SPDX-License-Identifier: MIT */
#include "sensors/zoneinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/scan.h"

enum zoneinfo_kind {
	ZONEINFO_SKIP = 0, /* ZONE_DEVICE: no allocatable memory */
	ZONEINFO_KERNEL,
	ZONEINFO_MOVABLE,
};

/* The per-zone counters read, in page units; one bit each in seen. */
enum zoneinfo_field {
	ZF_FREE,
	ZF_MIN,
	ZF_LOW,
	ZF_HIGH,
	ZF_PRESENT,
	ZF_MANAGED,
	ZF_ACTIVE_FILE,
	ZF_INACTIVE_FILE,
	ZF_ACTIVE_ANON,
	ZF_INACTIVE_ANON,
	ZF__MAX,
};

/* Words that start a counter line inside a zone block ("pages free" is special). */
static const char *const zoneinfo_words[ZF__MAX] = {
	[ZF_MIN] = "min",
	[ZF_LOW] = "low",
	[ZF_HIGH] = "high",
	[ZF_PRESENT] = "present",
	[ZF_MANAGED] = "managed",
	[ZF_ACTIVE_FILE] = "nr_zone_active_file",
	[ZF_INACTIVE_FILE] = "nr_zone_inactive_file",
	[ZF_ACTIVE_ANON] = "nr_zone_active_anon",
	[ZF_INACTIVE_ANON] = "nr_zone_inactive_anon",
};

struct zoneinfo_block {
	enum zoneinfo_kind kind;
	uint32_t seen;
	uint64_t pages[ZF__MAX];
};

/* "Node 0, zone   Normal" once "Node" has been taken. */
static int zoneinfo_parse_header(struct scan *line, enum zoneinfo_kind *ret)
{
	const char *w;
	size_t wl;
	uint64_t node;
	int r;

	if (!scan_word(line, &w, &wl) || wl < 2 || w[wl - 1] != ',')
		return -EINVAL;
	r = parse_u64_n(w, wl - 1, &node);
	if (r < 0)
		return r;
	if (!scan_word(line, &w, &wl) || !scan_word_is(w, wl, "zone"))
		return -EINVAL;
	if (!scan_word(line, &w, &wl) || !scan_rest_blank(line))
		return -EINVAL;
	if (scan_word_is(w, wl, "Movable"))
		*ret = ZONEINFO_MOVABLE;
	else if (scan_word_is(w, wl, "Device"))
		*ret = ZONEINFO_SKIP;
	else
		*ret = ZONEINFO_KERNEL;
	return 0;
}

/* The single number that ends a line such as "managed  3840". */
static int zoneinfo_parse_count(struct scan *line, struct zoneinfo_block *b, enum zoneinfo_field f)
{
	const char *w;
	size_t wl;

	if (b->seen & (1u << f))
		return -EINVAL;
	if (!scan_word(line, &w, &wl) || !scan_rest_blank(line))
		return -EINVAL;
	b->seen |= 1u << f;
	return parse_u64_n(w, wl, &b->pages[f]);
}

static int zoneinfo_add(uint64_t *sum, uint64_t pages, uint64_t page_size_bytes)
{
	uint64_t bytes;

	if (pages > UINT64_MAX / page_size_bytes)
		return -ERANGE;
	bytes = pages * page_size_bytes;
	if (*sum > UINT64_MAX - bytes)
		return -ERANGE;
	*sum += bytes;
	return 0;
}

/* Fold a finished zone block into its group. */
static int zoneinfo_finish(const struct zoneinfo_block *b, uint64_t page_size_bytes,
			   struct zoneinfo *zi)
{
	struct zoneinfo_group *g;
	const uint64_t *p = b->pages;
	int r = 0;

	if (b->kind == ZONEINFO_SKIP)
		return 0;
	if (!(b->seen & (1u << ZF_FREE)) || !(b->seen & (1u << ZF_MANAGED)))
		return -ENODATA;
	g = b->kind == ZONEINFO_MOVABLE ? &zi->movable : &zi->kernel;
	if ((r = zoneinfo_add(&g->free_bytes, p[ZF_FREE], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->min_bytes, p[ZF_MIN], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->low_bytes, p[ZF_LOW], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->high_bytes, p[ZF_HIGH], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->present_bytes, p[ZF_PRESENT], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->managed_bytes, p[ZF_MANAGED], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->file_bytes, p[ZF_ACTIVE_FILE], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->file_bytes, p[ZF_INACTIVE_FILE], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->anon_bytes, p[ZF_ACTIVE_ANON], page_size_bytes)) < 0 ||
	    (r = zoneinfo_add(&g->anon_bytes, p[ZF_INACTIVE_ANON], page_size_bytes)) < 0)
		return r;
	return 0;
}

/* One line inside a zone block; lines that are not counters we read are skipped. */
static int zoneinfo_parse_body(const char *w, size_t wl, struct scan *line,
			       struct zoneinfo_block *b)
{
	struct scan rest = *line;
	const char *w2;
	size_t wl2;

	if (scan_word_is(w, wl, "pages") && scan_word(&rest, &w2, &wl2) &&
	    scan_word_is(w2, wl2, "free"))
		return zoneinfo_parse_count(&rest, b, ZF_FREE);
	for (int f = 0; f < ZF__MAX; f++)
		if (zoneinfo_words[f] && scan_word_is(w, wl, zoneinfo_words[f]))
			return zoneinfo_parse_count(line, b, (enum zoneinfo_field)f);
	return 0;
}

int zoneinfo_parse(const char *buf, size_t len, uint64_t page_size_bytes, struct zoneinfo *ret)
{
	struct zoneinfo zi;
	struct zoneinfo_block b;
	struct scan s = scan_init(buf, len);
	struct scan line;
	bool in_block = false;
	int r;

	if (page_size_bytes == 0)
		return -EINVAL;
	memset(&zi, 0, sizeof(zi));
	memset(&b, 0, sizeof(b));
	while (scan_line(&s, &line)) {
		const char *w;
		size_t wl;

		if (!scan_word(&line, &w, &wl))
			continue;
		if (scan_word_is(w, wl, "Node")) {
			if (in_block) {
				r = zoneinfo_finish(&b, page_size_bytes, &zi);
				if (r < 0)
					return r;
			}
			memset(&b, 0, sizeof(b));
			r = zoneinfo_parse_header(&line, &b.kind);
			if (r < 0)
				return r;
			in_block = true;
			continue;
		}
		/* The file starts with a zone header; text before one is not zoneinfo. */
		if (!in_block)
			return -EINVAL;
		r = zoneinfo_parse_body(w, wl, &line, &b);
		if (r < 0)
			return r;
	}
	if (!in_block)
		return -ENODATA;
	r = zoneinfo_finish(&b, page_size_bytes, &zi);
	if (r < 0)
		return r;
	*ret = zi;
	return 0;
}

int zoneinfo_read(int rootfd, struct zoneinfo *ret)
{
	/*
	 * Per-CPU pagesets make this file grow with the guest (20-60 KiB on
	 * big ones).  Static, so no sample allocates or needs a deep stack;
	 * the daemon samples from one thread.
	 */
	static char buf[ZONEINFO_READ_MAX];
	long page_size = sysconf(_SC_PAGESIZE);
	size_t len;
	int r;

	if (page_size <= 0)
		return -EINVAL;
	r = fileio_read_at(rootfd, "proc/zoneinfo", buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return zoneinfo_parse(buf, len, (uint64_t)page_size, ret);
}
