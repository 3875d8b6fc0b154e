/* SPDX-License-Identifier: MIT */
#include "host/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/fileio.h"
#include "core/parse.h"

#define STATE_HEADER "# vmrd-host state v1\n"
/* Far more than any file we write (a line is at most STATE_LINE_MAX): a larger one is not ours. */
#define STATE_FILE_MAX (64u << 20)

static int parse_line(const char *s, size_t len, struct state_entry *ret)
{
	struct state_entry e = { 0 };
	const char *sp, *eq;
	size_t nlen;

	if (len < 3 || memcmp(s, "vm ", 3) != 0)
		return -EINVAL;
	s += 3;
	len -= 3;
	sp = memchr(s, ' ', len);
	if (!sp)
		return -EINVAL;
	nlen = (size_t)(sp - s);
	if (nlen == 0 || nlen >= sizeof(e.name))
		return -EINVAL;
	memcpy(e.name, s, nlen);
	/* A NUL inside the name would leave it empty or cut short (found by fuzzing). */
	if (!config_name_valid(e.name))
		return -EINVAL;
	len -= nlen + 1;
	s = sp + 1;
	eq = memchr(s, '=', len);
	if (!eq || (size_t)(eq - s) != 6 || memcmp(s, "target", 6) != 0)
		return -EINVAL;
	if (parse_u64_n(eq + 1, len - 7, &e.target_bytes) < 0)
		return -EINVAL;
	*ret = e;
	return 0;
}

void state_free(struct state *st)
{
	free(st->entries);
	*st = (struct state){ .n = 0 };
}

int state_add(struct state *st, const char *name, uint64_t target_bytes)
{
	struct state_entry *e;

	if (ARRAY_GROW(st->entries, st->cap, st->n + 1) < 0)
		return -ENOMEM;
	e = &st->entries[st->n++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->target_bytes = target_bytes;
	return 0;
}

/* By name, then by position: the first of equal names sorts first (qsort is not stable). */
static int cmp_entry_ptr(const void *a, const void *b)
{
	const struct state_entry *x = *(const struct state_entry *const *)a;
	const struct state_entry *y = *(const struct state_entry *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x > y) - (x < y);
}

int state_sort(struct state *st)
{
	const struct state_entry **order;
	struct state_entry *sorted;
	size_t n = 0;

	if (st->n < 2)
		return 0;
	/* Pointers into the unmoved entries are sorted, so their addresses give the order added. */
	order = malloc(st->n * sizeof(*order));
	sorted = malloc(st->n * sizeof(*sorted));
	if (!order || !sorted) {
		free(order);
		free(sorted);
		return -ENOMEM;
	}
	for (size_t i = 0; i < st->n; i++)
		order[i] = &st->entries[i];
	qsort(order, st->n, sizeof(*order), cmp_entry_ptr);
	for (size_t i = 0; i < st->n; i++)
		if (n == 0 || strcmp(sorted[n - 1].name, order[i]->name) != 0)
			sorted[n++] = *order[i];
	free(order);
	free(st->entries);
	st->entries = sorted;
	st->n = n;
	st->cap = st->n;
	return 0;
}

int state_parse(const char *buf, size_t len, struct state *ret)
{
	struct state st = { .n = 0 };
	size_t off = 0;
	int r = 0;

	while (off < len && r == 0) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - (buf + off)) : len - off;
		struct state_entry e;

		if (parse_line(buf + off, llen, &e) == 0)
			r = state_add(&st, e.name, e.target_bytes);
		off += llen + 1;
	}
	if (r == 0)
		r = state_sort(&st);
	if (r < 0) {
		state_free(&st);
		return r;
	}
	state_free(ret);
	*ret = st;
	return 0;
}

int state_format(const struct state *st, char *buf, size_t size)
{
	size_t off;
	int n;

	n = snprintf(buf, size, "%s", STATE_HEADER);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	off = (size_t)n;
	for (size_t i = 0; i < st->n; i++) {
		n = snprintf(buf + off, size - off, "vm %s target=%llu\n", st->entries[i].name,
			     (unsigned long long)st->entries[i].target_bytes);
		if (n < 0 || (size_t)n >= size - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

const struct state_entry *state_find(const struct state *st, const char *name)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->entries[mid].name, name);

		if (c == 0)
			return &st->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int state_load(const char *path, struct state *ret)
{
	struct stat sb;
	size_t len, size;
	char *buf;
	int r;

	if (stat(path, &sb) < 0) {
		if (errno != ENOENT)
			return -errno;
		state_free(ret);
		return 0;
	}
	/* A state file larger than any we write is refused, not cut short. */
	if (sb.st_size > STATE_FILE_MAX)
		return -EFBIG;
	/* Room for a file that grew a little since stat(); fileio refuses more. */
	size = (size_t)sb.st_size + 4096;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	r = fileio_read_at(AT_FDCWD, path, buf, size, &len);
	if (r == -ENOENT) {
		state_free(ret);
		r = 0;
	} else if (r == 0) {
		r = state_parse(buf, len, ret);
	}
	free(buf);
	return r;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of path ("/" for "/x", "." for "x"). */
static void dir_of(const char *path, char dir[CONFIG_PATH_MAX])
{
	char *slash;

	snprintf(dir, CONFIG_PATH_MAX, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, CONFIG_PATH_MAX, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
}

/* The rename is only durable once the directory entry is on disk too. */
static void fsync_dir(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	int fd;

	dir_of(path, dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int state_save(const char *path, const struct state *st)
{
	size_t size = st->n * STATE_LINE_MAX + STATE_HEADER_MAX;
	char tmp[CONFIG_PATH_MAX + 8];
	char *buf;
	int len, fd, r;

	if (size > STATE_FILE_MAX)
		return -EFBIG;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	len = state_format(st, buf, size);
	r = len < 0 ? len : 0;
	if (r == 0 && snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		r = -ENAMETOOLONG;
	fd = r == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (r == 0 && fd < 0)
		r = -errno;
	if (r < 0) {
		free(buf);
		return r;
	}
	r = write_all(fd, buf, (size_t)len);
	free(buf);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	fsync_dir(path);
	return 0;
}

/* mkdir -p of dir (modified in place and restored), each new level with mode. */
static int mkdir_p(char *dir, mode_t mode, char ret_failed[CONFIG_PATH_MAX])
{
	for (char *p = dir + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, mode) < 0 && errno != EEXIST) {
			int r = -errno;

			snprintf(ret_failed, CONFIG_PATH_MAX, "%s", dir);
			*p = c;
			return r;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

int state_prepare_dir(const char *path, char ret_dir[CONFIG_PATH_MAX])
{
	char dir[CONFIG_PATH_MAX];
	struct stat st;
	int fd, r;

	dir_of(path, dir);
	snprintf(ret_dir, CONFIG_PATH_MAX, "%s", dir);
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		r = mkdir_p(dir, 0750, ret_dir);
		if (r < 0)
			return r;
	} else if (!S_ISDIR(st.st_mode)) {
		return -ENOTDIR;
	}
	/* An unnamed file proves that state_save() can create its temporary file here. */
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR)
		return -errno;
	/* A file system without O_TMPFILE: the permission bits are all we can ask. */
	return access(dir, W_OK | X_OK) < 0 ? -errno : 0;
}
