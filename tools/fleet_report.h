/* SPDX-License-Identifier: MIT */
#ifndef VMRD_FLEET_REPORT_H
#define VMRD_FLEET_REPORT_H

/*
 * What vmrd-fleet prints about a run: the host footprint over time, a line
 * per VM, and the totals (fleet_totals) that the summary and the fit search
 * are made of.  Sizes in GiB or MiB, times in seconds.
 */

#include <stdio.h>

#include "fleet.h"

/* The footprint of every step of a run, for its percentiles. */
struct fleet_trail {
	uint64_t *footprint;
	size_t n;
	size_t cap;
};

struct fleet_totals {
	size_t vms;
	uint64_t budget_bytes;
	uint64_t p50_bytes;            /* of the host footprint over the steps */
	uint64_t p99_bytes;
	uint64_t max_bytes;
	uint64_t over_budget_usec;
	uint64_t stall_usec;           /* summed over the VMs */
	uint64_t worst_stall_usec;     /* of one VM */
	uint64_t low_usec;             /* summed: MemAvailable below the reserve */
	uint32_t oom_kills;
	uint32_t oom_vms;              /* VMs with at least one */
	uint64_t requests, grants, denies, timeouts, reclaims, host_sets, resizes;
	uint64_t denied[ARBITER_R__MAX], asked[ARBITER_R__MAX], set[ARBITER_R__MAX];
	int arbiter_error;
};

int fleet_trail_add(struct fleet_trail *t, uint64_t footprint_bytes);
void fleet_trail_free(struct fleet_trail *t);

/* Sorts the trail (it is spent afterwards). */
void fleet_totals(const struct fleet *f, struct fleet_trail *t, struct fleet_totals *ret);

void fleet_print_series_head(FILE *out);
void fleet_print_series(FILE *out, const struct fleet *f);
void fleet_print_series_csv_head(FILE *out);
void fleet_print_series_csv(FILE *out, const struct fleet *f);
void fleet_print_vms(FILE *out, const struct fleet *f);
void fleet_print_summary(FILE *out, const struct fleet_totals *t);

/* "12.34" GiB with two decimals, no floating point. */
void fleet_gib(char *buf, size_t len, uint64_t bytes);

#endif
