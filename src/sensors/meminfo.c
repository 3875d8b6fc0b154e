/* SPDX-License-Identifier: MIT */
#include "sensors/meminfo.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/fileio.h"
#include "sensors/scan.h"

static const struct {
	const char *name;
	size_t offset;
	bool required;
} meminfo_fields[] = {
	{ "MemTotal", offsetof(struct meminfo, mem_total_bytes), true },
	{ "MemFree", offsetof(struct meminfo, mem_free_bytes), true },
	{ "MemAvailable", offsetof(struct meminfo, mem_available_bytes), true },
	{ "Buffers", offsetof(struct meminfo, buffers_bytes), false },
	{ "Cached", offsetof(struct meminfo, cached_bytes), false },
	{ "Active(file)", offsetof(struct meminfo, active_file_bytes), false },
	{ "Inactive(file)", offsetof(struct meminfo, inactive_file_bytes), false },
	{ "Shmem", offsetof(struct meminfo, shmem_bytes), false },
	{ "SwapTotal", offsetof(struct meminfo, swap_total_bytes), false },
	{ "SwapFree", offsetof(struct meminfo, swap_free_bytes), false },
	{ "Committed_AS", offsetof(struct meminfo, committed_as_bytes), false },
	{ "AnonPages", offsetof(struct meminfo, anon_pages_bytes), false },
	{ "SReclaimable", offsetof(struct meminfo, slab_reclaimable_bytes), false },
	{ "SUnreclaim", offsetof(struct meminfo, slab_unreclaimable_bytes), false },
	{ "KernelStack", offsetof(struct meminfo, kernel_stack_bytes), false },
	{ "PageTables", offsetof(struct meminfo, page_tables_bytes), false },
};

#define MEMINFO_NFIELDS (sizeof(meminfo_fields) / sizeof(meminfo_fields[0]))

static int meminfo_field(const char *name, size_t len)
{
	for (size_t i = 0; i < MEMINFO_NFIELDS; i++)
		if (scan_word_is(name, len, meminfo_fields[i].name))
			return (int)i;
	return -1;
}

int meminfo_parse(const char *buf, size_t len, struct meminfo *ret)
{
	struct meminfo mi = { 0 };
	struct scan s = scan_init(buf, len);
	struct scan line;
	uint32_t seen = 0;

	while (scan_line(&s, &line)) {
		const char *colon = memchr(line.p, ':', (size_t)(line.end - line.p));
		uint64_t bytes;
		int i, r;

		/* Unknown and odd lines are someone else's business. */
		if (!colon)
			continue;
		i = meminfo_field(line.p, (size_t)(colon - line.p));
		if (i < 0)
			continue;
		/* A repeated field means the text is not what the kernel wrote. */
		if (seen & (1u << i))
			return -EINVAL;
		line.p = colon + 1;
		r = scan_kb(&line, &bytes);
		if (r < 0)
			return r;
		memcpy((char *)&mi + meminfo_fields[i].offset, &bytes, sizeof(bytes));
		seen |= 1u << i;
	}
	for (size_t i = 0; i < MEMINFO_NFIELDS; i++)
		if (meminfo_fields[i].required && !(seen & (1u << i)))
			return -ENODATA;
	*ret = mi;
	return 0;
}

int meminfo_read(int rootfd, struct meminfo *ret)
{
	/* /proc/meminfo is about 1.5 KiB; leave room for fields to come. */
	char buf[8192];
	size_t len;
	int r;

	r = fileio_read_at(rootfd, "proc/meminfo", buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return meminfo_parse(buf, len, ret);
}
