/* SPDX-License-Identifier: MIT */
#include "fleet_report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)

int fleet_trail_add(struct fleet_trail *t, uint64_t footprint_bytes)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 4096;
		uint64_t *nf = realloc(t->footprint, ncap * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		t->footprint = nf;
		t->cap = ncap;
	}
	t->footprint[t->n++] = footprint_bytes;
	return 0;
}

void fleet_trail_free(struct fleet_trail *t)
{
	free(t->footprint);
	memset(t, 0, sizeof(*t));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of sorted v[0..n). */
static uint64_t rank(const uint64_t *v, size_t n, unsigned pct)
{
	size_t k = (n * pct + 99) / 100;

	return n == 0 ? 0 : v[k ? k - 1 : 0];
}

void fleet_totals(const struct fleet *f, struct fleet_trail *t, struct fleet_totals *ret)
{
	struct fleet_totals s = { .vms = f->n, .budget_bytes = fleet_budget_bytes(&f->cfg),
				  .over_budget_usec = f->over_budget_usec,
				  .arbiter_error = f->arbiter_error };

	qsort(t->footprint, t->n, sizeof(*t->footprint), cmp_u64);
	s.p50_bytes = rank(t->footprint, t->n, 50);
	s.p99_bytes = rank(t->footprint, t->n, 99);
	s.max_bytes = t->n ? t->footprint[t->n - 1] : 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_vm *vm = &f->vms[i];
		const struct fleet_vm_stats *v = &vm->stats;

		s.stall_usec += vm->w.stats.stall_usec;
		if (vm->w.stats.stall_usec > s.worst_stall_usec)
			s.worst_stall_usec = vm->w.stats.stall_usec;
		s.low_usec += v->low_usec;
		s.oom_kills += vm->w.stats.oom_kills;
		s.oom_vms += vm->w.stats.oom_kills > 0;
		s.requests += v->requests;
		s.grants += v->grants;
		s.denies += v->denies;
		s.timeouts += v->timeouts;
		s.reclaims += v->reclaims;
		s.host_sets += v->host_sets;
		s.resizes += v->resizes;
		for (int k = 0; k < ARBITER_R__MAX; k++) {
			s.denied[k] += v->denied[k];
			s.asked[k] += v->asked[k];
			s.set[k] += v->set[k];
		}
	}
	*ret = s;
}

void fleet_gib(char *buf, size_t len, uint64_t bytes)
{
	uint64_t centi = (bytes / MIB * 100 + 512) / 1024;

	snprintf(buf, len, "%llu.%02llu", (unsigned long long)(centi / 100),
		 (unsigned long long)(centi % 100));
}

static void hms(char *buf, size_t len, uint64_t usec)
{
	uint64_t s = usec / SEC;

	snprintf(buf, len, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
		 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
}

/* What the series shows besides the footprint. */
struct now_counts {
	uint64_t sum_size;
	uint64_t requests, grants, denies, reclaims, host_sets;
	uint32_t oom_kills;
	uint32_t pressured;            /* guests at or above the arbiter's pressure mark now */
};

static void counts(const struct fleet *f, struct now_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_vm *vm = &f->vms[i];

		c->sum_size += vm->w.current;
		c->requests += vm->stats.requests;
		c->grants += vm->stats.grants;
		c->denies += vm->stats.denies;
		c->reclaims += vm->stats.reclaims;
		c->host_sets += vm->stats.host_sets;
		c->oom_kills += vm->w.stats.oom_kills;
		c->pressured += vm->w.in.psi_some_avg10 >= f->cfg.arbiter.guest_psi_pressure_centi;
	}
}

void fleet_print_series_head(FILE *out)
{
	fprintf(out, "#     time  footprint  sizes_gib  requests    grants    denies  reclaims"
		     "  host_sets  oom  pressured\n");
}

void fleet_print_series(FILE *out, const struct fleet *f)
{
	struct now_counts c;
	char t[64], fp[24], sz[24];

	counts(f, &c);
	hms(t, sizeof(t), f->now_usec);
	fleet_gib(fp, sizeof(fp), f->footprint_bytes);
	fleet_gib(sz, sizeof(sz), c.sum_size);
	fprintf(out, "%10s %10s %10s %9llu %9llu %9llu %9llu %10llu %4u %10u\n", t, fp, sz,
		(unsigned long long)c.requests, (unsigned long long)c.grants,
		(unsigned long long)c.denies, (unsigned long long)c.reclaims,
		(unsigned long long)c.host_sets, c.oom_kills, c.pressured);
}

