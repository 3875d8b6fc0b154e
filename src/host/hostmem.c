/* SPDX-License-Identifier: MIT */
#include "host/hostmem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/meminfo.h"
#include "sensors/psi.h"

#define CGROUP_ROOT "sys/fs/cgroup"
/* v1 says "no limit" with PAGE_COUNTER_MAX pages: anything this high is none. */
#define V1_UNLIMITED_FROM (UINT64_C(1) << 62)

int hostmem_parse_limit(const char *buf, size_t len, uint64_t *ret)
{
	uint64_t v;
	int r;

	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (len == 3 && memcmp(buf, "max", 3) == 0) {
		*ret = HOSTMEM_UNLIMITED;
		return 0;
	}
	r = parse_u64_n(buf, len, &v);
	if (r < 0)
		return -EINVAL;
	*ret = v >= V1_UNLIMITED_FROM ? HOSTMEM_UNLIMITED : v;
	return 0;
}

bool hostmem_cgroup_path_valid(const char *path)
{
	const char *p = path;

	if (path[0] != '/' || strlen(path) > 200)
		return false;
	while (*p == '/') {
		const char *part = ++p;
		size_t n = strcspn(part, "/");

		if (n == 0)
			return part[0] == '\0' && part - 1 == path; /* only "/" itself */
		if ((n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
			return false;
		p = part + n;
	}
	return true;
}

static int read_number(int rootfd, const char *path, uint64_t *ret)
{
	char buf[64];
	size_t len;
	int r = fileio_read_at(rootfd, path, buf, sizeof(buf), &len);

	return r < 0 ? r : hostmem_parse_limit(buf, len, ret);
}

/* Pressure is optional (a kernel without PSI, a hybrid host without the unified tree). */
static void read_psi(int rootfd, const char *path, struct hostmem *h)
{
	struct psi_stats ps;

	if (psi_read(rootfd, path, &ps) < 0)
		return;
	h->has_psi = true;
	h->psi_some_avg10_centi = ps.some.avg10;
	h->psi_full_avg10_centi = ps.has_full ? ps.full.avg10 : 0;
}

static int read_v2(int rootfd, const char *dir, struct hostmem *h)
{
	char path[320];
	uint64_t max, high = HOSTMEM_UNLIMITED;
	int r;

	snprintf(path, sizeof(path), "%s/memory.max", dir);
	if ((r = read_number(rootfd, path, &max)) < 0)
		return r;
	snprintf(path, sizeof(path), "%s/memory.high", dir);
	if ((r = read_number(rootfd, path, &high)) < 0 && r != -ENOENT)
		return r;
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	if ((r = read_number(rootfd, path, &h->usage_bytes)) < 0)
		return r;
	h->limit_bytes = high < max ? high : max;
	snprintf(path, sizeof(path), "%s/memory.pressure", dir);
	read_psi(rootfd, path, h);
	return 0;
}

static int read_v1(int rootfd, const char *cgroup, struct hostmem *h)
{
	char path[320];
	int r;

	snprintf(path, sizeof(path), CGROUP_ROOT "/memory%s/memory.limit_in_bytes", cgroup);
	if ((r = read_number(rootfd, path, &h->limit_bytes)) < 0)
		return r;
	snprintf(path, sizeof(path), CGROUP_ROOT "/memory%s/memory.usage_in_bytes", cgroup);
	if ((r = read_number(rootfd, path, &h->usage_bytes)) < 0)
		return r;
	h->cgroup_v1 = true;
	snprintf(path, sizeof(path), CGROUP_ROOT "/unified%s/memory.pressure", cgroup);
	read_psi(rootfd, path, h);
	return 0;
}

int hostmem_read_cgroup(int rootfd, const char *cgroup, struct hostmem *ret)
{
	struct hostmem h = { 0 };
	char dir[256];
	int r;

	if (!hostmem_cgroup_path_valid(cgroup))
		return -EINVAL;
	snprintf(dir, sizeof(dir), CGROUP_ROOT "%s", strcmp(cgroup, "/") == 0 ? "" : cgroup);
	r = read_v2(rootfd, dir, &h);
	if (r == -ENOENT)
		r = read_v1(rootfd, strcmp(cgroup, "/") == 0 ? "" : cgroup, &h);
	if (r < 0)
		return r;
	h.available_bytes = h.limit_bytes > h.usage_bytes ? h.limit_bytes - h.usage_bytes : 0;
	*ret = h;
	return 0;
}

int hostmem_read_host(int rootfd, struct hostmem *ret)
{
	struct hostmem h = { 0 };
	struct meminfo mi;
	int r = meminfo_read(rootfd, &mi);

	if (r < 0)
		return r;
	h.limit_bytes = mi.mem_total_bytes;
	h.available_bytes = mi.mem_available_bytes;
	h.usage_bytes = mi.mem_total_bytes > mi.mem_available_bytes ?
				mi.mem_total_bytes - mi.mem_available_bytes : 0;
	read_psi(rootfd, "proc/pressure/memory", &h);
	*ret = h;
	return 0;
}
