/* SPDX-License-Identifier: MIT */
#include "common/prom.h"

#include <inttypes.h>

#include "common/strbuf.h"

void prom_head(struct strbuf *o, const struct prom_metric *m)
{
	strbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
}

void prom_sample(struct strbuf *o, const struct prom_metric *m, const char *suffix,
		 const char *labels, uint64_t v)
{
	uint64_t scale = 1;

	for (unsigned i = 0; i < m->decimals; i++)
		scale *= 10;
	strbuf_printf(o, "%s%s%s%s%s %" PRIu64, m->name, suffix ? suffix : "", labels ? "{" : "",
		      labels ? labels : "", labels ? "}" : "", v / scale);
	if (m->decimals)
		strbuf_printf(o, ".%0*" PRIu64, (int)m->decimals, v % scale);
	strbuf_puts(o, "\n");
}

void prom_metric(struct strbuf *o, const struct prom_metric *m, uint64_t v)
{
	prom_head(o, m);
	prom_sample(o, m, NULL, NULL, v);
}

void prom_values(struct strbuf *o, const struct prom_value *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		prom_metric(o, &t[i].m, t[i].v);
}
