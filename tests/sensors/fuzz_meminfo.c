/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for meminfo_parse(): any bytes in, no crash, no read past the input
 * (the input is copied to an exact-size heap buffer without a NUL so that
 * ASan sees an over-read), and the output is written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/meminfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_one(const char *buf, size_t size)
{
	struct meminfo mi, before;
	int r;

	memset(&mi, 0xa5, sizeof(mi));
	memcpy(&before, &mi, sizeof(before));
	r = meminfo_parse(buf, size, &mi);
	if (r < 0 && memcmp(&mi, &before, sizeof(mi)) != 0)
		abort();
	if (r < 0 && r != -EINVAL && r != -ERANGE && r != -ENODATA)
		abort();
	/* Bytes come from kB: a multiple of 1024 or the parse is wrong. */
	if (r == 0 && (mi.mem_total_bytes | mi.mem_free_bytes | mi.mem_available_bytes) % 1024)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	fuzz_one(buf, size);
	free(buf);
	return 0;
}
