/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the parsers of what the host reads about its VMs' memory:
 * /proc/PID/status (footprint), a cgroup limit file (hostmem) and
 * /proc/PID/smaps line by line (guestram).
 */
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include "host/footprint.h"
#include "host/guestram.h"
#include "host/hostmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size;
	struct footprint_sample fs;
	struct guestram g;
	uint64_t v;

	footprint_parse_status(text, size, &fs);
	hostmem_parse_limit(text, size, &v);
	guestram_begin(&g);
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t len = nl ? (size_t)(nl - text) : (size_t)(end - text);

		if (guestram_line(&g, text, len) < 0)
			break;
		text += len + (nl != NULL);
	}
	return 0;
}
