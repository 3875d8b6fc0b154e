/* SPDX-License-Identifier: MIT */
/*
 * vmrd-fleet: many simulated guests, each running the real policy on a
 * workload, in closed loop with the real arbiter under one host's budget
 * (fleet.h); or the same guests at static sizes.  See vmrd-fleet(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "fleet.h"
#include "fleet_report.h"
#include "pagemodel_scenario.h"

#define SEC UINT64_C(1000000)
#define TRACES_MAX 64
/* A host whose memory never runs out (far below overflow in the arbiter's sums). */
#define FLEET_UNLIMITED_BYTES (UINT64_C(1) << 50)
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_SOFTWARE 70

struct opts {
	struct fleet_config cfg;
	size_t n;
	unsigned mix[FLEET_KIND__MAX];     /* weight of each kind */
	struct fleet_trace traces[TRACES_MAX];
	size_t n_traces;
	uint64_t duration_usec;
	uint64_t every_usec;
	const char *csv_path;
	bool vms_table;
	size_t fit_max;                    /* 0: no fit search */
	const char *giveback;              /* --giveback CASE, NULL: the host gets all back */
	uint32_t back_ppm;                 /* ...and its share from the page model */
};

struct plan {
	size_t n;
	enum fleet_kind *kinds;
	const struct fleet_trace **traces;
	uint64_t *static_bytes;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vmrd-fleet [-v] [--static] [-n VMS] [-m MIX] [-t TRACE.csv]... [-d DURATION]\n"
		"                  [-s SEED] [-H HOST_MEM] [-r RESERVE] [-o OVERHEAD] [--min SIZE]\n"
		"                  [--max SIZE] [--boot SIZE] [--day DURATION] [-i INTERVAL]\n"
		"                  [--csv FILE] [--fit MAX_VMS] [--giveback CASE]\n"
		"MIX is KIND[:WEIGHT],... of bursty, diurnal, cache, unmovable, trace (default: the\n"
		"first four alike).  --fit answers how many VMs of the mix fit: the largest N whose\n"
		"host footprint stays within HOST_MEM - RESERVE at p99 with no VM OOM-killed, for\n"
		"static sizes (each VM at its peak need, or at its max) and for vmrd.  --giveback\n"
		"makes each shrink free the host memory the page model finds for CASE, a scenario of\n"
		"vmrd-pagemodel (e.g. balloon-nofpr-cache), instead of all of it.\n");
}

static int parse_mix(struct opts *o, char *arg)
{
	char *save = NULL;

	memset(o->mix, 0, sizeof(o->mix));
	for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint64_t w = 1;
		enum fleet_kind k;

		if (colon) {
			*colon = '\0';
			if (parse_u64(colon + 1, &w) < 0 || w == 0 || w > 1000) {
				fprintf(stderr, "vmrd-fleet: bad weight \"%s\" of %s (1 to 1000)\n", colon + 1, tok);
				return -EINVAL;
			}
		}
		if (fleet_kind_parse(tok, &k) < 0) {
			fprintf(stderr, "vmrd-fleet: unknown kind \"%s\" (bursty, diurnal, cache, "
					"unmovable, trace)\n", tok);
			return -EINVAL;
		}
		o->mix[k] += (unsigned)w;
	}
	return 0;
}

/* Number options: a table, so that each is parsed and named the same way. */
enum num_kind { NUM_COUNT, NUM_SIZE, NUM_DURATION };

struct num_opt {
	int key;
	const char *name;
	enum num_kind kind;
	size_t offset;     /* into struct opts */
};

enum { OPT_MIN = 256, OPT_MAX, OPT_BOOT, OPT_DAY, OPT_STEP, OPT_CSV, OPT_STATIC, OPT_FIT,
       OPT_GIVEBACK };

