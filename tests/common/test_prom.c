/* SPDX-License-Identifier: MIT */
/* The Prometheus text writer: exact decimals from the daemons' integers, and the framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/prom.h"
#include "common/strbuf.h"

static void test_samples_print_the_exact_decimal(void **state)
{
	static const struct {
		unsigned decimals;
		uint64_t v;
		const char *want;
	} cases[] = {
		{ PROM_UNIT, 0, "m 0\n" },
		{ PROM_UNIT, UINT64_MAX, "m 18446744073709551615\n" },
		{ PROM_USEC, 1, "m 0.000001\n" },
		{ PROM_USEC, 2500000, "m 2.500000\n" },
		{ PROM_USEC, UINT64_MAX, "m 18446744073709.551615\n" },
		{ PROM_CENTI_PERCENT, 1231, "m 0.1231\n" },   /* 12.31 % */
		{ PROM_CENTI_PERCENT, 10000, "m 1.0000\n" },  /* 100 % */
		{ PROM_CENTI_PERCENT, 5, "m 0.0005\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct prom_metric m = { "m", "gauge", "h", cases[i].decimals };
		char buf[128];
		struct strbuf sb;

		strbuf_init(&sb, buf, sizeof(buf));
		prom_sample(&sb, &m, NULL, NULL, cases[i].v);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_families_have_help_type_labels_and_suffixes(void **state)
{
	static const struct prom_metric lat = { "x_latency_seconds", "summary", "How long.", PROM_USEC };
	const struct prom_value t[] = {
		{ { "x_bytes", "gauge", "Size.", PROM_UNIT }, 4096 },
		{ { "x_events_total", "counter", "Events.", PROM_UNIT }, 3 },
	};
	char buf[1024];
	struct strbuf sb;

	strbuf_init(&sb, buf, sizeof(buf));
	prom_values(&sb, t, 2);
	prom_head(&sb, &lat);
	prom_sample(&sb, &lat, "_sum", "vm=\"a\"", 1500);
	assert_false(strbuf_truncated(&sb));
	assert_string_equal(buf, "# HELP x_bytes Size.\n# TYPE x_bytes gauge\nx_bytes 4096\n"
				 "# HELP x_events_total Events.\n# TYPE x_events_total counter\n"
				 "x_events_total 3\n"
				 "# HELP x_latency_seconds How long.\n# TYPE x_latency_seconds summary\n"
				 "x_latency_seconds_sum{vm=\"a\"} 0.001500\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples_print_the_exact_decimal),
		cmocka_unit_test(test_families_have_help_type_labels_and_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
