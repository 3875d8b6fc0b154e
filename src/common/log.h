/* SPDX-License-Identifier: MIT */
#ifndef VMRD_LOG_H
#define VMRD_LOG_H

/*
 * A small log module in the OpenBSD manner.  log_warn() appends the text of
 * errno, log_warnc() that of an explicit error code (our functions return
 * negative errnos), log_warnx() appends nothing.  Only programs log: library
 * and core code return errors and leave the wording to their caller.
 *
 * Under systemd (stderr connected to the journal) every line carries a
 * "<N>" priority prefix; on a terminal it carries the program name.
 */

#include <stdarg.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

void log_init(const char *progname, int debug);
int log_is_debug(void);

void log_warn(const char *fmt, ...) LOG_FMT(1, 2);
void log_warnc(int code, const char *fmt, ...) LOG_FMT(2, 3);
void log_warnx(const char *fmt, ...) LOG_FMT(1, 2);
void log_info(const char *fmt, ...) LOG_FMT(1, 2);
void log_debug(const char *fmt, ...) LOG_FMT(1, 2);

/* Only for start-up: they exit with the given sysexits(3) code. */
void fatal(int status, const char *fmt, ...) LOG_FMT(2, 3) __attribute__((noreturn));
void fatalx(int status, const char *fmt, ...) LOG_FMT(2, 3) __attribute__((noreturn));

#endif
