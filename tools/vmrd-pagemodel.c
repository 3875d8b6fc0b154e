/* SPDX-License-Identifier: MIT */
/*
 * vmrd-pagemodel: the give-back scenarios of make bench-mechanisms in the
 * page model (pagemodel.h), one line each: what the guest gave up, QEMU's
 * RSS at the peak, before and after, and the host's gain per MiB given up.
 * scripts/bench/mechanisms.py puts it beside the measured table.
 *
 *   vmrd-pagemodel [--tsv] [--order mru|first-fit] [--balloon-order N]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagemodel_scenario.h"

#define MIB (1ull << 20)

static int usage(void)
{
	fprintf(stderr, "usage: vmrd-pagemodel [--tsv] [--order mru|first-fit] [--balloon-order N]\n");
	return 64;
}

static void print(const struct pagemodel_case *c, const struct pagemodel_result *r, bool tsv)
{
	int64_t pm = pagemodel_per_mille(r);
	const char *sign = pm < 0 ? "-" : "";

	if (pm < 0)
		pm = -pm;
	printf(tsv ? "%s\t%s\t%s\t%llu\t%llu\t%llu\t%llu\t%s%lld.%03lld\n"
		   : "%-20s %-28s %-6s %6llu %6llu %6llu %6llu %s%lld.%03lld\n",
	       c->name, c->mechanism, c->prep, (unsigned long long)(r->given_bytes / MIB),
	       (unsigned long long)(r->peak_bytes / MIB), (unsigned long long)(r->before_bytes / MIB),
	       (unsigned long long)(r->after_bytes / MIB), sign, (long long)(pm / 1000),
	       (long long)(pm % 1000));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tsv", no_argument, NULL, 't' },
		{ "order", required_argument, NULL, 'o' },
		{ "balloon-order", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct pagemodel_params p;
	bool tsv = false;
	char *end;
	int c;

	pagemodel_params_defaults(&p);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't') {
			tsv = true;
		} else if (c == 'o' && strcmp(optarg, "mru") == 0) {
			p.order = PAGEMODEL_MRU;
		} else if (c == 'o' && strcmp(optarg, "first-fit") == 0) {
			p.order = PAGEMODEL_FIRST_FIT;
		} else if (c == 'b') {
			errno = 0;
			p.balloon_order = (uint32_t)strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || p.balloon_order > 9)
				return usage();
		} else {
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (!tsv)
		printf("%-20s %-28s %-6s %6s %6s %6s %6s %s\n", "case", "mechanism", "after", "given",
		       "peak", "before", "after", "per MiB");
	for (size_t i = 0; i < pagemodel_n_cases; i++) {
		struct pagemodel_result r;
		int err = pagemodel_run(&pagemodel_cases[i], &p, &r);

		if (err < 0) {
			fprintf(stderr, "vmrd-pagemodel: %s: %s\n", pagemodel_cases[i].name, strerror(-err));
			return 70;
		}
		print(&pagemodel_cases[i], &r, tsv);
	}
	if (!tsv)
		printf("(sizes in MiB; given up, QEMU RSS at the peak, before and after the give-back)\n");
	return 0;
}
