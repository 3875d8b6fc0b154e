/* SPDX-License-Identifier: MIT */
#ifndef VMRD_FLEET_TRACE_H
#define VMRD_FLEET_TRACE_H

/*
 * Demand traces that vmrd-fleet replays: CSV, one file per workload.
 *
 * Blank lines and lines starting with '#' are comments.  The first other
 * line is the header, comma-separated column names in any order, each at
 * most once:
 *   t_s | t_ms  time since the start of the trace, whole seconds or
 *               milliseconds (exactly one of the two)
 *   demand      the workload's memory: its pages, unmovable ones included
 *   cache       page cache the workload would keep (optional)
 *   hot         the part of that cache that is working set (optional, needs cache)
 *   unmovable   the part of demand only the kernel zones can hold (optional)
 * Every other line is a row with one field per column.  Sizes are bytes
 * with an optional K, M, G or T suffix (binary: "512M"); times are plain
 * digits.  Times strictly increase.  A size above FLEET_TRACE_SIZE_MAX is
 * refused as absurd, as are unmovable above demand and hot above cache.  A
 * row holds from its time until the next row's; before the first row the
 * first one holds, after the last row the last one.
 *
 * A bad file is refused as a whole, with "file:line: what is wrong".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* No guest of a fleet has a terabyte of demand: a bigger number is a unit mistake. */
#define FLEET_TRACE_SIZE_MAX (UINT64_C(1) << 40)
/* And no trace runs a year. */
#define FLEET_TRACE_TIME_MAX_USEC (UINT64_C(366) * 86400 * 1000000)
/* Longer lines are refused, not split. */
#define FLEET_TRACE_LINE_MAX 512

enum fleet_trace_col {
	FLEET_COL_T_S = 0,
	FLEET_COL_T_MS,
	FLEET_COL_DEMAND,
	FLEET_COL_CACHE,
	FLEET_COL_HOT,
	FLEET_COL_UNMOVABLE,
	FLEET_COL__MAX,
};

struct fleet_trace_row {
	uint64_t t_usec;
	uint64_t demand_bytes;
	uint64_t cache_bytes;      /* with has_cache */
	uint64_t hot_bytes;        /* with has_hot */
	uint64_t unmovable_bytes;  /* 0 without the column */
};

/* Line-by-line parsing without I/O (the loader and the tests use it). */
struct fleet_trace_parser {
	bool header_done;
	int field[FLEET_COL__MAX];  /* the field index of each column, -1: absent */
	unsigned n_fields;
	bool have_last;
	uint64_t last_usec;
	char err[160];              /* what is wrong with the last line refused */
};

void fleet_trace_parser_init(struct fleet_trace_parser *p);
/*
 * One line, without its newline (a trailing '\r' is ignored).  Returns 0
 * for a comment or the header, 1 with *ret_row filled for a row, or
 * -EINVAL with p->err saying what is wrong.
 */
int fleet_trace_parse_line(struct fleet_trace_parser *p, const char *line, size_t len,
			   struct fleet_trace_row *ret_row);

struct fleet_trace {
	char name[64];              /* the file's base name, for reports */
	bool has_cache;
	bool has_hot;
	struct fleet_trace_row *rows;
	size_t n_rows;
};

/*
 * Read a whole trace.  Errors are written to err as "path:line: ..." (or
 * "path: ..." when the file cannot be read or has no rows); returns 0 or a
 * negative errno, and *ret is only set on success.
 */
int fleet_trace_load(const char *path, struct fleet_trace *ret, FILE *err);
void fleet_trace_free(struct fleet_trace *t);

/* The row in force at t_usec; *cursor (start at 0) only moves forward. */
const struct fleet_trace_row *fleet_trace_at(const struct fleet_trace *t, size_t *cursor,
					     uint64_t t_usec);

#endif
