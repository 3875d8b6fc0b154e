/* SPDX-License-Identifier: MIT */
/*
 * The arbiter with thousands of VMs (issue 12): no fixed limit, the same
 * invariants as with eight.  Speed is the benchmark's business (make
 * bench-scale); nothing here is timed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arbiter.h"

#define G (UINT64_C(1) << 30)
#define M (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)
#define N 2000

struct fleet {
	struct arbiter_config cfg;
	struct arbiter_host host;
	struct arbiter_vm *vm;
	struct arbiter_decision *d;
	void *scratch;
	uint64_t *seq;
	unsigned *answers;     /* answers to each VM's current request */
	struct arbiter_summary sum;
	size_t n;
};

static void fleet_init(struct fleet *f, size_t n, uint64_t budget)
{
	memset(f, 0, sizeof(*f));
	arbiter_config_defaults(&f->cfg);
	f->n = n;
	f->vm = calloc(n, sizeof(*f->vm));
	f->d = calloc(n, sizeof(*f->d));
	f->scratch = malloc(ARBITER_SCRATCH_BYTES(n));
	f->seq = calloc(n, sizeof(*f->seq));
	f->answers = calloc(n, sizeof(*f->answers));
	assert_non_null(f->vm);
	assert_non_null(f->d);
	assert_non_null(f->scratch);
	assert_non_null(f->seq);
	assert_non_null(f->answers);
	f->host = (struct arbiter_host){ .now_usec = 1000 * SEC, .budget_bytes = budget,
					 .mem_available_bytes = 64 * G * 1024, .reserve_bytes = G };
	for (size_t i = 0; i < n; i++)
		f->vm[i] = (struct arbiter_vm){ .min_bytes = G, .max_bytes = 4 * G,
						.weight = i % 2 ? 200 : 100, .current_bytes = G,
						.applied_bytes = G, .connected = true };
}

static void fleet_free(struct fleet *f)
{
	free(f->vm);
	free(f->d);
	free(f->scratch);
	free(f->seq);
	free(f->answers);
}

static void ask(struct fleet *f, size_t i, uint64_t target)
{
	f->vm[i].request = (struct arbiter_request){ .valid = true, .seq = ++f->seq[i],
						     .target_bytes = target,
						     .urgency = URGENCY_NORMAL,
						     .usec = f->host.now_usec };
	f->answers[i] = 0;
}

/*
 * One round with the invariants of tests/core/arbiter_world.h: targets in
 * [min, max], their sum within the size budget, each request answered at
 * most once and by its own seq.  Then QEMU confirms and the guests follow.
 */
static void eval(struct fleet *f)
{
	uint64_t sum_target = 0;

	assert_int_equal(arbiter_evaluate(&f->cfg, &f->host, f->vm, f->n, f->scratch,
					  ARBITER_SCRATCH_BYTES(f->n), f->d, &f->sum), 0);
	for (size_t i = 0; i < f->n; i++) {
		const struct arbiter_decision *d = &f->d[i];
		uint64_t t = f->vm[i].state.target_bytes;

		assert_true(t >= f->vm[i].min_bytes && t <= f->vm[i].max_bytes);
		sum_target += t;
		if (d->action == ARBITER_GRANT || d->action == ARBITER_DENY) {
			assert_true(d->seq == f->seq[i]);
			if (++f->answers[i] > 1)
				fail_msg("vm%zu: request %llu answered twice", i,
					 (unsigned long long)d->seq);
		}
		f->vm[i].applied_bytes = t;
		f->vm[i].current_bytes = t;
	}
	assert_true(f->sum.sum_target_bytes == sum_target);
	assert_true(sum_target <= f->sum.size_budget_bytes);
	f->host.now_usec += SEC;
}

/* Every VM asks for its max at once: the budget is shared by weight, to every VM. */
static void test_two_thousand_vms_share_the_budget_by_weight(void **state)
{
	struct fleet f;
	uint64_t light = 0, heavy = 0;

	(void)state;
	/* The mins plus 1 GiB per VM on average (and each VM's hypervisor part). */
	fleet_init(&f, N, N * (2 * G + 64 * M) + G);
	eval(&f);
	for (size_t i = 0; i < N; i++)
		ask(&f, i, 4 * G);
	eval(&f);
	for (int r = 0; r < 5; r++)
		eval(&f);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(f.answers[i], 1);
		*(i % 2 ? &heavy : &light) += f.vm[i].state.target_bytes - G;
	}
	/*
	 * The last VMs got their shares like the first (to within the block
	 * that rounding hands back, heaviest and lowest index first): nothing
	 * is cut off at an index.
	 */
	assert_true(f.vm[N - 1].state.target_bytes > G);
	assert_true(f.vm[N - 1].state.target_bytes + f.cfg.align_bytes >= f.vm[1].state.target_bytes);
	assert_true(f.vm[N - 2].state.target_bytes + f.cfg.align_bytes >= f.vm[0].state.target_bytes);
	/* Weights 2:1 above min, to within a block per VM. */
	assert_true(heavy > light);
	assert_true(heavy / (N / 2) >= 2 * (light / (N / 2)) - f.cfg.align_bytes * 2);
	assert_true(heavy / (N / 2) <= 2 * (light / (N / 2)) + f.cfg.align_bytes * 2);
	fleet_free(&f);
}

