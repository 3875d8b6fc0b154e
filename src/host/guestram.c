/* SPDX-License-Identifier: MIT */
#include "host/guestram.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void guestram_begin(struct guestram *g)
{
	memset(g, 0, sizeof(*g));
}

static int parse_hex(const char *s, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	if (s == end || end - s > 16)
		return -EINVAL;
	for (; s < end; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	*ret = v;
	return 0;
}

/* "START-END PERMS ...": a mapping begins; is it guest RAM? */
static int mapping_header(struct guestram *g, const char *line, size_t len)
{
	const char *end = line + len, *dash = memchr(line, '-', len);
	const char *sp = dash ? memchr(dash, ' ', (size_t)(end - dash)) : NULL;
	uint64_t start, stop;

	if (!sp || end - sp < 5 || parse_hex(line, dash, &start) < 0 ||
	    parse_hex(dash + 1, sp, &stop) < 0 || stop < start)
		return -EINVAL;
	/* perms are "rwxp": guest RAM is readable, writable, never executable. */
	g->in_guest = stop - start >= GUESTRAM_MIN_MAPPING && sp[1] == 'r' && sp[2] == 'w' &&
		      sp[3] != 'x';
	g->guest_mappings += (unsigned)g->in_guest;
	return 0;
}

/* "Rss:   1234 kB" */
static int rss_line(struct guestram *g, const char *line, size_t len)
{
	char buf[64], *p;
	unsigned long long kb;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = '\0';
	errno = 0;
	kb = strtoull(buf + 4, &p, 10);
	if (errno || p == buf + 4 || strcmp(p, " kB") != 0 || kb > UINT64_MAX / 4096)
		return -EINVAL;
	g->rss_bytes += kb * 1024;
	if (g->in_guest)
		g->guest_bytes += kb * 1024;
	return 0;
}

int guestram_line(struct guestram *g, const char *line, size_t len)
{
	if (len == 0)
		return 0;
	if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))
		return mapping_header(g, line, len);
	if (len > 4 && memcmp(line, "Rss:", 4) == 0)
		return rss_line(g, line, len);
	return 0;
}

int guestram_read(int rootfd, int pid, struct guestram *ret)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = NULL;
	int fd, r = 0;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "proc/%d/smaps", pid);
	fd = openat(rootfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		close(fd);
		goto out;
	}
	guestram_begin(ret);
	errno = 0;
	while ((n = getline(&line, &cap, f)) > 0 && r == 0)
		r = guestram_line(ret, line, (size_t)n - (line[n - 1] == '\n'));
	if (r == 0 && ferror(f))
		r = errno ? -errno : -EIO;
	if (r == 0 && ret->guest_mappings == 0)
		r = -ENODATA;
out:
	free(line);
	if (f)
		fclose(f);
	return r;
}
