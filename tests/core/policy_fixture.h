/* SPDX-License-Identifier: MIT */
#ifndef VMRD_TEST_POLICY_FIXTURE_H
#define VMRD_TEST_POLICY_FIXTURE_H

/*
 * The fixture of the single-decision policy tests (test_policy.c,
 * test_policy_shrink.c): a hand-made guest, one evaluation at a time, and
 * the invariants every decision must keep.  Include after cmocka.h.
 */

#include <string.h>

#include "core/policy.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000ull
#define BLOCK (128 * MIB)

/*
 * A 4 GiB guest with 2 GiB available, calm, the backend idle: 1 GiB of
 * boot memory in the kernel zones (600 MiB free), 3 GiB in ZONE_MOVABLE
 * (1 GiB free), memory blocks of 128 MiB.
 */
static inline struct policy_input base_input(uint64_t now)
{
	struct policy_input in;

	memset(&in, 0, sizeof(in));
	in.now_usec = now;
	in.mem_total_bytes = 4 * GIB;
	in.mem_available_bytes = 2 * GIB;
	in.mem_free_bytes = 1 * GIB;
	in.file_cache_bytes = 1 * GIB;
	in.active_file_bytes = 512 * MIB;
	in.slab_reclaimable_bytes = 50 * MIB;
	in.unmovable_bytes = 100 * MIB;
	in.zones_available = true;
	in.kernel_free_bytes = 600 * MIB;
	in.kernel_high_bytes = 10 * MIB;
	in.kernel_low_bytes = 8 * MIB;
	in.kernel_managed_bytes = 1 * GIB;
	in.kernel_file_bytes = 200 * MIB;
	in.movable_free_bytes = 1 * GIB;
	in.movable_high_bytes = 30 * MIB;
	in.movable_managed_bytes = 3 * GIB;
	in.movable_present_bytes = 3 * GIB;
	in.kernel_growth = POLICY_KGROW_YES;
	in.memory_block_bytes = BLOCK;
	in.psi_available = true;
	in.current_bytes = 4 * GIB;
	in.min_bytes = 1 * GIB;
	in.max_bytes = 16 * GIB;
	in.block_bytes = BLOCK;
	in.releasable_bytes = UINT64_MAX;
	return in;
}

struct fixture {
	struct policy_config cfg;
	struct policy_state st;
	struct policy_decision d;
};

static inline void fx_init(struct fixture *fx)
{
	policy_config_defaults(&fx->cfg);
	policy_init(&fx->st);
}

static inline uint64_t delta_bytes(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static inline void eval(struct fixture *fx, const struct policy_input *in)
{
	policy_evaluate(&fx->st, &fx->cfg, in, &fx->d);
	/* Invariants of every decision. */
	assert_true(fx->d.now_usec == in->now_usec);
	assert_true(fx->d.current_bytes == in->current_bytes);
	if (fx->d.action == POLICY_GROW || fx->d.action == POLICY_SHRINK) {
		assert_int_equal(delta_bytes(fx->d.target_bytes, in->current_bytes) % in->block_bytes, 0);
		assert_true(fx->d.target_bytes >= in->min_bytes);
		assert_true(fx->d.target_bytes <= in->max_bytes);
		assert_true(fx->d.target_bytes != in->current_bytes);
		assert_false(in->backend_busy);
	} else {
		assert_true(fx->d.target_bytes == in->current_bytes);
	}
	if (fx->d.action == POLICY_GROW) {
		assert_true(fx->d.target_bytes > in->current_bytes);
		/* Kernel-zone memory is placed in whole memory blocks and kept within its bound. */
		if (fx->d.zone == POLICY_ZONE_KERNEL)
			assert_true(in->kernel_managed_bytes + in->memory_block_bytes <=
				    fx->d.kernel_max_bytes);
	}
	if (fx->d.action == POLICY_SHRINK) {
		assert_true(fx->d.target_bytes < in->current_bytes);
		if (in->releasable_bytes != UINT64_MAX)
			assert_true(in->current_bytes - fx->d.target_bytes <= in->releasable_bytes);
	}
	if (fx->d.action == POLICY_RECLAIM)
		assert_true(fx->d.reclaim_bytes > 0 && fx->d.reclaim_bytes <= in->file_cache_bytes);
}

static inline void assert_decision(const struct fixture *fx, enum policy_action a,
				   enum policy_reason r)
{
	if (fx->d.action != a || fx->d.reason != r)
		fail_msg("decision %s/%s, expected %s/%s", policy_action_name(fx->d.action),
			 policy_reason_name(fx->d.reason), policy_action_name(a), policy_reason_name(r));
}

/* Evaluations every second from `from` to `end` with a fixed input. */
static inline void run_calm(struct fixture *fx, struct policy_input *in, uint64_t from, uint64_t end)
{
	for (uint64_t t = from; t <= end; t += SEC) {
		in->now_usec = t;
		eval(fx, in);
	}
}

#endif
