/* SPDX-License-Identifier: MIT */
#include "common/strbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, char *buf, size_t size)
{
	memset(sb, 0, sizeof(*sb));
	sb->buf = buf;
	sb->size = size;
	if (size)
		buf[0] = '\0';
	else
		sb->truncated = true;
}

int strbuf_init_growable(struct strbuf *sb, size_t initial, size_t cap)
{
	memset(sb, 0, sizeof(*sb));
	if (initial == 0 || initial > cap)
		return -EINVAL;
	sb->buf = malloc(initial);
	if (!sb->buf)
		return -ENOMEM;
	sb->buf[0] = '\0';
	sb->size = initial;
	sb->cap = cap;
	return 0;
}

void strbuf_free(struct strbuf *sb)
{
	if (sb->cap)
		free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->truncated = sb->failed = false;
	if (sb->size)
		sb->buf[0] = '\0';
}

/* Room for need more bytes and the NUL, growing when allowed; false when it cannot. */
static bool reserve(struct strbuf *sb, size_t need)
{
	size_t want, size;
	char *p;

	if (need < sb->size - sb->len)
		return true;
	if (sb->cap == 0 || sb->len + need >= sb->cap)
		return false;
	want = sb->len + need + 1;
	for (size = sb->size; size < want; size = size > sb->cap / 2 ? sb->cap : size * 2)
		;
	p = realloc(sb->buf, size);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->buf = p;
	sb->size = size;
	return true;
}

/* Keep what fits, mark the rest as lost. */
static void cut(struct strbuf *sb, const char *s, size_t n)
{
	size_t room = sb->size - 1 - sb->len;

	if (s)
		memcpy(sb->buf + sb->len, s, n < room ? n : room);
	sb->len += n < room ? n : room;
	sb->buf[sb->len] = '\0';
	sb->truncated = true;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->truncated)
		return;
	if (!reserve(sb, n)) {
		cut(sb, s, n);
		return;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (sb->truncated)
		return;
	va_copy(again, ap);
	n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	if (n < 0) {
		sb->buf[sb->len] = '\0';
		sb->truncated = true;
	} else if ((size_t)n < sb->size - sb->len) {
		sb->len += (size_t)n;
	} else if (reserve(sb, (size_t)n)) {
		vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, again);
		sb->len += (size_t)n;
	} else {
		/* vsnprintf already wrote what fits; count it and stop. */
		cut(sb, NULL, (size_t)n);
	}
	va_end(again);
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

int strbuf_result(const struct strbuf *sb)
{
	if (sb->truncated || sb->len > INT_MAX)
		return -ENOSPC;
	return (int)sb->len;
}
