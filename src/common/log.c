/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *log_progname = "vmrd";
static int log_debug_on;
static int log_journal;

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected. */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, int debug)
{
	log_progname = progname;
	log_debug_on = debug;
	log_journal = stderr_is_journal();
}

int log_is_debug(void)
{
	return log_debug_on;
}

/* prio is a syslog(3) level: 3 err, 4 warning, 6 info, 7 debug. */
__attribute__((format(printf, 3, 0))) static void vlog(int prio, int code, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		if (code)
			fprintf(stderr, "<%d>%s: %s\n", prio, msg, strerror(code));
		else
			fprintf(stderr, "<%d>%s\n", prio, msg);
	} else {
		if (code)
			fprintf(stderr, "%s: %s: %s\n", log_progname, msg, strerror(code));
		else
			fprintf(stderr, "%s: %s\n", log_progname, msg);
	}
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(4, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_warnc(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, code < 0 ? -code : code, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(6, 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	vlog(7, 0, fmt, ap);
	va_end(ap);
}

void fatal(int status, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(3, saved, fmt, ap);
	va_end(ap);
	exit(status);
}

void fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(3, 0, fmt, ap);
	va_end(ap);
	exit(status);
}
