/* SPDX-License-Identifier: MIT */
/*
 * Fuzz vmrd-host.conf and the --vm argument: the input is read as a config
 * file by the real loader (through a memfd, since config_load() opens a
 * path), and each of its first lines is also given to config_add_vm_arg()
 * as a --vm argument would be.  Whatever the input, loading ends with 0 or
 * -EINVAL, and config_finish() (the cross-key checks and the budget) runs
 * on whatever loaded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GIB (1ull << 30)

static void finish(struct config *cfg, FILE *err)
{
	/* The budget's two sources: the host's memory and a cgroup limit (or its error). */
	config_finish(cfg, "fuzz", 16 * GIB, 8 * GIB, 0, err);
}

static void vm_args(const uint8_t *data, size_t size, FILE *err)
{
	static struct config cfg;
	char arg[512];
	size_t off = 0;

	config_defaults(&cfg);
	for (int i = 0; i < 4 && off < size; i++) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;

		if (len < sizeof(arg)) {
			memcpy(arg, data + off, len);
			arg[len] = '\0';
			(void)config_add_vm_arg(&cfg, arg, err);
		}
		off += len + 1;
	}
	finish(&cfg, err);
	config_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int fd = -1;
	static FILE *err;
	char path[64];
	int r;

	if (fd < 0) {
		fd = memfd_create("fuzz-host-config", MFD_CLOEXEC);
		err = fopen("/dev/null", "w");
		if (fd < 0 || !err)
			abort();
	}
	/*
	 * Overwrite, then cut to size: truncating to 0 first would free the
	 * memfd's page and fault a new one in for every input.
	 */
	if (pwrite(fd, data, size, 0) != (ssize_t)size || ftruncate(fd, (off_t)size) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&cfg);
	r = config_load(path, &cfg, err);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0)
		finish(&cfg, err);
	config_free(&cfg);
	vm_args(data, size, err);
	return 0;
}
