/* SPDX-License-Identifier: MIT */
#include "host/footprint.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/fileio.h"
#include "sensors/scan.h"

/* /proc/PID/status of a QEMU is about 1.5 KiB; room for a kernel that says more. */
#define FOOTPRINT_STATUS_MAX 8192
/* The overhead falls by 1/FOOTPRINT_DECAY of the gap per sample. */
#define FOOTPRINT_DECAY 64

static const struct {
	const char *name;
	size_t offset;
} status_fields[] = {
	{ "VmRSS", offsetof(struct footprint_sample, rss_bytes) },
	{ "RssAnon", offsetof(struct footprint_sample, anon_bytes) },
	{ "RssFile", offsetof(struct footprint_sample, file_bytes) },
	{ "RssShmem", offsetof(struct footprint_sample, shmem_bytes) },
	{ "VmSwap", offsetof(struct footprint_sample, swap_bytes) },
};

#define N_STATUS_FIELDS (sizeof(status_fields) / sizeof(status_fields[0]))

int footprint_parse_status(const char *buf, size_t len, struct footprint_sample *ret)
{
	struct footprint_sample fs = { 0 };
	struct scan s = scan_init(buf, len);
	struct scan line;
	bool have_rss = false;

	while (scan_line(&s, &line)) {
		const char *colon = memchr(line.p, ':', (size_t)(line.end - line.p));

		if (!colon)
			continue;
		for (size_t i = 0; i < N_STATUS_FIELDS; i++) {
			struct scan rest = { colon + 1, line.end };
			uint64_t bytes;
			int r;

			if (!scan_word_is(line.p, (size_t)(colon - line.p), status_fields[i].name))
				continue;
			r = scan_kb(&rest, &bytes);
			if (r < 0)
				return r;
			memcpy((char *)&fs + status_fields[i].offset, &bytes, sizeof(bytes));
			have_rss |= i == 0;
		}
	}
	if (!have_rss)
		return -ENODATA;
	*ret = fs;
	return 0;
}

int footprint_read(int rootfd, int pid, struct footprint_sample *ret)
{
	char path[64], buf[FOOTPRINT_STATUS_MAX];
	size_t len;
	int r;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "proc/%d/status", pid);
	r = fileio_read_at(rootfd, path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return footprint_parse_status(buf, len, ret);
}

void footprint_update(struct footprint *f, uint64_t rss_bytes, uint64_t guest_bytes)
{
	uint64_t beyond = rss_bytes > guest_bytes ? rss_bytes - guest_bytes : 0;

	f->rss_bytes = rss_bytes;
	if (!f->valid || beyond >= f->overhead_bytes)
		f->overhead_bytes = beyond;
	else
		f->overhead_bytes -= (f->overhead_bytes - beyond + FOOTPRINT_DECAY - 1) / FOOTPRINT_DECAY;
	f->valid = true;
}

const char *footprint_mech_name(enum footprint_mech m)
{
	return m == FOOTPRINT_VMEM ? "virtio-mem" : "balloon";
}

/* Step 3: M for the episode, shared by what each mechanism gave up in it. */
static void giveback_close(struct footprint_giveback *g)
{
	uint64_t given = 0, drop, left;

	for (int m = 0; m < FOOTPRINT_MECH__MAX; m++)
		given += g->episode_bytes[m];
	drop = g->base_rss_bytes > g->low_rss_bytes ? g->base_rss_bytes - g->low_rss_bytes : 0;
	if (drop > given)
		drop = given;
	left = drop;
	for (int m = 0; m < FOOTPRINT_MECH__MAX && given; m++) {
		/* The last mechanism gets the remainder, so the shares add up to the drop. */
		uint64_t share = m == FOOTPRINT_MECH__MAX - 1 ? left :
				 (uint64_t)((unsigned __int128)drop * g->episode_bytes[m] / given);

		g->back_bytes[m] += share;
		left -= share;
		g->episode_bytes[m] = 0;
	}
	g->open = false;
}

void footprint_giveback_sample(struct footprint_giveback *g, uint64_t now_usec, uint64_t rss_bytes,
			       const uint64_t size_bytes[FOOTPRINT_MECH__MAX])
{
	bool fell = false, grew = false;

	for (int m = 0; g->valid && m < FOOTPRINT_MECH__MAX; m++) {
		fell |= size_bytes[m] < g->last_size_bytes[m];
		grew |= size_bytes[m] > g->last_size_bytes[m];
	}
	if (g->open && grew)
		giveback_close(g);
	if (fell && !g->open) {
		g->open = true;
		g->base_rss_bytes = g->last_rss_bytes;
		g->low_rss_bytes = rss_bytes;
	}
	if (g->open && !grew && rss_bytes < g->low_rss_bytes)
		g->low_rss_bytes = rss_bytes;
	for (int m = 0; fell && m < FOOTPRINT_MECH__MAX; m++) {
		uint64_t d = g->last_size_bytes[m] > size_bytes[m] ? g->last_size_bytes[m] - size_bytes[m] : 0;

		g->episode_bytes[m] += d;
		g->gave_up_bytes[m] += d;
	}
	if (fell)
		g->last_fall_usec = now_usec;
	else if (g->open && now_usec - g->last_fall_usec >= FOOTPRINT_SETTLE_USEC)
		giveback_close(g);
	g->valid = true;
	g->last_rss_bytes = rss_bytes;
	memcpy(g->last_size_bytes, size_bytes, sizeof(g->last_size_bytes));
}
