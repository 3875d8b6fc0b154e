/* SPDX-License-Identifier: MIT */
#include "sensors/zoneinfo.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/scan.h"

/* The zone types vmrd adds up; every other zone is parsed and skipped. */
enum zoneinfo_zone {
	ZONEINFO_OTHER = 0,
	ZONEINFO_DMA32,
	ZONEINFO_NORMAL,
	ZONEINFO_MOVABLE,
};

struct zoneinfo_block {
	enum zoneinfo_zone zone;
	bool has_free, has_managed;
	uint64_t free_pages, managed_pages;
};

/* "Node 0, zone   Normal" once "Node" has been taken. */
static int zoneinfo_parse_header(struct scan *line, enum zoneinfo_zone *ret)
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
	if (scan_word_is(w, wl, "DMA32"))
		*ret = ZONEINFO_DMA32;
	else if (scan_word_is(w, wl, "Normal"))
		*ret = ZONEINFO_NORMAL;
	else if (scan_word_is(w, wl, "Movable"))
		*ret = ZONEINFO_MOVABLE;
	else
		*ret = ZONEINFO_OTHER;
	return 0;
}

/* The single number that ends a line such as "managed  3840". */
static int zoneinfo_parse_count(struct scan *line, bool *has, uint64_t *ret)
{
	const char *w;
	size_t wl;

	if (*has)
		return -EINVAL;
	if (!scan_word(line, &w, &wl) || !scan_rest_blank(line))
		return -EINVAL;
	*has = true;
	return parse_u64_n(w, wl, ret);
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

/* Fold a finished zone block into the totals. */
static int zoneinfo_finish(const struct zoneinfo_block *b, uint64_t page_size_bytes,
			   struct zoneinfo *zi)
{
	uint64_t *free_sum, *managed_sum;
	int r;

	switch (b->zone) {
	case ZONEINFO_DMA32:
		free_sum = &zi->dma32_free_bytes;
		managed_sum = &zi->dma32_managed_bytes;
		break;
	case ZONEINFO_NORMAL:
		free_sum = &zi->normal_free_bytes;
		managed_sum = &zi->normal_managed_bytes;
		break;
	case ZONEINFO_MOVABLE:
		free_sum = &zi->movable_free_bytes;
		managed_sum = &zi->movable_managed_bytes;
		break;
	default:
		return 0;
	}
	if (!b->has_free || !b->has_managed)
		return -ENODATA;
	r = zoneinfo_add(free_sum, b->free_pages, page_size_bytes);
	if (r < 0)
		return r;
	return zoneinfo_add(managed_sum, b->managed_pages, page_size_bytes);
}

/* One line inside a zone block: only "pages free N" and "managed N" matter. */
static int zoneinfo_parse_body(const char *w, size_t wl, struct scan *line,
			       struct zoneinfo_block *b)
{
	struct scan rest = *line;
	const char *w2;
	size_t wl2;

	if (scan_word_is(w, wl, "managed"))
		return zoneinfo_parse_count(line, &b->has_managed, &b->managed_pages);
	if (scan_word_is(w, wl, "pages") && scan_word(&rest, &w2, &wl2) &&
	    scan_word_is(w2, wl2, "free"))
		return zoneinfo_parse_count(&rest, &b->has_free, &b->free_pages);
	return 0;
}

int zoneinfo_parse(const char *buf, size_t len, uint64_t page_size_bytes, struct zoneinfo *ret)
{
	struct zoneinfo zi = { 0 };
	struct zoneinfo_block b = { 0 };
	struct scan s = scan_init(buf, len);
	struct scan line;
	bool in_block = false;
	int r;

	if (page_size_bytes == 0)
		return -EINVAL;
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
			r = zoneinfo_parse_header(&line, &b.zone);
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
