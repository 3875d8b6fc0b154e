/* SPDX-License-Identifier: MIT */
#ifndef VMRD_SCAN_H
#define VMRD_SCAN_H

/*
 * A bounded cursor over kernel text (/proc, /sys).  The buffers handed to
 * the *_parse() functions need not be NUL-terminated, so every step here
 * stops at `end` instead of at a terminator.  Pure: no I/O, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct scan {
	const char *p;
	const char *end;
};

struct scan scan_init(const char *buf, size_t len);

/* True when nothing is left. */
bool scan_done(const struct scan *s);

/*
 * Take the next line (without its '\n') into ret_line and advance past it.
 * False at the end of the buffer.  A last line without '\n' is still a line.
 */
bool scan_line(struct scan *s, struct scan *ret_line);

/* Skip blanks (space, tab), then take the next run of non-blanks.  False if none. */
bool scan_word(struct scan *s, const char **ret_word, size_t *ret_len);

/* Whether the word w[0..len) is exactly the string lit. */
bool scan_word_is(const char *w, size_t len, const char *lit);

/* Skip blanks; true when the rest is empty. */
bool scan_rest_blank(struct scan *s);

/*
 * The value of a "Name:   24683620 kB" line (/proc/meminfo, /proc/PID/status)
 * after the colon, in bytes: -EINVAL unless it is a number and "kB" and
 * nothing else, -ERANGE when it overflows bytes.
 */
int scan_kb(struct scan *rest, uint64_t *ret_bytes);

#endif
