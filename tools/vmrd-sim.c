/* SPDX-License-Identifier: MIT */
/*
 * vmrd-sim: run the real policy over simulated time.
 *
 *   vmrd-sim [-a] [-p] SCENARIO     a named workload in the closed-loop world
 *   vmrd-sim [-a] [-p] -t TRACE     a CSV trace (see below)
 *   vmrd-sim -l                     list the scenarios
 *
 * -a prints every evaluation, not only actions and changes of reason; -p
 * runs POLICY_MODE_PSI_ONLY.  The last line is a summary (for benchmarks).
 *
 * A trace is CSV with a header naming its columns; '#' lines are comments.
 * With a "demand" column it drives the closed-loop world (t_ms,demand).
 * Otherwise each row is one policy input, replayed open loop: t_ms,
 * mem_total, avail, free, cache, psi_some10, psi_some60, psi_full10,
 * psi_full_total_us, trigger, oom_kill, allocstall, refault_file, current,
 * min, max, block, releasable, busy, reclaim_busy, host_target.  Sizes take
 * K/M/G suffixes, PSI values two decimals ("12.34").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/policy.h"
#include "sim_scenario.h"

#define MIB (1ull << 20)

struct printer {
	bool all;
	enum policy_action last_action;
	enum policy_reason last_reason;
	bool started;
};

static long long mib_signed(int64_t v)
{
	return v < 0 ? -(long long)(((uint64_t)(-(v + 1)) + 1) >> 20) : (long long)(v >> 20);
}

static void print_decision(struct printer *pr, const struct policy_decision *d)
{
	uint64_t ms = d->now_usec / 1000;

	if (!pr->all && pr->started && d->action == POLICY_HOLD &&
	    pr->last_action == POLICY_HOLD && pr->last_reason == d->reason)
		return;
	pr->started = true;
	pr->last_action = d->action;
	pr->last_reason = d->reason;
	printf("%5llu.%01llu %-12s %-19s %5llu -> %5llu MiB  avail %5llu  head %4llu  vel %+5lld MiB/s"
	       "  psi %u.%02u/%u.%02u  esc %u  pp %u",
	       (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000 / 100),
	       policy_action_name(d->action), policy_reason_name(d->reason),
	       (unsigned long long)(d->current_bytes >> 20), (unsigned long long)(d->target_bytes >> 20),
	       (unsigned long long)(d->available_bytes >> 20),
	       (unsigned long long)(d->headroom_target_bytes >> 20),
	       mib_signed(d->velocity_bytes_per_sec),
	       d->psi_some_avg10 / 100, d->psi_some_avg10 % 100,
	       d->psi_full_avg10 / 100, d->psi_full_avg10 % 100, d->escalation, d->pingpong_level);
	if (d->action == POLICY_RECLAIM)
		printf("  trim %llu MiB", (unsigned long long)(d->reclaim_bytes >> 20));
	putchar('\n');
}

static void print_summary(const struct sim_world *w)
{
	const struct sim_stats *s = &w->stats;

	printf("# summary: grows %u shrinks %u trims %u trim_stops %u failures %u trigger_steps %u"
	       " oom_kills %u min_avail %llu MiB max_current %llu MiB final %llu MiB stall %llu.%02llu s"
	       " max_pingpong %u\n",
	       s->grows, s->shrinks, s->trims, s->trim_stops, s->failures, s->trigger_steps,
	       s->oom_kills, (unsigned long long)(s->min_avail_bytes >> 20),
	       (unsigned long long)(s->max_current_bytes >> 20),
	       (unsigned long long)(w->current >> 20),
	       (unsigned long long)(s->stall_usec / 1000000),
	       (unsigned long long)(s->stall_usec % 1000000 / 10000), s->max_pingpong);
}

static void run_scenario(const struct sim_scenario *sc, const struct policy_config *cfg,
			 struct printer *pr)
{
	struct sim_params p;
	struct sim_world w;

	sim_params_defaults(&p);
	sc->setup(&p);
	sim_world_init(&w, &p, cfg);
	printf("# scenario %s: %s\n", sc->name, sc->what);
	while (w.now_usec < sc->duration_usec) {
		sim_scenario_step(sc, &w);
		print_decision(pr, &w.d);
	}
	print_summary(&w);
}

enum column {
	COL_T_MS, COL_MEM_TOTAL, COL_AVAIL, COL_FREE, COL_CACHE, COL_SOME10, COL_SOME60,
	COL_FULL10, COL_FULL_TOTAL, COL_TRIGGER, COL_OOM_KILL, COL_ALLOCSTALL, COL_REFAULT,
	COL_CURRENT, COL_MIN, COL_MAX, COL_BLOCK, COL_RELEASABLE, COL_BUSY, COL_RECLAIM_BUSY,
	COL_HOST_TARGET, COL_DEMAND, COL__MAX,
};

static const char *const column_names[COL__MAX] = {
	"t_ms", "mem_total", "avail", "free", "cache", "psi_some10", "psi_some60",
	"psi_full10", "psi_full_total_us", "trigger", "oom_kill", "allocstall", "refault_file",
	"current", "min", "max", "block", "releasable", "busy", "reclaim_busy",
	"host_target", "demand",
};

struct trace {
	const char *path;
	unsigned line;
	int map[COL__MAX]; /* column index of each field, -1: absent */
	unsigned ncols;
	uint64_t v[COL__MAX];
};

