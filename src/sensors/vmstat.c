/* SPDX-License-Identifier: MIT */
#include "sensors/vmstat.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/scan.h"

/*
 * A counter either is one line (SET: given twice, the text is not vmstat)
 * or adds up several (ADD: per-zone or per-reclaimer variants of one figure).
 * A line may feed more than one entry.
 */
enum vmstat_how { VMSTAT_SET, VMSTAT_ADD };

static const struct {
	const char *name;
	size_t offset;
	enum vmstat_how how;
} vmstat_fields[] = {
	{ "oom_kill", offsetof(struct vmstat, oom_kill), VMSTAT_SET },
	{ "workingset_refault_anon", offsetof(struct vmstat, workingset_refault_anon), VMSTAT_SET },
	{ "workingset_refault_file", offsetof(struct vmstat, workingset_refault_file), VMSTAT_SET },
	/* Before 5.9 only file pages had refaults, under this name. */
	{ "workingset_refault", offsetof(struct vmstat, workingset_refault_file), VMSTAT_SET },
	{ "workingset_activate_file", offsetof(struct vmstat, workingset_activate_file), VMSTAT_SET },
	{ "workingset_activate", offsetof(struct vmstat, workingset_activate_file), VMSTAT_SET },
	{ "pgmajfault", offsetof(struct vmstat, pgmajfault), VMSTAT_SET },
	{ "pswpin", offsetof(struct vmstat, pswpin), VMSTAT_SET },
	{ "pswpout", offsetof(struct vmstat, pswpout), VMSTAT_SET },
	{ "allocstall_dma", offsetof(struct vmstat, allocstall_kernel), VMSTAT_ADD },
	{ "allocstall_dma32", offsetof(struct vmstat, allocstall_kernel), VMSTAT_ADD },
	{ "allocstall_normal", offsetof(struct vmstat, allocstall_kernel), VMSTAT_ADD },
	{ "allocstall_movable", offsetof(struct vmstat, allocstall_movable), VMSTAT_ADD },
	{ "pgscan_kswapd", offsetof(struct vmstat, pgscan), VMSTAT_ADD },
	{ "pgscan_direct", offsetof(struct vmstat, pgscan), VMSTAT_ADD },
	{ "pgsteal_kswapd", offsetof(struct vmstat, pgsteal), VMSTAT_ADD },
	{ "pgsteal_direct", offsetof(struct vmstat, pgsteal), VMSTAT_ADD },
};

#define VMSTAT_NFIELDS (sizeof(vmstat_fields) / sizeof(vmstat_fields[0]))

/*
 * Direct reclaim stalls are counted per zone type (allocstall_normal,
 * allocstall_movable, ...) since 4.10 and as one "allocstall" before; both
 * spellings add up to the same total.
 */
static bool vmstat_is_allocstall(const char *name, size_t len)
{
	static const char prefix[] = "allocstall_";

	return scan_word_is(name, len, "allocstall") ||
	       (len > sizeof(prefix) - 1 && memcmp(name, prefix, sizeof(prefix) - 1) == 0);
}

static bool vmstat_wanted(const char *name, size_t len)
{
	if (vmstat_is_allocstall(name, len))
		return true;
	for (size_t i = 0; i < VMSTAT_NFIELDS; i++)
		if (scan_word_is(name, len, vmstat_fields[i].name))
			return true;
	return false;
}

static int vmstat_add(uint64_t *sum, uint64_t v)
{
	if (*sum > UINT64_MAX - v)
		return -ERANGE;
	*sum += v;
	return 0;
}

/* Feed one wanted "name value" line into every entry it belongs to. */
static int vmstat_line(struct vmstat *vs, uint32_t *seen, const char *name, size_t name_len,
		       uint64_t v)
{
	int r;

	if (vmstat_is_allocstall(name, name_len)) {
		r = vmstat_add(&vs->allocstall, v);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < VMSTAT_NFIELDS; i++) {
		uint64_t *field = (uint64_t *)((char *)vs + vmstat_fields[i].offset);

		if (!scan_word_is(name, name_len, vmstat_fields[i].name))
			continue;
		if (vmstat_fields[i].how == VMSTAT_ADD) {
			r = vmstat_add(field, v);
			if (r < 0)
				return r;
			continue;
		}
		if (*seen & (1u << i))
			return -EINVAL;
		*seen |= 1u << i;
		*field = v;
	}
	return 0;
}

int vmstat_parse(const char *buf, size_t len, struct vmstat *ret)
{
	struct vmstat vs = { 0 };
	struct scan s = scan_init(buf, len);
	struct scan line;
	uint32_t seen = 0;
	bool any = false;

	while (scan_line(&s, &line)) {
		const char *name, *num;
		size_t name_len, num_len;
		uint64_t v;
		int r;

		if (!scan_word(&line, &name, &name_len))
			continue;
		/* Every line is "name value"; anything else is not vmstat. */
		if (!scan_word(&line, &num, &num_len) || !scan_rest_blank(&line))
			return -EINVAL;
		if (!vmstat_wanted(name, name_len))
			continue;
		r = parse_u64_n(num, num_len, &v);
		if (r < 0)
			return r;
		r = vmstat_line(&vs, &seen, name, name_len, v);
		if (r < 0)
			return r;
		any = true;
	}
	if (!any)
		return -ENODATA;
	*ret = vs;
	return 0;
}

int vmstat_read(int rootfd, struct vmstat *ret)
{
	/*
	 * About 4 KiB today and growing with every kernel; static so the
	 * sampling loop neither allocates nor grows its stack by this much.
	 */
	static char buf[32768];
	size_t len;
	int r;

	r = fileio_read_at(rootfd, "proc/vmstat", buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return vmstat_parse(buf, len, ret);
}
