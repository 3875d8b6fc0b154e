/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for vmrd.conf: any bytes go through the real parser and
 * validator.  Whatever the input, parsing must end with 0 or -EINVAL, and
 * a file that parses must validate without crashing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmrd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vmrd_config cfg;
	static FILE *err;
	FILE *in;
	int r;

	if (size == 0)
		return 0;
	if (!err)
		err = fopen("/dev/null", "w");
	in = fmemopen((void *)data, size, "r");
	if (!in || !err)
		abort();
	config_defaults(&cfg);
	r = config_load_stream(in, "fuzz.conf", &cfg, err);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r == 0)
		config_validate(&cfg, "fuzz.conf", err);
	fclose(in);
	return 0;
}
