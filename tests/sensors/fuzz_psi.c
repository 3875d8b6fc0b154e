/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for psi_parse(): any bytes in, no crash, no read past the input
 * (the input is copied to an exact-size heap buffer without a NUL so that
 * ASan sees an over-read), and the output is written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_one(const char *buf, size_t size)
{
	struct psi_stats st, before;
	int r;

	memset(&st, 0xa5, sizeof(st));
	memcpy(&before, &st, sizeof(before));
	r = psi_parse(buf, size, &st);
	if (r < 0 && memcmp(&st, &before, sizeof(st)) != 0)
		abort();
	if (r < 0 && r != -EINVAL && r != -ERANGE)
		abort();
	if (r == 0 && !st.has_full && (st.full.avg10 | st.full.avg60 | st.full.avg300) != 0)
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
