/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for zoneinfo_parse(): any bytes in, no crash, no read past the input
 * (the input is copied to an exact-size heap buffer without a NUL so that
 * ASan sees an over-read), and the output is written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/zoneinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_one(const char *buf, size_t size)
{
	struct zoneinfo zi, before;
	int r;

	memset(&zi, 0xa5, sizeof(zi));
	memcpy(&before, &zi, sizeof(before));
	r = zoneinfo_parse(buf, size, 4096, &zi);
	if (r < 0 && memcmp(&zi, &before, sizeof(zi)) != 0)
		abort();
	if (r < 0 && r != -EINVAL && r != -ERANGE && r != -ENODATA)
		abort();
	if (r == 0) {
		const uint64_t *v = (const uint64_t *)&zi;

		/* Every field is a byte count made of whole pages. */
		for (size_t i = 0; i < sizeof(zi) / sizeof(*v); i++)
			if (v[i] % 4096)
				abort();
	}
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
