/* SPDX-License-Identifier: MIT */
/* Finding and opening the link to vmrd-host: virtio-serial port, unix socket or vsock. */
#include "backends/host.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "common/fileio.h"

int host_find_port(int rootfd, const char *name, char *buf, size_t size)
{
	struct dirent *de;
	DIR *d;
	int dfd, r = -ENOENT;

	dfd = openat(rootfd, "sys/class/virtio-ports", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char path[300], val[128];
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/name", de->d_name);
		if (fileio_read_at(dirfd(d), path, val, sizeof(val), &len) < 0)
			continue;
		if (len > 0 && val[len - 1] == '\n')
			val[--len] = '\0';
		if (strcmp(val, name) == 0) {
			r = snprintf(buf, size, "dev/%s", de->d_name) < (int)size ? 0 : -ENAMETOOLONG;
			break;
		}
	}
	closedir(d);
	return r;
}

int host_link_open(int rootfd, const char *device, const char *port_name, uint32_t vsock_port,
		   bool *ret_connecting)
{
	char path[300];
	struct stat st;
	int fd, r;

	if (vsock_port) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
					  .svm_port = (unsigned)vsock_port };

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		goto connected;
	}
	if (device && device[0]) {
		snprintf(path, sizeof(path), "%s", device);
	} else {
		r = host_find_port(rootfd, port_name, path, sizeof(path));
		if (r < 0)
			return r;
	}
	if (fstatat(rootfd, path, &st, 0) < 0)
		return -errno;
	if (S_ISSOCK(st.st_mode)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char full[sizeof(path) + 32];
		int n;

		/* connect() has no *at() form: reach a relative path through rootfd. */
		if (path[0] != '/' && rootfd != AT_FDCWD)
			n = snprintf(full, sizeof(full), "/proc/self/fd/%d/%s", rootfd, path);
		else
			n = snprintf(full, sizeof(full), "%s", path);
		if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
			return -ENAMETOOLONG;
		memcpy(sa.sun_path, full, strlen(full));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		goto connected;
	}
	fd = openat(rootfd, path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (isatty(fd)) {
		struct termios t;

		/* A pty standing in for the port must pass bytes untouched. */
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
	}
	r = 0;
connected:
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_connecting = r < 0;
	return fd;
}
