/* SPDX-License-Identifier: MIT */
#include "sensors/vmstat.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/scan.h"

static const struct {
	const char *name;
	size_t offset;
} vmstat_fields[] = {
	{ "oom_kill", offsetof(struct vmstat, oom_kill) },
	{ "workingset_refault_anon", offsetof(struct vmstat, workingset_refault_anon) },
	{ "workingset_refault_file", offsetof(struct vmstat, workingset_refault_file) },
	/* Before 5.9 only file pages had refaults, under this name. */
	{ "workingset_refault", offsetof(struct vmstat, workingset_refault_file) },
	{ "pgmajfault", offsetof(struct vmstat, pgmajfault) },
	{ "pswpin", offsetof(struct vmstat, pswpin) },
	{ "pswpout", offsetof(struct vmstat, pswpout) },
};

#define VMSTAT_NFIELDS (sizeof(vmstat_fields) / sizeof(vmstat_fields[0]))

/*
 * Direct reclaim stalls are counted per zone type (allocstall_normal,
 * allocstall_movable, ...) since 4.10 and as one "allocstall" before; both
 * spellings add up to the same thing.
 */
static bool vmstat_is_allocstall(const char *name, size_t len)
{
	static const char prefix[] = "allocstall_";

	return scan_word_is(name, len, "allocstall") ||
	       (len > sizeof(prefix) - 1 && memcmp(name, prefix, sizeof(prefix) - 1) == 0);
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
		if (vmstat_is_allocstall(name, name_len)) {
			r = parse_u64_n(num, num_len, &v);
			if (r < 0)
				return r;
			if (vs.allocstall > UINT64_MAX - v)
				return -ERANGE;
			vs.allocstall += v;
			any = true;
			continue;
		}
		for (size_t i = 0; i < VMSTAT_NFIELDS; i++) {
			if (!scan_word_is(name, name_len, vmstat_fields[i].name))
				continue;
			if (seen & (1u << i))
				return -EINVAL;
			r = parse_u64_n(num, num_len, &v);
			if (r < 0)
				return r;
			memcpy((char *)&vs + vmstat_fields[i].offset, &v, sizeof(v));
			seen |= 1u << i;
			any = true;
			break;
		}
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
