/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PROM_H
#define VMRD_PROM_H

/*
 * Writing the Prometheus text exposition format (0.0.4), the one way both
 * daemons render `metrics`.  The daemons keep integers (bytes, microseconds,
 * hundredths of a percent); Prometheus wants base units (seconds, ratios).
 * A metric says how many decimal places its integer has, and the sample is
 * printed as that exact decimal: no floating point, no locale.
 *
 * Naming (checked by `promtool check metrics` in make check): base units
 * in the name (_bytes, _seconds, _ratio), counters end in _total and only
 * counters do, a summary's samples are NAME_sum and NAME_count.
 */

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* Decimal places of the integers the daemons keep. */
#define PROM_UNIT 0          /* plain integers, bytes */
#define PROM_USEC 6          /* microseconds, exposed as seconds */
#define PROM_CENTI_PERCENT 4 /* hundredths of a percent, exposed as a ratio */

struct prom_metric {
	const char *name;
	const char *type; /* "gauge", "counter", "summary" */
	const char *help;
	unsigned decimals;
};

/* The # HELP and # TYPE lines of one family. */
void prom_head(struct strbuf *o, const struct prom_metric *m);

/*
 * One sample: NAME[SUFFIX][{LABELS}] VALUE, VALUE being v / 10^m->decimals.
 * suffix ("_sum", "_count") and labels (already formatted, e.g.
 * vm="web") may be NULL.
 */
void prom_sample(struct strbuf *o, const struct prom_metric *m, const char *suffix,
		 const char *labels, uint64_t v);

/* A family with one unlabelled sample. */
void prom_metric(struct strbuf *o, const struct prom_metric *m, uint64_t v);

/* A table of such families and their values, written in order. */
struct prom_value {
	struct prom_metric m;
	uint64_t v;
};

void prom_values(struct strbuf *o, const struct prom_value *t, size_t n);

#endif
