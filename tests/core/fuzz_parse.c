/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the strict number parsers every config, wire line and /proc file
 * goes through.  The first byte picks the parser, the rest is its text.
 * Beyond not crashing: a number that parses is printed again in its
 * canonical form and must parse to the same value, and the _n forms must
 * agree with the NUL-terminated ones.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(int r)
{
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
}

static void check_u64(const char *s, size_t len)
{
	char again[32];
	uint64_t a, b;
	int r = parse_u64(s, &a), rn = parse_u64_n(s, len, &b);

	check_result(r);
	/* Only a NUL inside the text may make the two forms differ. */
	if (strlen(s) == len && (r != rn || (r == 0 && a != b)))
		abort();
	if (r < 0)
		return;
	snprintf(again, sizeof(again), "%" PRIu64, a);
	if (parse_u64(again, &b) != 0 || a != b)
		abort();
}

static void check_size(const char *s)
{
	char again[32];
	uint64_t a, b;
	int r = parse_size(s, &a);

	check_result(r);
	if (r < 0)
		return;
	snprintf(again, sizeof(again), "%" PRIu64, a);
	if (parse_size(again, &b) != 0 || a != b)
		abort();
}

static void check_duration(const char *s)
{
	char again[32];
	uint64_t a, b;
	int r = parse_duration_usec(s, &a);

	check_result(r);
	if (r < 0)
		return;
	snprintf(again, sizeof(again), "%" PRIu64 "us", a);
	if (parse_duration_usec(again, &b) != 0 || a != b)
		abort();
}

static void check_centi(const char *s, size_t len)
{
	char again[48];
	uint64_t a, b;
	int r = parse_centi(s, &a), rn = parse_centi_n(s, len, &b);

	check_result(r);
	if (strlen(s) == len && (r != rn || (r == 0 && a != b)))
		abort();
	if (r < 0)
		return;
	snprintf(again, sizeof(again), "%" PRIu64 ".%02" PRIu64, a / 100, a % 100);
	if (parse_centi(again, &b) != 0 || a != b)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256];
	size_t len;
	bool v;

	if (size == 0)
		return 0;
	len = size - 1 < sizeof(s) - 1 ? size - 1 : sizeof(s) - 1;
	memcpy(s, data + 1, len);
	s[len] = '\0';
	switch (data[0] % 5) {
	case 0:
		check_u64(s, len);
		break;
	case 1:
		check_size(s);
		break;
	case 2:
		check_duration(s);
		break;
	case 3:
		check_centi(s, len);
		break;
	default:
		check_result(parse_bool(s, &v));
		break;
	}
	return 0;
}
