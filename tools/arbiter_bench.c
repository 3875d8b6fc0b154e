/* SPDX-License-Identifier: MIT */
/*
 * arbiter-bench: how long one arbiter round takes for N VMs (make
 * bench-scale).  The VMs live under a budget that makes them contend (the
 * sum of the minimums plus 40 % of what lies above them), and every round
 * brings mixed news: about a tenth of the VMs ask (grow 60 %, shrink 40 %,
 * urgencies low to critical), a fifth report (available memory and PSI, a
 * few under pressure), the hypervisor confirms every target and the guests
 * move half way to it.  Only arbiter_evaluate() is timed.
 *
 *   arbiter-bench [-r ROUNDS] [-s SEED] N...
 *
 * prints one JSON object per N: rounds, median_us, p99_us, max_us, mean_us
 * (wall time), cpu_median_us and cpu_p99_us (the thread's CPU time, which a
 * busy shared machine inflates less) and what the rounds decided;
 * {"n": N, "error": "..."} when the arbiter refuses the table.  Nothing
 * here asserts on time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arbiter.h"
#include "core/parse.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)
#define WARMUP 20

struct bench {
	size_t n;
	uint64_t rng;
	struct arbiter_config cfg;
	struct arbiter_host host;
	struct arbiter_vm *vms;
	struct arbiter_decision *dec;
	void *scratch;
	uint64_t *seq;
	uint64_t grants, denies, reclaims, applies;
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t pick(struct bench *b, uint64_t n)
{
	return rng_next(&b->rng) % n;
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static int bench_init(struct bench *b, size_t n, uint64_t seed)
{
	uint64_t sum_min = 0, sum_span = 0;

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->rng = seed;
	b->vms = calloc(n, sizeof(*b->vms));
	b->dec = calloc(n, sizeof(*b->dec));
	b->seq = calloc(n, sizeof(*b->seq));
	b->scratch = malloc(ARBITER_SCRATCH_BYTES(n));
	if (!b->vms || !b->dec || !b->seq || !b->scratch)
		return -ENOMEM;
	arbiter_config_defaults(&b->cfg);
	for (size_t i = 0; i < n; i++) {
		struct arbiter_vm *v = &b->vms[i];

		v->min_bytes = (1 + pick(b, 2)) * GIB;
		v->max_bytes = v->min_bytes + (1 + pick(b, 8)) * GIB;
		v->weight = (uint32_t)(50 + pick(b, 4) * 50);
		v->current_bytes = v->applied_bytes = v->min_bytes + pick(b, 4) * 256 * MIB;
		v->overhead_bytes = 64 * MIB;
		v->connected = true;
		sum_min += v->min_bytes + v->overhead_bytes;
		sum_span += v->max_bytes - v->min_bytes;
	}
	b->host = (struct arbiter_host){ .now_usec = 1000 * SEC, .budget_bytes = sum_min + sum_span / 10 * 4,
					 .mem_available_bytes = 64 * GIB, .reserve_bytes = GIB };
	return 0;
}

static void bench_free(struct bench *b)
{
	free(b->vms);
	free(b->dec);
	free(b->seq);
	free(b->scratch);
}

/* This round's news for one VM. */
static void news(struct bench *b, size_t i)
{
	static const enum urgency urgencies[20] = {
		URGENCY_LOW, URGENCY_LOW, URGENCY_LOW, URGENCY_LOW, URGENCY_NORMAL, URGENCY_NORMAL,
		URGENCY_NORMAL, URGENCY_NORMAL, URGENCY_NORMAL, URGENCY_NORMAL, URGENCY_NORMAL,
		URGENCY_NORMAL, URGENCY_NORMAL, URGENCY_NORMAL, URGENCY_NORMAL, URGENCY_NORMAL,
		URGENCY_HIGH, URGENCY_HIGH, URGENCY_HIGH, URGENCY_CRITICAL,
	};
	struct arbiter_vm *v = &b->vms[i];
	uint64_t now = b->host.now_usec, r = pick(b, 100), step = (1 + pick(b, 8)) * 128 * MIB;

	if (r < 6) {
		v->request = (struct arbiter_request){ .valid = true, .seq = ++b->seq[i],
						       .target_bytes = v->current_bytes + step,
						       .urgency = urgencies[pick(b, 20)], .usec = now };
	} else if (r < 10) {
		v->request = (struct arbiter_request){ .valid = true, .seq = ++b->seq[i],
						       .target_bytes = v->current_bytes > step ?
									       v->current_bytes - step : 0,
						       .urgency = URGENCY_LOW, .usec = now };
	} else if (r < 30) {
		uint64_t avail = pick(b, v->current_bytes / MIB) * MIB;

		v->report = (struct arbiter_report){ .valid = true, .usec = now,
						     .mem_total_bytes = v->current_bytes,
						     .mem_available_bytes = avail,
						     .psi_some_avg10_centi = (uint32_t)(pick(b, 10) == 0 ?
							     500 + pick(b, 2000) : pick(b, 300)) };
	}
}

