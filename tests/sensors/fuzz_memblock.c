/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the memory block attribute parsers: any bytes in, no
 * crash, no read past the input (the input is copied to an exact-size heap buffer without a NUL so that
 * ASan sees an over-read), and the output is written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensors/memblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_one(const char *buf, size_t size)
{
	enum memblock_state s = MEMBLOCK_UNKNOWN;
	uint64_t bs = 0;
	uint32_t z = 0;

	/* The same bytes go through each single-value parser. */
	if (memblock_parse_block_size(buf, size, &bs) == 0 && bs == 0)
		abort();
	if (memblock_parse_state(buf, size, &s) == 0 && s == MEMBLOCK_UNKNOWN)
		abort();
	if (memblock_parse_zones(buf, size, &z) == 0 &&
	    (z == 0 || ((z & MEMBLOCK_ZONE_NONE) && z != MEMBLOCK_ZONE_NONE)))
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
