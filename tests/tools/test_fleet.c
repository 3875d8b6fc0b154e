/* SPDX-License-Identifier: MIT */
/*
 * vmrd-fleet's closed loop (tools/fleet.c): the real policy in every guest,
 * the real arbiter on the host.  Every step of every run here is checked
 * for what must always hold (check()): targets within the limits and, when
 * the minimums fit, within the budget; each request answered at most once;
 * the hypervisor holding the arbiter's target.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fleet.h"

#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)
#define HOUR (3600 * SEC)

static const enum fleet_kind mix[] = {
	FLEET_KIND_BURSTY, FLEET_KIND_DIURNAL, FLEET_KIND_CACHE, FLEET_KIND_UNMOVABLE,
};

static void kinds_of(enum fleet_kind *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		k[i] = mix[i % 4];
}

static void check(const struct fleet *f)
{
	uint64_t sum_min = 0, sum_target = 0;

	assert_int_equal(f->arbiter_error, 0);
	for (size_t i = 0; i < f->n; i++) {
		const struct fleet_vm *vm = &f->vms[i];
		const struct arbiter_vm *a = &f->arb[i];
		const struct fleet_vm_stats *s = &vm->stats;
		uint64_t t = a->state.target_bytes;

		assert_true(t >= a->min_bytes && t <= a->max_bytes);
		assert_true(vm->requested_bytes == t);
		assert_true(vm->w.current >= a->min_bytes && vm->w.current <= a->max_bytes);
		/* At most one request in flight, and it is the one the host holds. */
		assert_true(s->grants + s->denies <= s->requests);
		assert_true(s->requests - (s->grants + s->denies) <= 1);
		if (vm->link == FLEET_LINK_WAIT)
			assert_true(a->request.valid && a->request.seq == vm->seq);
		assert_true(vm->w.busy == (vm->link != FLEET_LINK_IDLE));
		sum_min += a->min_bytes;
		sum_target += t;
	}
	if (sum_min <= f->sum.size_budget_bytes && sum_target > f->sum.size_budget_bytes)
		fail_msg("targets %llu MiB over the size budget %llu MiB at %llu s",
			 (unsigned long long)(sum_target / M),
			 (unsigned long long)(f->sum.size_budget_bytes / M),
			 (unsigned long long)(f->now_usec / SEC));
}

static void start(struct fleet *f, struct fleet_config *cfg, size_t n, uint64_t host)
{
	enum fleet_kind k[64];

	assert_true(n <= 64);
	kinds_of(k, n);
	cfg->host_bytes = host;
	assert_int_equal(fleet_init(f, cfg, n, k, NULL, NULL), 0);
}

/* Twelve VMs in 16 GiB: they contend, the arbiter says no, and nothing breaks. */
static void test_contention_keeps_the_invariants(void **state)
{
	struct fleet_config cfg;
	struct fleet f;
	uint64_t denies = 0, grants = 0, asks = 0;

	fleet_config_defaults(&cfg);
	start(&f, &cfg, 12, 16 * G);
	while (f.now_usec < 2 * HOUR) {
		fleet_step(&f);
		check(&f);
	}
	for (size_t i = 0; i < f.n; i++) {
		denies += f.vms[i].stats.denies;
		grants += f.vms[i].stats.grants;
		asks += f.vms[i].stats.reclaims;
	}
	assert_true(grants > 0 && denies > 0 && asks > 0);
	assert_true(f.sum.size_budget_bytes == 14 * G - 12 * cfg.overhead_bytes);
	fleet_free(&f);
}

/* Without contention every request is granted and carried out. */
static void test_plenty_grants_everything(void **state)
{
	struct fleet_config cfg;
	struct fleet f;

	fleet_config_defaults(&cfg);
	start(&f, &cfg, 8, 1024 * G);
	while (f.now_usec < HOUR) {
		fleet_step(&f);
		check(&f);
	}
	for (size_t i = 0; i < f.n; i++) {
		const struct fleet_vm_stats *s = &f.vms[i].stats;

		assert_int_equal(s->denied[ARBITER_R_BUDGET], 0);
		assert_int_equal(s->denied[ARBITER_R_HOST_PRESSURE], 0);
		assert_int_equal(s->timeouts, 0);
	}
	assert_int_equal(f.over_budget_usec, 0);
	fleet_free(&f);
}

static uint64_t run_footprints(uint64_t seed, uint64_t *out, size_t steps)
{
	struct fleet_config cfg;
	struct fleet f;
	uint64_t sum = 0;

	fleet_config_defaults(&cfg);
	cfg.seed = seed;
	start(&f, &cfg, 8, 12 * G);
	for (size_t s = 0; s < steps; s++) {
		fleet_step(&f);
		out[s] = f.footprint_bytes;
		sum += out[s];
	}
	fleet_free(&f);
	return sum;
}

