/* SPDX-License-Identifier: MIT */
#ifndef VMRD_INIKEY_H
#define VMRD_INIKEY_H

/*
 * One typed key table drives a configuration file: parsing, the range of
 * each value, its error message and --print-defaults all come from the
 * same line, so the parser and the documentation cannot drift apart.
 * vmrd.conf and vmrd-host.conf both use it, so their values read alike:
 *
 *	size        4096, 512M, 2G: bytes, or K M G T (also KiB, MiB, ...); 0 is a size
 *	duration    500ms, 10s, 2m: us ms s m h; a bare number is milliseconds
 *	percentage  12.5 or 12.5%: 0 to 100, at most two decimals
 *	number      whole decimal numbers, no sign (int keys: an optional '-')
 *	boolean     yes/no, true/false, on/off, 1/0
 *	string      not empty, bounded; a path must be absolute
 *
 * Whether 0 (or any other value) makes sense for a key is the key's range,
 * not the grammar.  Defaults are what the config's *_defaults() function
 * sets: printing formats the field's current value, so a default is
 * written once, in code.
 *
 * Adding a key is one table line, e.g.
 *	INIKEY("policy", "grow_step_min", INIKEY_SIZE, struct vmrd_config, policy.grow_step_min_bytes,
 *	       "Smallest grow request."),
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/inifile.h"

enum inikey_type {
	INIKEY_SIZE,     /* uint64_t bytes */
	INIKEY_DURATION, /* uint64_t microseconds */
	INIKEY_PERCENT,  /* uint32_t hundredths of a percent */
	INIKEY_U32,      /* uint32_t */
	INIKEY_U64,      /* uint64_t */
	INIKEY_INT,      /* int */
	INIKEY_BOOL,     /* bool */
	INIKEY_STRING,   /* char[size]; with words, only one of them */
	INIKEY_PATH,     /* char[size], an absolute path */
	INIKEY_ENUM,     /* an enum (int-sized): the index of the value in words */
};

/* flags */
#define INIKEY_AUTO (1u << 0)     /* a size that may be "auto": 0, and the bool at aux_offset set */
#define INIKEY_REQUIRED (1u << 1) /* no default: printed without a value */
#define INIKEY_EMPTY (1u << 2)    /* a STRING that may be empty (meaning none) */

struct inikey {
	const char *section;      /* NULL: whatever section the caller routes to this table */
	const char *name;
	enum inikey_type type;
	unsigned flags;
	size_t offset;            /* of the field in the config struct */
	size_t size;              /* of the field */
	int64_t min;              /* numbers: the smallest value allowed */
	uint64_t max;             /* numbers: the largest (0: the type's largest) */
	const char *const *words; /* ENUM, STRING: NULL-terminated list of the values allowed */
	size_t aux_offset;        /* AUTO: the bool field */
	const char *doc;
};

#define INIKEY_FIELD(st, field) .offset = offsetof(st, field), .size = sizeof(((st *)0)->field)

/* A key of any type, no range beyond its type's. */
#define INIKEY(sec, key, t, st, field, text) \
	{ .section = (sec), .name = (key), .type = (t), INIKEY_FIELD(st, field), .doc = (text) }
/* A number within [lo, hi]. */
#define INIKEY_RANGE(sec, key, t, st, field, lo, hi, text) \
	{ .section = (sec), .name = (key), .type = (t), INIKEY_FIELD(st, field), .min = (lo), .max = (hi), .doc = (text) }
/* An ENUM, or a STRING limited to words. */
#define INIKEY_WORDS(sec, key, t, st, field, list, text) \
	{ .section = (sec), .name = (key), .type = (t), INIKEY_FIELD(st, field), .words = (list), .doc = (text) }

/* The key called name in section (a key whose section is NULL matches any), or NULL. */
const struct inikey *inikey_find(const struct inikey *keys, size_t n, const char *section,
				 const char *name);

/*
 * Parse value into the field of base that k names.  0, or -EINVAL / -ERANGE
 * with the reason written to msg (nothing is stored then).
 */
int inikey_set(const struct inikey *k, void *base, const char *value, char *msg, size_t msg_size);

/* inikey_set(), a failure reported to f as "name = 'value': reason". */
int inikey_apply(struct inifile *f, const struct inikey *k, void *base, const char *value);

/* The field's value as the config would write it ("512M", "30s", "12.5%", "" if required and unset). */
void inikey_format(const struct inikey *k, const void *base, char *buf, size_t size);

/*
 * Every key as "# doc" (wrapped at 78 columns) and "#name = value" with
 * base's values; a "[section]" line before each new section.
 */
void inikey_print(FILE *out, const struct inikey *keys, size_t n, const void *base);

#endif
