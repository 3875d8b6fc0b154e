/* SPDX-License-Identifier: MIT */
#include "common/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation; small arrays (a config with a few VMs) stay small. */
#define ARRAY_MIN_CAP 8

int array_grow(void **items, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : ARRAY_MIN_CAP;
	void *p;

	if (need <= *cap && *items)
		return 0;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (size == 0 || n > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*items, n * size);
	if (!p)
		return -ENOMEM;
	/* Zero what is new, so a fresh slot reads as calloc() leaves it. */
	memset((char *)p + *cap * size, 0, (n - *cap) * size);
	*items = p;
	*cap = n;
	return 0;
}
