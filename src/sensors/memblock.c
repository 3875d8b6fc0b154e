/* SPDX-License-Identifier: MIT */
#include "sensors/memblock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/scan.h"

#define MEMBLOCK_DIR "sys/devices/system/memory"

/* Single-value sysfs files end in one '\n'; the value is what precedes it. */
static size_t memblock_strip_newline(const char *buf, size_t len)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	return len;
}

int memblock_parse_block_size(const char *buf, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	len = memblock_strip_newline(buf, len);
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX >> 4))
			return -ERANGE;
		v = v << 4 | d;
	}
	/* A zero block size would make every later division meaningless. */
	if (v == 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

int memblock_parse_state(const char *buf, size_t len, enum memblock_state *ret)
{
	len = memblock_strip_newline(buf, len);
	if (scan_word_is(buf, len, "online"))
		*ret = MEMBLOCK_ONLINE;
	else if (scan_word_is(buf, len, "offline"))
		*ret = MEMBLOCK_OFFLINE;
	else if (scan_word_is(buf, len, "going-offline"))
		*ret = MEMBLOCK_GOING_OFFLINE;
	else
		return -EINVAL;
	return 0;
}

int memblock_parse_zones(const char *buf, size_t len, uint32_t *ret)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} zones[] = {
		{ "DMA", MEMBLOCK_ZONE_DMA },
		{ "DMA32", MEMBLOCK_ZONE_DMA32 },
		{ "Normal", MEMBLOCK_ZONE_NORMAL },
		{ "Movable", MEMBLOCK_ZONE_MOVABLE },
		{ "none", MEMBLOCK_ZONE_NONE },
	};
	struct scan s = scan_init(buf, memblock_strip_newline(buf, len));
	uint32_t bits = 0;
	const char *w;
	size_t wl;

	while (scan_word(&s, &w, &wl)) {
		size_t i;

		for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
			if (scan_word_is(w, wl, zones[i].name))
				break;
		if (i == sizeof(zones) / sizeof(zones[0]) || (bits & zones[i].bit))
			return -EINVAL;
		bits |= zones[i].bit;
	}
	/* "none" (a block spanning zones) stands alone. */
	if (bits == 0 || ((bits & MEMBLOCK_ZONE_NONE) && bits != MEMBLOCK_ZONE_NONE))
		return -EINVAL;
	*ret = bits;
	return 0;
}

const char *memblock_state_name(enum memblock_state s)
{
	switch (s) {
	case MEMBLOCK_ONLINE:
		return "online";
	case MEMBLOCK_OFFLINE:
		return "offline";
	case MEMBLOCK_GOING_OFFLINE:
		return "going-offline";
	default:
		return "unknown";
	}
}

/* "memory123" -> 123; false for anything else in the directory. */
static bool memblock_name_id(const char *name, uint32_t *ret)
{
	static const char prefix[] = "memory";
	uint64_t v;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return false;
	if (parse_u64(name + sizeof(prefix) - 1, &v) < 0 || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* Read memoryN/<attr> under the memory directory. */
static int memblock_read_attr(int mfd, uint32_t id, const char *attr, char *buf, size_t size,
			      size_t *ret_len)
{
	char path[64];

	snprintf(path, sizeof(path), "memory%u/%s", id, attr);
	return fileio_read_at(mfd, path, buf, size, ret_len);
}

static int memblock_read_one(int mfd, uint32_t id, struct memblock *ret)
{
	struct memblock b = { .id = id };
	char buf[128];
	size_t len;
	int r;

	r = memblock_read_attr(mfd, id, "state", buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	r = memblock_parse_state(buf, len, &b.state);
	if (r < 0)
		return r;
	r = memblock_read_attr(mfd, id, "valid_zones", buf, sizeof(buf), &len);
	if (r == -ENOENT) {
		/* Kernels before 4.10 have no valid_zones: nothing is known. */
		b.valid_zones = 0;
	} else if (r < 0) {
		return r;
	} else {
		r = memblock_parse_zones(buf, len, &b.valid_zones);
		if (r < 0)
			return r;
	}
	r = memblock_read_attr(mfd, id, "removable", buf, sizeof(buf), &len);
	if (r == -ENOENT) {
		/*
		 * The kernel gave up guessing removability (the file has read
		 * "1" for every block since 5.x and may go away); only an
		 * offline attempt can tell, so do not rule the block out.
		 */
		b.removable = true;
	} else if (r < 0) {
		return r;
	} else {
		len = memblock_strip_newline(buf, len);
		if (scan_word_is(buf, len, "1"))
			b.removable = true;
		else if (scan_word_is(buf, len, "0"))
			b.removable = false;
		else
			return -EINVAL;
	}
	*ret = b;
	return 0;
}

static int memblock_cmp(const void *a, const void *b)
{
	const struct memblock *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int memblock_scan(int rootfd, struct memblock_set *set)
{
	uint64_t block_size;
	struct dirent *de;
	DIR *d = NULL;
	char buf[64];
	size_t len, n = 0;
	int mfd, r;

	mfd = openat(rootfd, MEMBLOCK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return -errno;
	r = fileio_read_at(mfd, "block_size_bytes", buf, sizeof(buf), &len);
	if (r < 0)
		goto out;
	r = memblock_parse_block_size(buf, len, &block_size);
	if (r < 0)
		goto out;
	d = fdopendir(mfd);
	if (!d) {
		r = -errno;
		goto out;
	}
	mfd = -1; /* owned by d now */
	for (;;) {
		uint32_t id;

		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno;
			if (r < 0)
				goto out;
			break;
		}
		if (!memblock_name_id(de->d_name, &id))
			continue;
		if (n == set->cap) {
			r = -ENOSPC;
			goto out;
		}
		r = memblock_read_one(dirfd(d), id, &set->blocks[n]);
		/* A block removed (hot-unplugged) while we looked is simply gone. */
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto out;
		n++;
	}
	if (n > 1)
		qsort(set->blocks, n, sizeof(set->blocks[0]), memblock_cmp);
	set->block_size_bytes = block_size;
	set->n = n;
	r = 0;
out:
	if (d)
		closedir(d);
	if (mfd >= 0)
		close(mfd);
	return r;
}

int memblock_set_state(int rootfd, uint32_t id, const char *state)
{
	char path[96];

	if (strcmp(state, "online_movable") != 0 && strcmp(state, "online") != 0 &&
	    strcmp(state, "offline") != 0)
		return -EINVAL;
	snprintf(path, sizeof(path), MEMBLOCK_DIR "/memory%u/state", id);
	return fileio_write_at(rootfd, path, state);
}
