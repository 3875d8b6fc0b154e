/* SPDX-License-Identifier: MIT */
#include "tmptree.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

static void die(const char *what, const char *path)
{
	fprintf(stderr, "tmptree: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

void tmptree_create(struct tmptree *t)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(t->path, sizeof(t->path), "%s/vmrd-sensors-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(t->path))
		die("mkdtemp", t->path);
	t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->fd < 0)
		die("open", t->path);
}

static void mkdir_parents(struct tmptree *t, const char *rel)
{
	char dir[512];

	snprintf(dir, sizeof(dir), "%s", rel);
	for (char *p = strchr(dir, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(t->fd, dir, 0755) < 0 && errno != EEXIST)
			die("mkdir", dir);
		*p = '/';
	}
}

void tmptree_write(struct tmptree *t, const char *rel, const char *data, size_t len)
{
	int fd;

	mkdir_parents(t, rel);
	fd = openat(t->fd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("create", rel);
	if (write(fd, data, len) != (ssize_t)len)
		die("write", rel);
	close(fd);
}

void tmptree_write_str(struct tmptree *t, const char *rel, const char *text)
{
	tmptree_write(t, rel, text, strlen(text));
}

size_t tmptree_read(struct tmptree *t, const char *rel, char *buf, size_t size)
{
	size_t len;
	int r = fileio_read_at(t->fd, rel, buf, size, &len);

	if (r < 0) {
		errno = -r;
		die("read", rel);
	}
	return len;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void tmptree_remove(struct tmptree *t)
{
	close(t->fd);
	t->fd = -1;
	nftw(t->path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

size_t testdata_load(const char *rel, char *buf, size_t size)
{
	char path[1024];
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/%s", SENSORS_DATA_DIR, rel);
	r = fileio_read_at(AT_FDCWD, path, buf, size, &len);
	if (r < 0) {
		errno = -r;
		die("load", path);
	}
	return len;
}

char *testdata_exact(const char *data, size_t len)
{
	/* malloc(0) may return NULL; one byte keeps the pointer valid and unused. */
	char *p = malloc(len ? len : 1);

	if (!p)
		abort();
	memcpy(p, data, len);
	return p;
}