/* Mixed news for many rounds (asks up and down, reports): the invariants hold throughout. */
static void test_two_thousand_vms_mixed_rounds_keep_the_invariants(void **state)
{
	struct fleet f;
	uint64_t rng = 12, grants = 0, denies = 0;

	(void)state;
	fleet_init(&f, N, N * (G + 64 * M) + N * G / 2);
	eval(&f);
	for (int r = 0; r < 40; r++) {
		for (size_t i = 0; i < N; i++) {
			uint64_t x = (rng = rng * 6364136223846793005ULL + 1442695040888963407ULL) >> 33;
			uint64_t cur = f.vm[i].current_bytes;

			if (x % 10 == 0)
				ask(&f, i, cur + (1 + x % 7) * 256 * M);
			else if (x % 10 == 1)
				ask(&f, i, cur > G + 256 * M ? cur - 256 * M : G);
			else if (x % 10 == 2)
				f.vm[i].report = (struct arbiter_report){
					.valid = true, .usec = f.host.now_usec,
					.mem_total_bytes = cur, .mem_available_bytes = cur / (1 + x % 4),
					.psi_some_avg10_centi = (uint32_t)(x % 3 ? 0 : 2000) };
		}
		eval(&f);
		for (size_t i = 0; i < N; i++) {
			grants += f.d[i].action == ARBITER_GRANT;
			denies += f.d[i].action == ARBITER_DENY;
		}
	}
	/* Contention both ways: some asks granted, some denied. */
	assert_true(grants > 0);
	assert_true(denies > 0);
	fleet_free(&f);
}

static void report(struct fleet *f, size_t i, uint64_t available, uint32_t psi)
{
	f->vm[i].report = (struct arbiter_report){ .valid = true, .usec = f->host.now_usec,
						   .mem_total_bytes = f->vm[i].current_bytes,
						   .mem_available_bytes = available,
						   .psi_some_avg10_centi = psi };
}

/*
 * Host pressure with no amount (PSI only) cuts one VM per round, the first in
 * the order: unpressured before pressured, lighter, more surplus, lower
 * index.  The right one sits at a high index among 2,000 candidates.
 */
static void test_two_thousand_vms_host_cut_goes_to_the_first_in_order(void **state)
{
	struct fleet f;
	uint64_t before[N];

	(void)state;
	fleet_init(&f, N, N * (4 * G + 64 * M) + G);
	eval(&f);
	for (size_t i = 0; i < N; i++)
		ask(&f, i, 2 * G);
	eval(&f);
	for (size_t i = 0; i < N; i++)
		report(&f, i, 700 * M, 0);
	f.vm[977].weight = f.vm[1500].weight = f.vm[1733].weight = f.vm[1801].weight = 50;
	report(&f, 977, 900 * M, 0);       /* lighter, but less surplus than 1733 */
	report(&f, 1500, 1536 * M, 2000);  /* lighter and most surplus, but under pressure */
	report(&f, 1733, 1536 * M, 0);     /* the first */
	report(&f, 1801, 1536 * M, 0);     /* ties with 1733, higher index */
	f.host.psi_some_avg10_centi = f.cfg.host_psi_centi;
	eval(&f);
	for (size_t i = 0; i < N; i++)
		before[i] = f.vm[i].state.target_bytes;
	f.host.now_usec += f.cfg.host_pressure_grace_usec;
	eval(&f);
	assert_true(f.sum.host_pressure);
	for (size_t i = 0; i < N; i++)
		if (i == 1733)
			assert_true(f.vm[i].state.target_bytes < before[i]);
		else if (f.vm[i].state.target_bytes != before[i])
			fail_msg("vm%zu cut from %llu to %llu MiB; only vm1733 should be", i,
				 (unsigned long long)(before[i] >> 20),
				 (unsigned long long)(f.vm[i].state.target_bytes >> 20));
	fleet_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_thousand_vms_share_the_budget_by_weight),
		cmocka_unit_test(test_two_thousand_vms_mixed_rounds_keep_the_invariants),
		cmocka_unit_test(test_two_thousand_vms_host_cut_goes_to_the_first_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
