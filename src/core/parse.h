/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PARSE_H
#define VMRD_PARSE_H

/*
 * Strict number parsing for everything untrusted or hand-written: config
 * files, the wire protocol and /proc.  No locale, no floating point, no
 * leading sign or blanks, the whole input must be consumed.  -EINVAL for a
 * malformed number, -ERANGE for one that does not fit.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal digits only; s[0..len) need not be NUL-terminated. */
int parse_u64_n(const char *s, size_t len, uint64_t *ret);
int parse_u64(const char *s, uint64_t *ret);

/*
 * A size in bytes with an optional binary suffix: K, M, G, T (also written
 * KiB, MiB, ...).  "512M" is 536870912.
 */
int parse_size(const char *s, uint64_t *ret);

/* A duration: a number with a unit us, ms, s, m or h; a bare number is ms. */
int parse_duration_usec(const char *s, uint64_t *ret);

/*
 * A fixed-point decimal with at most two fraction digits, returned in
 * hundredths: "12.34" is 1234, "7" is 700, "0.5" is 50.  This is how PSI
 * averages and percentages are kept, without floating point.
 */
int parse_centi_n(const char *s, size_t len, uint64_t *ret);
int parse_centi(const char *s, uint64_t *ret);

/* yes/no, true/false, on/off, 1/0. */
int parse_bool(const char *s, bool *ret);

#endif
