/* SPDX-License-Identifier: MIT */
/*
 * A PSI trigger on the running kernel's /proc/pressure/memory.  It only
 * registers and polls: nothing here allocates memory to cause pressure, so
 * no event is expected and none is required.  Exit 77 (skip) where the
 * kernel has no PSI or does not let us register triggers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "sensors/psi.h"

#define SKIP 77
#define PATH "proc/pressure/memory"

static int fail(const char *what)
{
	fprintf(stderr, "FAIL: %s\n", what);
	return 1;
}

/*
 * Ask the kernel directly whether it takes a 1 s window from us, so the
 * test knows what psi_trigger_open() should have done.  -errno or 0.
 */
static int kernel_takes(int rootfd, const char *line)
{
	int fd = openat(rootfd, PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, line, strlen(line) + 1) < 0)
		r = -errno;
	close(fd);
	return r;
}

int main(void)
{
	struct psi_trigger t = { .fd = -1 };
	struct pollfd pfd;
	int rootfd, direct, r, n;

	rootfd = fileio_open_root("/");
	if (rootfd < 0)
		return fail("open /");
	r = psi_trigger_open(rootfd, PATH, PSI_SOME, 100000, 1000000, &t);
	if (r == -ENOENT || r == -EOPNOTSUPP || r == -EPERM || r == -EACCES) {
		printf("SKIP: no PSI trigger on this kernel: %s\n", strerror(-r));
		return SKIP;
	}
	if (r < 0) {
		fprintf(stderr, "psi_trigger_open: %s\n", strerror(-r));
		return fail("psi_trigger_open on /proc/pressure/memory");
	}
	if (t.fd < 0 || t.kind != PSI_SOME)
		return fail("trigger fields");

	direct = kernel_takes(rootfd, "some 100000 1000000");
	printf("kernel on a 1 s window: %s; trigger: stall %llu us window %llu us adjusted %d\n",
	       direct < 0 ? strerror(-direct) : "accepted", (unsigned long long)t.stall_usec,
	       (unsigned long long)t.window_usec, t.adjusted);
	if (direct == -EINVAL) {
		/* Refused as asked: the 2 s fallback with the stall in proportion. */
		if (!t.adjusted || t.window_usec != 2000000 || t.stall_usec != 200000)
			return fail("1 s window refused but no 2 s fallback");
	} else if (direct == 0) {
		if (t.adjusted || t.window_usec != 1000000 || t.stall_usec != 100000)
			return fail("1 s window accepted but the trigger was adjusted");
	} else {
		fprintf(stderr, "direct write: %s\n", strerror(-direct));
		return fail("the kernel refused a direct write for another reason");
	}

	pfd.fd = t.fd;
	pfd.events = POLLPRI;
	pfd.revents = 0;
	n = poll(&pfd, 1, 200);
	if (n < 0)
		return fail("poll");
	if (pfd.revents & (POLLERR | POLLNVAL | POLLHUP))
		return fail("poll reports an error on the trigger fd");
	if (n > 0 && !(pfd.revents & POLLPRI))
		return fail("poll woke without POLLPRI");
	printf("poll: %s\n", n == 0 ? "no event (idle machine)" : "POLLPRI");

	psi_trigger_close(&t);
	if (t.fd != -1)
		return fail("close leaves fd -1");
	close(rootfd);
	return 0;
}
