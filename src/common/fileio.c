/* SPDX-License-Identifier: MIT */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int fileio_read_at(int rootfd, const char *path, char *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;
	int fd, r;

	if (size == 0)
		return -EINVAL;
	fd = openat(rootfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) {
			char extra;

			/* Full buffer: is there more? */
			n = read(fd, &extra, 1);
			if (n > 0) {
				r = -EFBIG;
				goto out;
			}
			break;
		}
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	r = 0;
out:
	close(fd);
	return r;
}

int fileio_write_at(int rootfd, const char *path, const char *text)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd, r;

	/* O_TRUNC as a shell's echo: kernel files ignore it, fixture files are rewritten whole. */
	fd = openat(rootfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	else
		r = 0;
	close(fd);
	return r;
}

int fileio_open_root(const char *dir)
{
	int fd = open(dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}
