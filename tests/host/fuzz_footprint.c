/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the parsers of what the host reads about its VMs' memory:
 * /proc/PID/status (footprint) and a cgroup limit file (hostmem).
 */
#include <stddef.h>
#include <stdint.h>

#include "host/footprint.h"
#include "host/hostmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct footprint_sample fs;
	uint64_t v;

	footprint_parse_status((const char *)data, size, &fs);
	hostmem_parse_limit((const char *)data, size, &v);
	return 0;
}
