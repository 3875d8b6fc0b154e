/* SPDX-License-Identifier: MIT */
#ifndef VMRD_INIFILE_H
#define VMRD_INIFILE_H

/*
 * inih with line numbers.  inih reports a syntax error only by its line
 * number and loses a line longer than its buffer; inifile feeds it through
 * a reader that sees every raw line first, so it can word those errors
 * itself and tell the handler which line it is on.  Both vmrd.conf and
 * vmrd-host.conf are parsed this way, so their errors read alike:
 * "file:line: message".
 */

#include <stdio.h>

#include <ini.h>

struct inifile {
	const char *path;      /* for messages only */
	FILE *file;
	FILE *err;             /* where errors are written */
	unsigned line;         /* the line being parsed */
	unsigned section_line; /* the line of the last section header */
	unsigned errors;
};

/* Write "path:line: message" to f->err and count it. */
void inifile_error(struct inifile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for another line (e.g. a section's header). */
void inifile_error_at(struct inifile *f, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parse f->file, calling handler(user, section, key, value) for each key.
 * 0 when the file had no errors, -EINVAL when some were written, -ENOMEM
 * when inih could not allocate.
 */
int inifile_parse(struct inifile *f, ini_handler handler, void *user);

#endif
