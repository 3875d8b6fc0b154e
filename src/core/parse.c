/* SPDX-License-Identifier: MIT */
#include "core/parse.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int parse_u64_n(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	return parse_u64_n(s, strlen(s), ret);
}

/* Split "123abc" into the digits and the unit that follows them. */
static size_t digits_len(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

static int scale(uint64_t v, uint64_t mult, uint64_t *ret)
{
	if (mult && v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {
		{ "", 0 },   { "B", 0 },    { "K", 10 },   { "KiB", 10 }, { "M", 20 },
		{ "MiB", 20 }, { "G", 30 }, { "GiB", 30 }, { "T", 40 },   { "TiB", 40 },
	};
	size_t n = digits_len(s);
	uint64_t v;
	int r;

	r = parse_u64_n(s, n, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s + n, units[i].unit) == 0)
			return scale(v, UINT64_C(1) << units[i].shift, ret);
	return -EINVAL;
}

int parse_duration_usec(const char *s, uint64_t *ret)
{
	static const struct {
		const char *unit;
		uint64_t usec;
	} units[] = {
		{ "", 1000 },         { "us", 1 },           { "ms", 1000 },
		{ "s", 1000000 },     { "m", 60000000 },     { "h", UINT64_C(3600000000) },
	};
	size_t n = digits_len(s);
	uint64_t v;
	int r;

	r = parse_u64_n(s, n, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s + n, units[i].unit) == 0)
			return scale(v, units[i].usec, ret);
	return -EINVAL;
}

int parse_centi_n(const char *s, size_t len, uint64_t *ret)
{
	const char *dot = memchr(s, '.', len);
	size_t ilen = dot ? (size_t)(dot - s) : len;
	uint64_t ip, fp = 0;
	int r;

	r = parse_u64_n(s, ilen, &ip);
	if (r < 0)
		return r;
	if (dot) {
		size_t flen = len - ilen - 1;
		uint64_t f;

		if (flen == 0 || flen > 2)
			return -EINVAL;
		r = parse_u64_n(dot + 1, flen, &f);
		if (r < 0)
			return r;
		fp = flen == 1 ? f * 10 : f;
	}
	if (ip > (UINT64_MAX - fp) / 100)
		return -ERANGE;
	*ret = ip * 100 + fp;
	return 0;
}

int parse_centi(const char *s, uint64_t *ret)
{
	return parse_centi_n(s, strlen(s), ret);
}

int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}
