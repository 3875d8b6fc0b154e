/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for vmstat_parse(): any bytes in, no crash, no read past the input
 * (the input is copied to an exact-size heap buffer without a NUL so that
 * ASan sees an over-read), and the output is written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/vmstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_one(const char *buf, size_t size)
{
	struct vmstat vs, before;
	int r;

	memset(&vs, 0xa5, sizeof(vs));
	memcpy(&before, &vs, sizeof(before));
	r = vmstat_parse(buf, size, &vs);
	if (r < 0 && memcmp(&vs, &before, sizeof(vs)) != 0)
		abort();
	if (r < 0 && r != -EINVAL && r != -ERANGE && r != -ENODATA)
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