#define OFF(f) offsetof(struct opts, f)
static const struct num_opt num_opts[] = {
	{ 's', "seed", NUM_COUNT, OFF(cfg.seed) },
	{ 'H', "host-mem", NUM_SIZE, OFF(cfg.host_bytes) },
	{ 'r', "reserve", NUM_SIZE, OFF(cfg.reserve_bytes) },
	{ 'o', "overhead", NUM_SIZE, OFF(cfg.overhead_bytes) },
	{ OPT_MIN, "min", NUM_SIZE, OFF(cfg.guest.min_bytes) },
	{ OPT_MAX, "max", NUM_SIZE, OFF(cfg.guest.max_bytes) },
	{ OPT_BOOT, "boot", NUM_SIZE, OFF(cfg.guest.boot_bytes) },
	{ 'd', "duration", NUM_DURATION, OFF(duration_usec) },
	{ OPT_DAY, "day", NUM_DURATION, OFF(cfg.day_usec) },
	{ OPT_STEP, "step", NUM_DURATION, OFF(cfg.step_usec) },
	{ 'i', "every", NUM_DURATION, OFF(every_usec) },
};

static int parse_num(struct opts *o, int key, const char *arg)
{
	for (size_t i = 0; i < sizeof(num_opts) / sizeof(num_opts[0]); i++) {
		const struct num_opt *n = &num_opts[i];
		uint64_t *dst = (uint64_t *)(void *)((char *)o + n->offset);
		int r;

		if (n->key != key)
			continue;
		r = n->kind == NUM_SIZE ? parse_size(arg, dst)
		    : n->kind == NUM_DURATION ? parse_duration_usec(arg, dst) : parse_u64(arg, dst);
		if (r < 0)
			fprintf(stderr, "vmrd-fleet: bad --%s \"%s\"%s\n", n->name, arg,
				n->kind == NUM_SIZE ? " (a size: 512M, 8G)"
				: n->kind == NUM_DURATION ? " (a duration with its unit: 90s, 30m, 24h)" : "");
		return r < 0 ? r : 1;
	}
	return 0;
}

static int parse_count(const char *name, const char *arg, size_t *ret)
{
	uint64_t v;

	if (parse_u64(arg, &v) < 0 || v == 0 || v > 1000000) {
		fprintf(stderr, "vmrd-fleet: bad --%s \"%s\" (1 to 1000000)\n", name, arg);
		return -EINVAL;
	}
	*ret = (size_t)v;
	return 0;
}

static int check(const struct opts *o)
{
	const struct sim_params *g = &o->cfg.guest;
	unsigned total = 0;

	for (int k = 0; k < FLEET_KIND__MAX; k++)
		total += o->mix[k];
	if (total == 0 || (o->mix[FLEET_KIND_TRACE] && o->n_traces == 0)) {
		fprintf(stderr, "vmrd-fleet: %s\n", total ? "the mix has trace but no -t TRACE.csv"
						       : "the mix is empty");
		return -EINVAL;
	}
	if (g->boot_bytes == 0 || g->boot_bytes > g->min_bytes || g->min_bytes > g->max_bytes) {
		fprintf(stderr, "vmrd-fleet: need 0 < --boot <= --min <= --max\n");
		return -EINVAL;
	}
	if (o->duration_usec < SEC || o->cfg.day_usec < SEC) {
		fprintf(stderr, "vmrd-fleet: --duration and --day must be at least 1s\n");
		return -EINVAL;
	}
	return 0;
}

/* The host's share of a shrink: what the page model gives back per MiB in the scenario. */
static uint64_t back_by_model(void *ctx, const struct fleet_vm *vm, uint64_t given_bytes)
{
	const struct opts *o = ctx;

	return given_bytes * o->back_ppm / 1000000;
}