static int trace_header(struct trace *tr, char *line)
{
	char *save = NULL, *tok;
	unsigned i = 0;

	for (int c = 0; c < COL__MAX; c++)
		tr->map[c] = -1;
	for (tok = strtok_r(line, ",\n\r", &save); tok; tok = strtok_r(NULL, ",\n\r", &save), i++) {
		int c;

		for (c = 0; c < COL__MAX && strcmp(tok, column_names[c]) != 0; c++)
			;
		if (c == COL__MAX) {
			fprintf(stderr, "%s:%u: unknown column \"%s\"\n", tr->path, tr->line, tok);
			return -EINVAL;
		}
		tr->map[c] = (int)i;
	}
	tr->ncols = i;
	if (tr->map[COL_T_MS] < 0 || (tr->map[COL_MEM_TOTAL] < 0 && tr->map[COL_DEMAND] < 0)) {
		fprintf(stderr, "%s:%u: need t_ms and mem_total (or demand)\n", tr->path, tr->line);
		return -EINVAL;
	}
	return 0;
}

static int trace_row(struct trace *tr, char *line)
{
	char *fields[COL__MAX + 1], *save = NULL, *tok;
	unsigned n = 0;

	for (tok = strtok_r(line, ",\n\r", &save); tok && n <= COL__MAX; tok = strtok_r(NULL, ",\n\r", &save))
		fields[n++] = tok;
	if (n != tr->ncols) {
		fprintf(stderr, "%s:%u: %u fields, header has %u\n", tr->path, tr->line, n, tr->ncols);
		return -EINVAL;
	}
	for (int c = 0; c < COL__MAX; c++) {
		const char *f;
		int r;

		if (tr->map[c] < 0)
			continue;
		f = fields[tr->map[c]];
		if (c == COL_SOME10 || c == COL_SOME60 || c == COL_FULL10)
			r = parse_centi(f, &tr->v[c]);
		else
			r = parse_size(f, &tr->v[c]);
		if (r < 0) {
			fprintf(stderr, "%s:%u: bad %s \"%s\"\n", tr->path, tr->line, column_names[c], f);
			return r;
		}
	}
	return 0;
}

static uint64_t col(const struct trace *tr, enum column c, uint64_t dflt)
{
	return tr->map[c] >= 0 ? tr->v[c] : dflt;
}

