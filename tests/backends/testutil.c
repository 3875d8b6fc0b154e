/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char copy_dst[PATH_MAX];
static size_t copy_src_len;

static int copy_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char to[PATH_MAX];
	char buf[4096];
	ssize_t n;
	int in, out;

	snprintf(to, sizeof(to), "%s%s", copy_dst, path + copy_src_len);
	if (type == FTW_D)
		return mkdir(to, 0755) < 0 && errno != EEXIST ? -1 : 0;
	if (type != FTW_F)
		return -1;
	in = open(path, O_RDONLY | O_CLOEXEC);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	close(out);
	return 0;
}

char *testutil_tree_copy(const char *name)
{
	char src[PATH_MAX];
	char *dir;

	snprintf(src, sizeof(src), "%s/%s", BACKENDS_DATA_DIR, name);
	dir = strdup("/tmp/vmrd-backends-XXXXXX");
	if (!dir || !mkdtemp(dir))
		abort();
	snprintf(copy_dst, sizeof(copy_dst), "%s", dir);
	copy_src_len = strlen(src);
	if (nftw(src, copy_one, 16, FTW_PHYS) != 0) {
		fprintf(stderr, "cannot copy %s to %s\n", src, dir);
		abort();
	}
	return dir;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

void testutil_tree_remove(char *dir)
{
	if (!dir)
		return;
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

int testutil_open_dir(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int testutil_read(const char *dir, const char *rel, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return (int)n;
}

const char *testutil_config_get(void *ctx, const char *key)
{
	struct testutil_config *c = ctx;

	for (size_t i = 0; i + 1 < sizeof(c->kv) / sizeof(c->kv[0]) && c->kv[i]; i += 2)
		if (strcmp(c->kv[i], key) == 0)
			return c->kv[i + 1];
	return NULL;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int testutil_wait_event(const struct vmrd_backend_ops *ops, void *state,
			struct vmrd_backend_event *ret, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = ops->fd(state), .events = POLLIN };
		int r = ops->next_event(state, ret);
		long left;

		if (r != 0)
			return r;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		poll(&p, 1, (int)left);
	}
}