static int giveback_share(struct opts *o, const char *name)
{
	struct pagemodel_params p;
	struct pagemodel_result r;
	int64_t pm;

	pagemodel_params_defaults(&p);
	for (size_t i = 0; i < pagemodel_n_cases; i++) {
		if (strcmp(pagemodel_cases[i].name, name) != 0)
			continue;
		if (pagemodel_run(&pagemodel_cases[i], &p, &r) < 0)
			return -ENOMEM;
		pm = pagemodel_per_mille(&r);
		o->giveback = pagemodel_cases[i].name;
		o->back_ppm = (uint32_t)(pm < 0 ? 0 : pm * 1000);
		o->cfg.host_back = back_by_model;
		o->cfg.host_back_ctx = o;
		return 0;
	}
	fprintf(stderr, "vmrd-fleet: --giveback '%s': not a scenario of vmrd-pagemodel\n", name);
	return -EINVAL;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "vms", required_argument, NULL, 'n' },     { "mix", required_argument, NULL, 'm' },
		{ "trace", required_argument, NULL, 't' },   { "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },    { "host-mem", required_argument, NULL, 'H' },
		{ "reserve", required_argument, NULL, 'r' }, { "overhead", required_argument, NULL, 'o' },
		{ "min", required_argument, NULL, OPT_MIN }, { "max", required_argument, NULL, OPT_MAX },
		{ "boot", required_argument, NULL, OPT_BOOT }, { "day", required_argument, NULL, OPT_DAY },
		{ "step", required_argument, NULL, OPT_STEP },
		{ "every", required_argument, NULL, 'i' },   { "csv", required_argument, NULL, OPT_CSV },
		{ "static", no_argument, NULL, OPT_STATIC }, { "fit", required_argument, NULL, OPT_FIT },
		{ "giveback", required_argument, NULL, OPT_GIVEBACK },
		{ "verbose", no_argument, NULL, 'v' },       { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r;

	while ((opt = getopt_long(argc, argv, "n:m:t:d:s:H:r:o:i:vh", longs, NULL)) != -1) {
		r = parse_num(o, opt, optarg);
		if (r < 0)
			return EX_USAGE;
		if (r > 0)
			continue;
		switch (opt) {
		case 'n':
			if (parse_count("vms", optarg, &o->n) < 0)
				return EX_USAGE;
			break;
		case OPT_FIT:
			if (parse_count("fit", optarg, &o->fit_max) < 0)
				return EX_USAGE;
			break;
		case 'm':
			if (parse_mix(o, optarg) < 0)
				return EX_USAGE;
			break;
		case 't':
			if (o->n_traces == TRACES_MAX) {
				fprintf(stderr, "vmrd-fleet: at most %d traces\n", TRACES_MAX);
				return EX_USAGE;
			}
			if (fleet_trace_load(optarg, &o->traces[o->n_traces], stderr) < 0)
				return EX_DATAERR;
			o->n_traces++;
			break;
		case OPT_CSV:
			o->csv_path = optarg;
			break;
		case OPT_STATIC:
			o->cfg.static_sizing = true;
			break;
		case OPT_GIVEBACK:
			if (giveback_share(o, optarg) < 0)
				return EX_USAGE;
			break;
		case 'v':
			o->vms_table = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	o->cfg.guest.start_bytes = o->cfg.guest.boot_bytes;
	return check(o) < 0 ? EX_USAGE : 0;
}

/* Kinds by smooth weighted round robin: every prefix of the fleet is close to the mix. */
static int plan_init(struct plan *p, const struct opts *o, size_t n)
{
	long cur[FLEET_KIND__MAX] = { 0 };
	long total = 0;
	size_t next_trace = 0;

	for (int k = 0; k < FLEET_KIND__MAX; k++)
		total += o->mix[k];
	p->n = n;
	p->kinds = calloc(n, sizeof(*p->kinds));
	p->traces = calloc(n, sizeof(*p->traces));
	p->static_bytes = calloc(n, sizeof(*p->static_bytes));
	if (!p->kinds || !p->traces || !p->static_bytes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int best = -1;

		for (int k = 0; k < FLEET_KIND__MAX; k++) {
			cur[k] += o->mix[k];
			if (o->mix[k] && (best < 0 || cur[k] > cur[best]))
				best = k;
		}
		cur[best] -= total;
		p->kinds[i] = (enum fleet_kind)best;
		if (best == FLEET_KIND_TRACE)
			p->traces[i] = &o->traces[next_trace++ % o->n_traces];
		p->static_bytes[i] = fleet_static_size(&o->cfg, p->kinds[i], i, p->traces[i],
						       o->duration_usec);
	}
	return 0;
}

static void plan_free(struct plan *p)
{
	free(p->kinds);
	free(p->traces);
	free(p->static_bytes);
}

static void print_head(FILE *out, const struct opts *o, const struct fleet_config *cfg,
		       const struct plan *p, size_t n)
{
	size_t per[FLEET_KIND__MAX] = { 0 };
	char host[24], budget[24];
	const char *sep = "";

	for (size_t i = 0; i < n; i++)
		per[p->kinds[i]]++;
	fprintf(out, "# vmrd-fleet: %zu VMs (", n);
	for (int k = 0; k < FLEET_KIND__MAX; k++)
		if (per[k]) {
			fprintf(out, "%s%s %zu", sep, fleet_kind_name((enum fleet_kind)k), per[k]);
			sep = ", ";
		}
	fleet_gib(host, sizeof(host), cfg->host_bytes);
	fleet_gib(budget, sizeof(budget), fleet_budget_bytes(cfg));
	fprintf(out, "), %s, seed %llu, %llu s in %llu ms steps\n",
		cfg->static_sizing ? "static sizes" : "vmrd", (unsigned long long)cfg->seed,
		(unsigned long long)(o->duration_usec / SEC), (unsigned long long)(cfg->step_usec / 1000));
	fprintf(out, "# host %s GiB, budget %s GiB, overhead %llu MiB per VM; VMs %llu-%llu MiB,"
		     " boot %llu MiB\n", host, budget, (unsigned long long)(cfg->overhead_bytes >> 20),
		(unsigned long long)(cfg->guest.min_bytes >> 20),
		(unsigned long long)(cfg->guest.max_bytes >> 20),
		(unsigned long long)(cfg->guest.boot_bytes >> 20));
	if (o->giveback)
		fprintf(out, "# give-back as %s: the host gets back %u.%03u per MiB given up (page model)\n",
			o->giveback, o->back_ppm / 1000000, o->back_ppm % 1000000 / 1000);
}

/* One whole run of the first n VMs of the plan; out NULL: quiet. */
static int run(const struct opts *o, const struct fleet_config *cfg, const struct plan *p, size_t n,
	       FILE *out, FILE *csv, struct fleet_totals *ret)
{
	struct fleet_trail trail = { 0 };
	struct fleet f;
	int r = fleet_init(&f, cfg, n, p->kinds, p->traces, p->static_bytes);

	if (r < 0)
		return r;
	if (out) {
		print_head(out, o, cfg, p, n);
		if (o->every_usec)
			fleet_print_series_head(out);
	}
	if (csv)
		fleet_print_series_csv_head(csv);
	while (f.now_usec < o->duration_usec && r == 0) {
		fleet_step(&f);
		r = fleet_trail_add(&trail, f.footprint_bytes);
		if (o->every_usec && f.now_usec % o->every_usec == 0) {
			if (out)
				fleet_print_series(out, &f);
			if (csv)
				fleet_print_series_csv(csv, &f);
		}
	}
	if (r == 0) {
		fleet_totals(&f, &trail, ret);
		if (out && o->vms_table)
			fleet_print_vms(out, &f);
		if (out)
			fleet_print_summary(out, ret);
	}
	fleet_trail_free(&trail);
	fleet_free(&f);
	return r;
}

/*
 * N fits when the footprint's p99 is within the budget and the budget costs
 * the guests nothing that matters: no more OOM kills than the same VMs
 * suffer on a host with unlimited memory (base), and at most a tenth more
 * stall (or a second more per VM, whichever allows more).
 */
static bool fits(const struct fleet_totals *t, const struct fleet_totals *base)
{
	uint64_t slack = base->stall_usec / 10 > t->vms * SEC ? base->stall_usec / 10 : t->vms * SEC;

	return t->arbiter_error == 0 && t->p99_bytes <= t->budget_bytes &&
	       t->oom_kills <= base->oom_kills && t->stall_usec <= base->stall_usec + slack;
}

/* Static sizes: the footprint is the sum of the sizes; the largest prefix within the budget. */
static size_t static_fit(const struct opts *o, const struct plan *p, bool at_max)
{
	uint64_t budget = fleet_budget_bytes(&o->cfg), sum = 0;
	size_t n = 0;

	while (n < p->n) {
		sum += (at_max ? o->cfg.guest.max_bytes : p->static_bytes[n]) + o->cfg.overhead_bytes;
		if (sum > budget)
			break;
		n++;
	}
	return n;
}

static void print_probe(const char *what, size_t n, const struct fleet_totals *t,
			const struct fleet_totals *base, bool ok)
{
	char p99[24], max[24];

	fleet_gib(p99, sizeof(p99), t->p99_bytes);
	fleet_gib(max, sizeof(max), t->max_bytes);
	printf("# probe %-6s N %4zu: footprint p99 %s max %s GiB, oom_kills %u (unlimited host %u),"
	       " stall %llu s (unlimited host %llu s): %s\n", what, n, p99, max, t->oom_kills,
	       base->oom_kills, (unsigned long long)(t->stall_usec / SEC),
	       (unsigned long long)(base->stall_usec / SEC), ok ? "fits" : "does not fit");
}

/* One probe: n VMs under cfg, and the same on a host with unlimited memory. */
static int probe(const struct opts *o, const struct fleet_config *cfg, const struct plan *p,
		 size_t n, const char *what, bool *ret_fits)
{
	struct fleet_config unlimited = *cfg;
	struct fleet_totals t, base;
	int r;

	unlimited.host_bytes = FLEET_UNLIMITED_BYTES;
	r = run(o, cfg, p, n, NULL, NULL, &t);
	if (r == 0)
		r = cfg->static_sizing ? 0 : run(o, &unlimited, p, n, NULL, NULL, &base);
	if (r < 0)
		return r;
	if (cfg->static_sizing)
		base = t;
	*ret_fits = fits(&t, &base);
	print_probe(what, n, &t, &base, *ret_fits);
	return 0;
}

static int fit(const struct opts *o, const struct plan *p)
{
	struct fleet_config cfg = o->cfg;
	size_t at_max = static_fit(o, p, true), at_peak = static_fit(o, p, false);
	size_t lo = 0, hi = p->n;
	bool ok = true;
	int r;

	printf("# fit: the largest N (of at most %zu) whose host footprint stays within the budget at"
	       " p99, with no more OOM kills and at most 10 %% (or 1 s per VM) more stall than on an"
	       " unlimited host\n",
	       p->n);
	print_head(stdout, o, &o->cfg, p, p->n);
	cfg.static_sizing = true;
	if (at_peak > 0 && (r = probe(o, &cfg, p, at_peak, "static", &ok)) < 0)
		return r;
	/* A VM whose peak is beyond its max is short at any static size it may have. */
	if (!ok)
		at_peak = 0;
	cfg.static_sizing = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		r = probe(o, &cfg, p, mid, "vmrd", &ok);
		if (r < 0)
			return r;
		if (ok)
			lo = mid;
		else
			hi = mid - 1;
	}
	printf("fit: static-max %zu static-peak %zu vmrd %zu%s\n", at_max, at_peak, lo,
	       lo == p->n ? " (the most tried: raise --fit)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 100, .duration_usec = 24 * 3600 * SEC, .every_usec = 3600 * SEC };
	struct fleet_totals t;
	struct plan p = { 0 };
	FILE *csv = NULL;
	int r;

	fleet_config_defaults(&o.cfg);
	for (int k = 0; k < FLEET_KIND_TRACE; k++)
		o.mix[k] = 1;
	r = parse_args(&o, argc, argv);
	if (r)
		goto out;
	r = plan_init(&p, &o, o.fit_max ? o.fit_max : o.n);
	if (r < 0)
		goto fail;
	if (o.fit_max) {
		r = fit(&o, &p);
		goto fail;
	}
	if (o.csv_path && !(csv = fopen(o.csv_path, "we"))) {
		fprintf(stderr, "vmrd-fleet: %s: %s\n", o.csv_path, strerror(errno));
		r = EX_USAGE;
		goto out;
	}
	r = run(&o, &o.cfg, &p, o.n, stdout, csv, &t);
	if (csv && fclose(csv) != 0 && r == 0)
		r = -EIO;
fail:
	if (r < 0)
		fprintf(stderr, "vmrd-fleet: %s\n", strerror(-r));
	r = r < 0 ? EX_SOFTWARE : 0;
out:
	plan_free(&p);
	for (size_t i = 0; i < o.n_traces; i++)
		fleet_trace_free(&o.traces[i]);
	return r;
}
