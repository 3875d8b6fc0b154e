/* SPDX-License-Identifier: MIT */
#include "common/inifile.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

static void verror(struct inifile *f, unsigned line, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void verror(struct inifile *f, unsigned line, const char *fmt, va_list ap)
{
	fprintf(f->err, "%s:%u: ", f->path, line);
	vfprintf(f->err, fmt, ap);
	fputc('\n', f->err);
	f->errors++;
}

void inifile_error(struct inifile *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(f, f->line, fmt, ap);
	va_end(ap);
}

void inifile_error_at(struct inifile *f, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(f, line, fmt, ap);
	va_end(ap);
}

/* A line the handler must not see is handed to inih as an empty one. */
static char *reader(char *str, int num, void *stream)
{
	struct inifile *f = stream;
	const char *p;
	size_t len;
	int c;

	if (!fgets(str, num, f->file))
		return NULL;
	f->line++;
	len = strlen(str);
	if (len == (size_t)num - 1 && str[len - 1] != '\n') {
		inifile_error(f, "line too long (at most %d characters)", num - 2);
		while ((c = fgetc(f->file)) != EOF && c != '\n')
			;
		str[0] = '\0';
		return str;
	}
	for (p = str; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '\n' || *p == '#' || *p == ';')
		return str;
	if (*p == '[') {
		f->section_line = f->line;
		if (!strchr(p, ']')) {
			inifile_error(f, "unterminated section header");
			str[0] = '\0';
		}
		return str;
	}
	if (!strchr(p, '=')) {
		inifile_error(f, "expected 'key = value'");
		str[0] = '\0';
	}
	return str;
}

int inifile_parse(struct inifile *f, ini_handler handler, void *user)
{
	if (ini_parse_stream(reader, f, handler, user) < 0)
		return -ENOMEM;
	return f->errors ? -EINVAL : 0;
}
