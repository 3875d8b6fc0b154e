/* SPDX-License-Identifier: MIT */
#include "host/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "core/parse.h"

#define STATE_HEADER "# vmrd-host state v1\n"
#define STATE_FILE_MAX (CONFIG_MAX_VMS * 96 + 64)

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

int state_parse(const char *buf, size_t len, struct state *ret)
{
	struct state st = { .n = 0 };
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - (buf + off)) : len - off;
		struct state_entry e;

		if (st.n < CONFIG_MAX_VMS && parse_line(buf + off, llen, &e) == 0 &&
		    !state_find(&st, e.name))
			st.entries[st.n++] = e;
		off += llen + 1;
	}
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
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->entries[i].name, name) == 0)
			return &st->entries[i];
	return NULL;
}

int state_load(const char *path, struct state *ret)
{
	static char buf[STATE_FILE_MAX];
	size_t len;
	int r;

	/* A state file larger than any we write is refused, not cut short. */
	r = fileio_read_at(AT_FDCWD, path, buf, sizeof(buf), &len);
	if (r == -ENOENT) {
		ret->n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	return state_parse(buf, len, ret);
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
	static char buf[STATE_FILE_MAX];
	char tmp[CONFIG_PATH_MAX + 8];
	int len, fd, r;

	len = state_format(st, buf, sizeof(buf));
	if (len < 0)
		return len;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, buf, (size_t)len);
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