static void trace_input(const struct trace *tr, struct policy_input *in)
{
	memset(in, 0, sizeof(*in));
	in->now_usec = tr->v[COL_T_MS] * 1000;
	in->mem_total_bytes = tr->v[COL_MEM_TOTAL];
	in->mem_available_bytes = col(tr, COL_AVAIL, 0);
	in->mem_free_bytes = col(tr, COL_FREE, in->mem_available_bytes);
	in->file_cache_bytes = col(tr, COL_CACHE, 0);
	in->psi_available = tr->map[COL_SOME10] >= 0;
	in->psi_some_avg10 = (uint32_t)col(tr, COL_SOME10, 0);
	in->psi_some_avg60 = (uint32_t)col(tr, COL_SOME60, 0);
	in->psi_full_avg10 = (uint32_t)col(tr, COL_FULL10, 0);
	in->psi_full_total_usec = col(tr, COL_FULL_TOTAL, 0);
	in->trigger_events = (uint32_t)col(tr, COL_TRIGGER, 0);
	in->oom_kill = col(tr, COL_OOM_KILL, 0);
	in->allocstall = col(tr, COL_ALLOCSTALL, 0);
	in->refault_file = col(tr, COL_REFAULT, 0);
	in->current_bytes = col(tr, COL_CURRENT, in->mem_total_bytes);
	in->min_bytes = col(tr, COL_MIN, 0);
	in->max_bytes = col(tr, COL_MAX, UINT64_MAX);
	in->block_bytes = col(tr, COL_BLOCK, 128 * MIB);
	in->releasable_bytes = col(tr, COL_RELEASABLE, UINT64_MAX);
	in->backend_busy = col(tr, COL_BUSY, 0) != 0;
	in->reclaim_busy = col(tr, COL_RECLAIM_BUSY, 0) != 0;
	in->host_reclaim_target_bytes = col(tr, COL_HOST_TARGET, 0);
}

static int run_trace(const char *path, const struct policy_config *cfg, struct printer *pr)
{
	struct trace tr = { .path = path };
	struct policy_state st;
	struct policy_decision d;
	struct policy_input in;
	struct sim_params p;
	struct sim_world w;
	bool closed = false, header = false;
	uint64_t demand = 0;
	char line[4096];
	int r = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	policy_init(&st);
	sim_params_defaults(&p);
	sim_world_init(&w, &p, cfg);
	while (fgets(line, sizeof(line), f)) {
		tr.line++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!header) {
			r = trace_header(&tr, line);
			if (r < 0)
				goto out;
			header = true;
			closed = tr.map[COL_DEMAND] >= 0;
			if (closed)
				printf("# trace %s: closed loop\n", path);
			continue;
		}
		r = trace_row(&tr, line);
		if (r < 0)
			goto out;
		if (closed) {
			/* The previous demand holds until this row's time. */
			while (w.now_usec < tr.v[COL_T_MS] * 1000) {
				sim_world_step(&w, demand, 0);
				print_decision(pr, &w.d);
			}
			demand = tr.v[COL_DEMAND];
			continue;
		}
		trace_input(&tr, &in);
		policy_evaluate(&st, cfg, &in, &d);
		print_decision(pr, &d);
	}
	if (closed) {
		sim_world_step(&w, demand, 0);
		print_decision(pr, &w.d);
		print_summary(&w);
	}
out:
	fclose(f);
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: vmrd-sim [-a] [-p] SCENARIO | -t TRACE.csv | -l\n");
}

int main(int argc, char **argv)
{
	struct printer pr = { .all = false };
	struct policy_config cfg;
	const struct sim_scenario *sc;
	const char *trace = NULL, *msg;
	int opt;

	policy_config_defaults(&cfg);
	while ((opt = getopt(argc, argv, "aplt:h")) != -1) {
		switch (opt) {
		case 'a':
			pr.all = true;
			break;
		case 'p':
			cfg.mode = POLICY_MODE_PSI_ONLY;
			break;
		case 'l':
			for (unsigned i = 0; (sc = sim_scenario_at(i)); i++)
				printf("%-10s %s\n", sc->name, sc->what);
			return 0;
		case 't':
			trace = optarg;
			break;
		default:
			usage();
			return 64;
		}
	}
	if (policy_config_validate(&cfg, &msg) < 0) {
		fprintf(stderr, "vmrd-sim: %s\n", msg);
		return 78;
	}
	if (trace)
		return run_trace(trace, &cfg, &pr) < 0 ? 65 : 0;
	if (optind != argc - 1) {
		usage();
		return 64;
	}
	sc = sim_scenario_find(argv[optind]);
	if (!sc) {
		fprintf(stderr, "vmrd-sim: unknown scenario \"%s\" (try -l)\n", argv[optind]);
		return 64;
	}
	run_scenario(sc, &cfg, &pr);
	return 0;
}