void fleet_print_series_csv_head(FILE *out)
{
	fprintf(out, "t_s,footprint_bytes,budget_bytes,sizes_bytes,requests,grants,denies,reclaims,"
		     "host_sets,oom_kills,pressured\n");
}

void fleet_print_series_csv(FILE *out, const struct fleet *f)
{
	struct now_counts c;

	counts(f, &c);
	fprintf(out, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%u,%u\n",
		(unsigned long long)(f->now_usec / SEC), (unsigned long long)f->footprint_bytes,
		(unsigned long long)fleet_budget_bytes(&f->cfg), (unsigned long long)c.sum_size,
		(unsigned long long)c.requests, (unsigned long long)c.grants,
		(unsigned long long)c.denies, (unsigned long long)c.reclaims,
		(unsigned long long)c.host_sets, c.oom_kills, c.pressured);
}

void fleet_print_vms(FILE *out, const struct fleet *f)
{
	fprintf(out, "#   vm  kind       mean_mib  max_mib  stall_s  low_s  oom  requests  grants"
		     "  denies  timeouts  reclaims  host_sets  resizes\n");
	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_vm *vm = &f->vms[i];
		const struct fleet_vm_stats *v = &vm->stats;
		uint64_t steps = f->now_usec / f->cfg.step_usec;

		fprintf(out, "%6zu  %-9s %9llu %8llu %8llu %6llu %4u %9u %7u %7u %9u %9u %10u %8u\n", i,
			fleet_kind_name(vm->kind),
			(unsigned long long)(steps ? v->size_mib_steps / steps : 0),
			(unsigned long long)(vm->w.stats.max_current_bytes / MIB),
			(unsigned long long)(vm->w.stats.stall_usec / SEC),
			(unsigned long long)(v->low_usec / SEC), vm->w.stats.oom_kills, v->requests,
			v->grants, v->denies, v->timeouts, v->reclaims, v->host_sets, v->resizes);
	}
}

static void print_reasons(FILE *out, const char *what, const uint64_t *by)
{
	const char *sep = " ";

	fprintf(out, "# %s by reason:", what);
	for (int k = 0; k < ARBITER_R__MAX; k++)
		if (by[k]) {
			fprintf(out, "%s%s %llu", sep, arbiter_reason_word((enum arbiter_reason)k),
				(unsigned long long)by[k]);
			sep = ", ";
		}
	fprintf(out, "%s\n", sep[0] == ' ' ? " none" : "");
}

void fleet_print_summary(FILE *out, const struct fleet_totals *t)
{
	char p50[24], p99[24], max[24], budget[24];

	fleet_gib(p50, sizeof(p50), t->p50_bytes);
	fleet_gib(p99, sizeof(p99), t->p99_bytes);
	fleet_gib(max, sizeof(max), t->max_bytes);
	fleet_gib(budget, sizeof(budget), t->budget_bytes);
	fprintf(out, "# summary: vms %zu footprint p50 %s p99 %s max %s GiB budget %s GiB"
		     " over_budget %llu s stall %llu s worst_vm_stall %llu s low %llu s"
		     " oom_kills %u in %u VMs requests %llu grants %llu denies %llu timeouts %llu"
		     " reclaims %llu host_sets %llu resizes %llu\n",
		t->vms, p50, p99, max, budget, (unsigned long long)(t->over_budget_usec / SEC),
		(unsigned long long)(t->stall_usec / SEC), (unsigned long long)(t->worst_stall_usec / SEC),
		(unsigned long long)(t->low_usec / SEC), t->oom_kills, t->oom_vms,
		(unsigned long long)t->requests, (unsigned long long)t->grants,
		(unsigned long long)t->denies, (unsigned long long)t->timeouts,
		(unsigned long long)t->reclaims, (unsigned long long)t->host_sets,
		(unsigned long long)t->resizes);
	print_reasons(out, "denies", t->denied);
	print_reasons(out, "reclaim asks", t->asked);
	print_reasons(out, "targets the host set", t->set);
}
