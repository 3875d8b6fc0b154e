/* SPDX-License-Identifier: MIT */
#ifndef VMRD_STRBUF_H
#define VMRD_STRBUF_H

/*
 * A bounded string builder: append with printf semantics, never overflow,
 * remember that something did not fit.  Callers append without checking
 * each call and look once at the end.  libc-only, so the pure core may use
 * it over a caller's fixed buffer.
 *
 * Two kinds:
 *  - fixed: over a caller's buffer; what does not fit is cut off (the text
 *    stays NUL-terminated and holds what fitted) and truncated is set.
 *  - growable: allocated here, doubling as needed up to a hard cap; past
 *    the cap it truncates like a fixed one.  The core never uses this kind
 *    (it does not allocate); the daemons use it for control-socket replies.
 *
 * After truncation every further append is ignored, so a reply is either
 * whole or known to be cut.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;      /* text length, without the NUL */
	size_t size;     /* bytes of buf */
	size_t cap;      /* growable: the most size may grow to; 0 for a fixed buffer */
	bool truncated;  /* something did not fit */
	bool failed;     /* growable: an allocation failed (truncated is set too) */
};

/* A fixed builder over buf[0..size); size must be at least 1. */
void strbuf_init(struct strbuf *sb, char *buf, size_t size);

/*
 * A growable builder: initial bytes now, never more than cap.  -ENOMEM, or
 * -EINVAL when initial is 0 or above cap.  Free with strbuf_free().
 */
int strbuf_init_growable(struct strbuf *sb, size_t initial, size_t cap);
void strbuf_free(struct strbuf *sb);

void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append n bytes of s (which need not be NUL-terminated). */
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);

/* Empty again (a growable one keeps its memory); truncated and failed are cleared. */
void strbuf_reset(struct strbuf *sb);

static inline const char *strbuf_str(const struct strbuf *sb)
{
	return sb->buf;
}

static inline size_t strbuf_len(const struct strbuf *sb)
{
	return sb->len;
}

static inline bool strbuf_truncated(const struct strbuf *sb)
{
	return sb->truncated;
}

/* The length as an int for "return the length or -errno" callers: -ENOSPC when truncated. */
int strbuf_result(const struct strbuf *sb);

#endif