static void test_seed_decides_the_run(void **state)
{
	enum { STEPS = 1800 };
	static uint64_t a[STEPS], b[STEPS], c[STEPS];

	run_footprints(7, a, STEPS);
	run_footprints(7, b, STEPS);
	run_footprints(8, c, STEPS);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

/* VM i has the same workload whatever the fleet's size or the VMs before it. */
static void test_workload_depends_on_seed_and_index_only(void **state)
{
	struct fleet_demand a, b, other;
	int differs = 0;

	fleet_demand_init(&a, FLEET_KIND_BURSTY, 3, 17, NULL, 24 * HOUR);
	fleet_demand_init(&b, FLEET_KIND_BURSTY, 3, 17, NULL, 24 * HOUR);
	fleet_demand_init(&other, FLEET_KIND_BURSTY, 3, 18, NULL, 24 * HOUR);
	for (uint64_t t = 0; t < 4 * HOUR; t += SEC) {
		struct fleet_sample x, y, z;

		fleet_demand_next(&a, t, SEC, &x);
		fleet_demand_next(&b, t, SEC, &y);
		fleet_demand_next(&other, t, SEC, &z);
		assert_memory_equal(&x, &y, sizeof(x));
		differs |= x.demand_bytes != z.demand_bytes;
	}
	assert_true(differs);
}

/* The diurnal workload peaks in the afternoon of its day and is lowest at night. */
static void test_diurnal_follows_the_day(void **state)
{
	struct fleet_demand d;
	uint64_t night = 0, afternoon = 0;

	fleet_demand_init(&d, FLEET_KIND_DIURNAL, 1, 5, NULL, 24 * HOUR);
	for (uint64_t t = 0; t < 24 * HOUR; t += 60 * SEC) {
		struct fleet_sample s;

		fleet_demand_next(&d, t, 60 * SEC, &s);
		if (t == 2 * HOUR)
			night = s.demand_bytes;
		if (t == 14 * HOUR)
			afternoon = s.demand_bytes;
		assert_true(s.demand_bytes >= d.base_bytes);
		assert_true(s.demand_bytes <= d.base_bytes + d.amp_bytes + d.amp_bytes / 10);
	}
	assert_true(afternoon > night + d.amp_bytes / 2);
}

static uint64_t nothing_back(void *ctx, const struct fleet_vm *vm, uint64_t given)
{
	(*(uint64_t *)ctx) += given;
	return 0;
}

/*
 * What the host does not get back of a shrink stays in the footprint:
 * through the callback (nothing back) and through back_ppm (half).
 */
static void test_host_back_share_counts_in_the_footprint(void **state)
{
	struct fleet_config cfg;
	struct fleet f;
	uint64_t given = 0;

	fleet_config_defaults(&cfg);
	cfg.host_back = nothing_back;
	cfg.host_back_ctx = &given;
	start(&f, &cfg, 8, 64 * G);
	while (f.now_usec < HOUR) {
		uint64_t sum = 0, stranded = 0;

		fleet_step(&f);
		for (size_t i = 0; i < f.n; i++) {
			sum += f.vms[i].w.current + f.vms[i].stranded_bytes + cfg.overhead_bytes;
			stranded += f.vms[i].stranded_bytes;
		}
		assert_true(f.footprint_bytes == sum);
		assert_true(stranded <= given);
	}
	assert_true(given > 0);
	fleet_free(&f);

	cfg.host_back = NULL;
	start(&f, &cfg, 8, 64 * G);
	for (size_t i = 0; i < f.n; i++)
		f.vms[i].back_ppm = 500000;
	while (f.now_usec < HOUR)
		fleet_step(&f);
	given = 0;
	for (size_t i = 0; i < f.n; i++)
		given += f.vms[i].stranded_bytes;
	assert_true(given > 0);
	fleet_free(&f);
}

static void test_static_sizes_never_move(void **state)
{
	struct fleet_config cfg;
	enum fleet_kind k[8];
	uint64_t sizes[8], sum = 0;
	struct fleet f;

	fleet_config_defaults(&cfg);
	cfg.static_sizing = true;
	kinds_of(k, 8);
	for (size_t i = 0; i < 8; i++) {
		sizes[i] = fleet_static_size(&cfg, k[i], i, NULL, 2 * HOUR);
		assert_int_equal(sizes[i] % cfg.guest.block_bytes, 0);
		assert_true(sizes[i] >= cfg.guest.min_bytes && sizes[i] <= cfg.guest.max_bytes);
		sum += sizes[i] + cfg.overhead_bytes;
	}
	assert_int_equal(fleet_init(&f, &cfg, 8, k, NULL, sizes), 0);
	while (f.now_usec < 2 * HOUR) {
		fleet_step(&f);
		assert_true(f.footprint_bytes == sum);
	}
	for (size_t i = 0; i < 8; i++) {
		assert_true(f.vms[i].w.current == sizes[i]);
		assert_int_equal(f.vms[i].stats.requests, 0);
		/* Sized for its peak need and headroom: it never runs out. */
		assert_int_equal(f.vms[i].w.stats.oom_kills, 0);
	}
	fleet_free(&f);
}

static void test_bad_setups_are_refused(void **state)
{
	enum fleet_kind k[2] = { FLEET_KIND_BURSTY, FLEET_KIND_TRACE };
	struct fleet_config cfg;
	struct fleet f;

	fleet_config_defaults(&cfg);
	assert_int_equal(fleet_init(&f, &cfg, 2, k, NULL, NULL), -EINVAL);
	cfg.static_sizing = true;
	k[1] = FLEET_KIND_CACHE;
	assert_int_equal(fleet_init(&f, &cfg, 2, k, NULL, NULL), -EINVAL);
	cfg.static_sizing = false;
	cfg.step_usec = 0;
	assert_int_equal(fleet_init(&f, &cfg, 2, k, NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contention_keeps_the_invariants),
		cmocka_unit_test(test_plenty_grants_everything),
		cmocka_unit_test(test_seed_decides_the_run),
		cmocka_unit_test(test_workload_depends_on_seed_and_index_only),
		cmocka_unit_test(test_diurnal_follows_the_day),
		cmocka_unit_test(test_host_back_share_counts_in_the_footprint),
		cmocka_unit_test(test_static_sizes_never_move),
		cmocka_unit_test(test_bad_setups_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