/* After a round: QEMU confirms every target, the guest moves half way to it. */
static void settle(struct bench *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct arbiter_vm *v = &b->vms[i];
		const struct arbiter_decision *d = &b->dec[i];
		uint64_t t = v->state.target_bytes;

		b->grants += d->action == ARBITER_GRANT;
		b->denies += d->action == ARBITER_DENY;
		b->reclaims += d->action == ARBITER_RECLAIM;
		b->applies += d->apply;
		v->applied_bytes = t;
		v->current_bytes = v->current_bytes < t ? v->current_bytes + (t - v->current_bytes + 1) / 2
							: v->current_bytes - (v->current_bytes - t + 1) / 2;
	}
	b->host.now_usec += SEC;
}

static int cmp_u64(const void *a, const void *c)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)c;

	return x < y ? -1 : x > y;
}

static int run(size_t n, unsigned rounds, uint64_t seed)
{
	struct arbiter_summary sum;
	struct bench b;
	uint64_t *ns = calloc(rounds, sizeof(*ns)), *cpu = calloc(rounds, sizeof(*cpu)), total = 0;
	int r = bench_init(&b, n, seed);

	if (r < 0 || !ns || !cpu) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned k = 0; k < WARMUP + rounds; k++) {
		uint64_t t0, c0;

		for (size_t i = 0; i < n; i++)
			news(&b, i);
		c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		t0 = now_ns(CLOCK_MONOTONIC);
		r = arbiter_evaluate(&b.cfg, &b.host, b.vms, n, b.scratch, ARBITER_SCRATCH_BYTES(n),
				     b.dec, &sum);
		if (k >= WARMUP) {
			ns[k - WARMUP] = now_ns(CLOCK_MONOTONIC) - t0;
			cpu[k - WARMUP] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		}
		if (r < 0) {
			printf("{\"n\": %zu, \"error\": \"arbiter_evaluate: %s\"}\n", n, strerror(-r));
			r = 0;
			goto out;
		}
		settle(&b);
	}
	for (unsigned k = 0; k < rounds; k++)
		total += ns[k];
	qsort(ns, rounds, sizeof(*ns), cmp_u64);
	qsort(cpu, rounds, sizeof(*cpu), cmp_u64);
	printf("{\"n\": %zu, \"rounds\": %u, \"median_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f,"
	       " \"mean_us\": %.1f, \"cpu_median_us\": %.1f, \"cpu_p99_us\": %.1f,"
	       " \"grants\": %llu, \"denies\": %llu, \"reclaims\": %llu, \"applies\": %llu}\n",
	       n, rounds, ns[rounds / 2] / 1e3, ns[(rounds * 99 + 99) / 100 - 1] / 1e3,
	       ns[rounds - 1] / 1e3, (double)total / rounds / 1e3, cpu[rounds / 2] / 1e3,
	       cpu[(rounds * 99 + 99) / 100 - 1] / 1e3, (unsigned long long)b.grants,
	       (unsigned long long)b.denies, (unsigned long long)b.reclaims,
	       (unsigned long long)b.applies);
out:
	fflush(stdout);
	free(ns);
	free(cpu);
	bench_free(&b);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t rounds = 0, seed = 1, n;
	int opt;

	while ((opt = getopt(argc, argv, "r:s:")) != -1) {
		if ((opt == 'r' && (parse_u64(optarg, &rounds) < 0 || rounds == 0 || rounds > 1000000)) ||
		    (opt == 's' && parse_u64(optarg, &seed) < 0) || (opt != 'r' && opt != 's')) {
			fprintf(stderr, "usage: arbiter-bench [-r ROUNDS] [-s SEED] N...\n");
			return 64;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: arbiter-bench [-r ROUNDS] [-s SEED] N...\n");
		return 64;
	}
	for (int i = optind; i < argc; i++) {
		if (parse_u64(argv[i], &n) < 0 || n == 0 || n > 1000000) {
			fprintf(stderr, "arbiter-bench: bad N \"%s\"\n", argv[i]);
			return 64;
		}
		/* Fewer rounds for big fleets, so that every size takes about as long. */
		if (run((size_t)n, rounds ? (unsigned)rounds : n >= 10000 ? 200 : n >= 1000 ? 1000 : 5000,
			seed) < 0) {
			fprintf(stderr, "arbiter-bench: out of memory\n");
			return 70;
		}
	}
	return 0;
}
