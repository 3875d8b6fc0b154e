/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the state file parser: whatever a crash, a full disk or a hand edit
 * left in the file, state_parse() ends, keeps each VM once, and what it kept
 * formats and parses back to the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state st, again;
	static char text[CONFIG_MAX_VMS * (CONFIG_NAME_MAX + 48) + 64];
	int n;

	if (state_parse((const char *)data, size, &st) < 0)
		return 0;
	if (st.n > CONFIG_MAX_VMS)
		abort();
	for (size_t i = 0; i < st.n; i++)
		if (state_find(&st, st.entries[i].name) != &st.entries[i])
			abort();
	n = state_format(&st, text, sizeof(text));
	if (n < 0)
		abort();
	if (state_parse(text, (size_t)n, &again) < 0 || again.n != st.n)
		abort();
	for (size_t i = 0; i < st.n; i++)
		if (strcmp(again.entries[i].name, st.entries[i].name) != 0 ||
		    again.entries[i].target_bytes != st.entries[i].target_bytes)
			abort();
	return 0;
}
