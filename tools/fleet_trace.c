/* SPDX-License-Identifier: MIT */
#include "fleet_trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"

static const char *const col_names[FLEET_COL__MAX] = {
	[FLEET_COL_T_S] = "t_s",
	[FLEET_COL_T_MS] = "t_ms",
	[FLEET_COL_DEMAND] = "demand",
	[FLEET_COL_CACHE] = "cache",
	[FLEET_COL_HOT] = "hot",
	[FLEET_COL_UNMOVABLE] = "unmovable",
};

/* A field: [start, start + len) of the line, blanks around it dropped. */
struct field {
	const char *s;
	size_t len;
};

static int fail(struct fleet_trace_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct fleet_trace_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void fleet_trace_parser_init(struct fleet_trace_parser *p)
{
	memset(p, 0, sizeof(*p));
	for (int c = 0; c < FLEET_COL__MAX; c++)
		p->field[c] = -1;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split on commas; an empty field is kept (and refused by the caller). */
static int split(const char *line, size_t len, struct field *f, unsigned max, unsigned *ret_n)
{
	unsigned n = 0;
	size_t i = 0;

	for (;;) {
		size_t start = i, end;

		while (i < len && line[i] != ',')
			i++;
		end = i;
		while (start < end && blank(line[start]))
			start++;
		while (end > start && blank(line[end - 1]))
			end--;
		if (n == max)
			return -E2BIG;
		f[n++] = (struct field){ line + start, end - start };
		if (i == len)
			break;
		i++;
	}
	*ret_n = n;
	return 0;
}

static int header(struct fleet_trace_parser *p, const struct field *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int c;

		for (c = 0; c < FLEET_COL__MAX; c++)
			if (strlen(col_names[c]) == f[i].len && memcmp(col_names[c], f[i].s, f[i].len) == 0)
				break;
		if (c == FLEET_COL__MAX)
			return fail(p, "unknown column \"%.*s\" (known: t_s or t_ms, demand, cache, hot, "
				    "unmovable)", (int)f[i].len, f[i].s);
		if (p->field[c] >= 0)
			return fail(p, "column %s given twice", col_names[c]);
		p->field[c] = (int)i;
	}
	if ((p->field[FLEET_COL_T_S] >= 0) == (p->field[FLEET_COL_T_MS] >= 0))
		return fail(p, "the header needs exactly one time column, t_s or t_ms");
	if (p->field[FLEET_COL_DEMAND] < 0)
		return fail(p, "the header has no demand column");
	if (p->field[FLEET_COL_HOT] >= 0 && p->field[FLEET_COL_CACHE] < 0)
		return fail(p, "column hot needs a cache column");
	p->n_fields = n;
	p->header_done = true;
	return 0;
}

static int size_field(struct fleet_trace_parser *p, int c, const struct field *f, uint64_t *ret)
{
	char buf[32];
	int r;

	if (f->len == 0)
		return fail(p, "empty %s", col_names[c]);
	if (f->s[0] == '-')
		return fail(p, "negative %s \"%.*s\"", col_names[c], (int)f->len, f->s);
	if (f->len >= sizeof(buf))
		return fail(p, "absurd %s \"%.20s...\"", col_names[c], f->s);
	memcpy(buf, f->s, f->len);
	buf[f->len] = '\0';
	r = parse_size(buf, ret);
	if (r == -ERANGE || (r == 0 && *ret > FLEET_TRACE_SIZE_MAX))
		return fail(p, "absurd %s \"%s\" (at most 1T for one guest)", col_names[c], buf);
	if (r < 0)
		return fail(p, "bad %s \"%s\" (a size: digits with an optional K, M, G or T)",
			    col_names[c], buf);
	return 0;
}

static int time_field(struct fleet_trace_parser *p, int c, const struct field *f, uint64_t *ret)
{
	uint64_t v, unit = c == FLEET_COL_T_S ? 1000000 : 1000;
	int r;

	if (f->len == 0)
		return fail(p, "empty %s", col_names[c]);
	if (f->s[0] == '-')
		return fail(p, "negative %s \"%.*s\"", col_names[c], (int)f->len, f->s);
	r = parse_u64_n(f->s, f->len, &v);
	if (r == -ERANGE || (r == 0 && v > FLEET_TRACE_TIME_MAX_USEC / unit))
		return fail(p, "absurd %s \"%.*s\" (a trace runs at most a year)", col_names[c],
			    (int)f->len, f->s);
	if (r < 0)
		return fail(p, "bad %s \"%.*s\" (whole %s)", col_names[c], (int)f->len, f->s,
			    c == FLEET_COL_T_S ? "seconds" : "milliseconds");
	*ret = v * unit;
	return 0;
}

static int row(struct fleet_trace_parser *p, const struct field *f, unsigned n,
	       struct fleet_trace_row *ret)
{
	struct fleet_trace_row rw = { 0 };
	uint64_t *size_of[FLEET_COL__MAX] = {
		[FLEET_COL_DEMAND] = &rw.demand_bytes, [FLEET_COL_CACHE] = &rw.cache_bytes,
		[FLEET_COL_HOT] = &rw.hot_bytes, [FLEET_COL_UNMOVABLE] = &rw.unmovable_bytes,
	};
	int r;

	if (n != p->n_fields)
		return fail(p, "%u fields, the header has %u", n, p->n_fields);
	for (int c = 0; c < FLEET_COL__MAX; c++) {
		if (p->field[c] < 0)
			continue;
		if (c == FLEET_COL_T_S || c == FLEET_COL_T_MS)
			r = time_field(p, c, &f[p->field[c]], &rw.t_usec);
		else
			r = size_field(p, c, &f[p->field[c]], size_of[c]);
		if (r < 0)
			return r;
	}
	if (p->have_last && rw.t_usec <= p->last_usec)
		return fail(p, "time goes backwards: %llu ms after %llu ms (times must increase)",
			    (unsigned long long)(rw.t_usec / 1000), (unsigned long long)(p->last_usec / 1000));
	if (rw.unmovable_bytes > rw.demand_bytes)
		return fail(p, "unmovable %llu MiB is more than demand %llu MiB (it is part of it)",
			    (unsigned long long)(rw.unmovable_bytes >> 20),
			    (unsigned long long)(rw.demand_bytes >> 20));
	if (p->field[FLEET_COL_HOT] >= 0 && rw.hot_bytes > rw.cache_bytes)
		return fail(p, "hot %llu MiB is more than cache %llu MiB (it is part of it)",
			    (unsigned long long)(rw.hot_bytes >> 20),
			    (unsigned long long)(rw.cache_bytes >> 20));
	p->have_last = true;
	p->last_usec = rw.t_usec;
	*ret = rw;
	return 1;
}

int fleet_trace_parse_line(struct fleet_trace_parser *p, const char *line, size_t len,
			   struct fleet_trace_row *ret_row)
{
	struct field f[FLEET_COL__MAX + 1];
	unsigned n;
	size_t i = 0;

	p->err[0] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		len--;
	while (i < len && blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	if (memchr(line, '\0', len))
		return fail(p, "a NUL byte in the line");
	if (split(line, len, f, FLEET_COL__MAX + 1, &n) < 0)
		return p->header_done ? fail(p, "more fields than the header's %u", p->n_fields)
				      : fail(p, "more than %d columns", FLEET_COL__MAX);
	if (!p->header_done)
		return header(p, f, n);
	return row(p, f, n, ret_row);
}

static int add_row(struct fleet_trace *t, size_t *cap, const struct fleet_trace_row *r)
{
	if (t->n_rows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct fleet_trace_row *nr = realloc(t->rows, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		t->rows = nr;
		*cap = ncap;
	}
	t->rows[t->n_rows++] = *r;
	return 0;
}

static void set_name(struct fleet_trace *t, const char *path)
{
	const char *base = strrchr(path, '/');

	snprintf(t->name, sizeof(t->name), "%s", base ? base + 1 : path);
}

int fleet_trace_load(const char *path, struct fleet_trace *ret, FILE *err)
{
	struct fleet_trace t = { .rows = NULL };
	struct fleet_trace_parser p;
	char line[FLEET_TRACE_LINE_MAX + 2];
	unsigned lineno = 0;
	size_t cap = 0;
	int r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		r = -errno;
		fprintf(err, "%s: %s\n", path, strerror(-r));
		return r;
	}
	fleet_trace_parser_init(&p);
	while (fgets(line, sizeof(line), f)) {
		struct fleet_trace_row rw;
		size_t len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] == '\n') {
			len--;
		} else if (!feof(f)) {
			fprintf(err, "%s:%u: line longer than %d bytes\n", path, lineno, FLEET_TRACE_LINE_MAX);
			r = -EINVAL;
			goto out;
		}
		r = fleet_trace_parse_line(&p, line, len, &rw);
		if (r < 0) {
			fprintf(err, "%s:%u: %s\n", path, lineno, p.err);
			goto out;
		}
		if (r == 1 && (r = add_row(&t, &cap, &rw)) < 0) {
			fprintf(err, "%s:%u: %s\n", path, lineno, strerror(-r));
			goto out;
		}
	}
	r = ferror(f) ? -EIO : 0;
	if (r < 0)
		fprintf(err, "%s:%u: %s\n", path, lineno + 1, strerror(EIO));
	if (r == 0 && t.n_rows == 0) {
		fprintf(err, "%s: %s\n", path, p.header_done ? "no rows after the header" : "no header");
		r = -EINVAL;
	}
	if (r < 0)
		goto out;
	t.has_cache = p.field[FLEET_COL_CACHE] >= 0;
	t.has_hot = p.field[FLEET_COL_HOT] >= 0;
	set_name(&t, path);
	*ret = t;
	t.rows = NULL;
out:
	fclose(f);
	free(t.rows);
	return r;
}

void fleet_trace_free(struct fleet_trace *t)
{
	free(t->rows);
	t->rows = NULL;
	t->n_rows = 0;
}

const struct fleet_trace_row *fleet_trace_at(const struct fleet_trace *t, size_t *cursor,
					     uint64_t t_usec)
{
	while (*cursor + 1 < t->n_rows && t->rows[*cursor + 1].t_usec <= t_usec)
		(*cursor)++;
	return &t->rows[*cursor];
}
