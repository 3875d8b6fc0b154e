/* SPDX-License-Identifier: MIT */
#include "sensors/scan.h"

#include <errno.h>
#include <string.h>

#include "core/parse.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

struct scan scan_init(const char *buf, size_t len)
{
	struct scan s = { .p = buf, .end = buf + len };

	return s;
}

bool scan_done(const struct scan *s)
{
	return s->p >= s->end;
}

bool scan_line(struct scan *s, struct scan *ret_line)
{
	const char *nl;

	if (scan_done(s))
		return false;
	nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
	ret_line->p = s->p;
	ret_line->end = nl ? nl : s->end;
	s->p = nl ? nl + 1 : s->end;
	return true;
}

bool scan_word(struct scan *s, const char **ret_word, size_t *ret_len)
{
	const char *start;

	while (s->p < s->end && is_blank(*s->p))
		s->p++;
	start = s->p;
	while (s->p < s->end && !is_blank(*s->p))
		s->p++;
	if (s->p == start)
		return false;
	*ret_word = start;
	*ret_len = (size_t)(s->p - start);
	return true;
}

bool scan_word_is(const char *w, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(w, lit, len) == 0;
}

bool scan_rest_blank(struct scan *s)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
	return scan_done(s);
}

int scan_kb(struct scan *rest, uint64_t *ret_bytes)
{
	const char *num, *unit;
	size_t num_len, unit_len;
	uint64_t kb;
	int r;

	if (!scan_word(rest, &num, &num_len) || !scan_word(rest, &unit, &unit_len) ||
	    !scan_word_is(unit, unit_len, "kB") || !scan_rest_blank(rest))
		return -EINVAL;
	r = parse_u64_n(num, num_len, &kb);
	if (r < 0)
		return r;
	if (kb > UINT64_MAX / 1024)
		return -ERANGE;
	*ret_bytes = kb * 1024;
	return 0;
}
