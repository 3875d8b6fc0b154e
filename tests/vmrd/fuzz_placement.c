/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the auto_online_blocks parser: a mode that parses has a name, and
 * that name (with the kernel's newline) parses to the same mode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmrd/placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum placement_mode mode, again;
	char text[64];
	const char *name;
	size_t len;

	if (placement_parse_mode((const char *)data, size, &mode) < 0)
		return 0;
	name = placement_mode_name(mode);
	if (!name)
		abort();
	len = strlen(name);
	if (len + 1 >= sizeof(text))
		abort();
	memcpy(text, name, len);
	text[len] = '\n';
	if (placement_parse_mode(text, len + 1, &again) < 0 || again != mode)
		abort();
	return 0;
}
