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
	char *text;
	size_t text_size;
	int n;

	if (state_parse((const char *)data, size, &st) < 0)
		return 0;
	/* Every entry came from a line of its own, "vm X target=N" at least. */
	if (st.n * 13 > size)
		abort();
	for (size_t i = 0; i < st.n; i++)
		if (state_find(&st, st.entries[i].name) != &st.entries[i])
			abort();
	/* The size state_save() allocates must be enough. */
	text_size = st.n * STATE_LINE_MAX + STATE_HEADER_MAX;
	text = malloc(text_size);
	if (!text)
		abort();
	n = state_format(&st, text, text_size);
	if (n < 0)
		abort();
	if (state_parse(text, (size_t)n, &again) < 0 || again.n != st.n)
		abort();
	free(text);
	for (size_t i = 0; i < st.n; i++)
		if (strcmp(again.entries[i].name, st.entries[i].name) != 0 ||
		    again.entries[i].target_bytes != st.entries[i].target_bytes)
			abort();
	return 0;
}
