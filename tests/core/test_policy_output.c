/* SPDX-License-Identifier: MIT */
/* Configuration checks, names, sentences and JSON of policy decisions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/policy.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000ull

static void test_defaults_are_valid_and_documented_values(void **state)
{
	struct policy_config cfg;
	const char *msg = NULL;

	policy_config_defaults(&cfg);
	assert_int_equal(policy_config_validate(&cfg, &msg), 0);
	assert_null(msg);
	assert_true(cfg.min_headroom_bytes == 128 * MIB);
	assert_int_equal(cfg.headroom_ratio_centi, 1000);
	assert_true(cfg.reserve_bytes == 64 * MIB);
	assert_true(cfg.grow_step_max_bytes == 1 * GIB);
	assert_int_equal(cfg.memmap_overhead_centi, 160);
	assert_true(cfg.calm_hold_usec == 5 * SEC);
	assert_true(cfg.zones);
	assert_true(cfg.kernel_min_headroom_bytes == 64 * MIB);
	assert_int_equal(cfg.kernel_max_ratio_centi, 5000);
	assert_true(cfg.cache_refault_rate_bytes == 2 * MIB);
	assert_true(cfg.shrink_step_max_bytes == 512 * MIB);
	assert_true(cfg.backoff_max_usec == 60 * SEC);
	assert_true(cfg.psionly_step_bytes == 4 * MIB);
}

static void break_step_order(struct policy_config *c) { c->grow_step_min_bytes = 2 * GIB; }
static void break_fraction(struct policy_config *c) { c->shrink_fraction_centi = 10001; }
static void break_zero_fraction(struct policy_config *c) { c->shrink_fraction_centi = 0; }
static void break_reserve(struct policy_config *c) { c->reserve_bytes = 256 * MIB; }
static void break_velocity_window(struct policy_config *c) { c->velocity_window_usec = 0; }
static void break_long_window(struct policy_config *c) { c->velocity_window_usec = 3600 * SEC; }
static void break_calm_hold(struct policy_config *c) { c->calm_hold_usec = 0; }
static void break_pingpong_window(struct policy_config *c) { c->pingpong_window_usec = 0; }
static void break_emergency(struct policy_config *c) { c->emergency_step_bytes = 4 * GIB; }
static void break_backoff(struct policy_config *c) { c->backoff_min_usec = 120 * SEC; }
static void break_ratio(struct policy_config *c) { c->headroom_ratio_centi = 20000; }
static void break_shift(struct policy_config *c) { c->escalate_max_shift = 40; }
static void break_reclaim_step(struct policy_config *c) { c->reclaim_step_bytes = 0; }
static void break_mode(struct policy_config *c) { c->mode = (enum policy_mode)7; }
static void break_memmap(struct policy_config *c) { c->memmap_overhead_centi = 6000; }
static void break_max_blocks(struct policy_config *c) { c->shrink_max_blocks = 0; }
static void break_kernel_max(struct policy_config *c) { c->kernel_max_ratio_centi = 0; }
static void break_kernel_headroom(struct policy_config *c) { c->kernel_min_headroom_bytes = 0; c->kernel_headroom_ratio_centi = 0; }
static void break_refault_rate(struct policy_config *c) { c->cache_refault_rate_bytes = 0; }
static void break_calm_stall(struct policy_config *c) { c->calm_stall_centi = 0; }
static void break_trim_interval(struct policy_config *c) { c->trim_interval_usec = 600 * SEC; }
static void ok_kernel_headroom_off(struct policy_config *c) { c->zones = false; c->kernel_min_headroom_bytes = 0; c->kernel_headroom_ratio_centi = 0; }
static void ok_reserve_equal(struct policy_config *c) { c->reserve_bytes = c->min_headroom_bytes; }
static void ok_reclaim_off(struct policy_config *c) { c->reclaim_enabled = false; c->reclaim_step_bytes = 0; }

static void test_validate_rejects_inconsistent_configs(void **state)
{
	static const struct {
		void (*edit)(struct policy_config *c);
		const char *word; /* in the message; NULL: valid */
	} cases[] = {
		{ break_step_order, "grow_step_min exceeds" },
		{ break_fraction, "fraction" },
		{ break_zero_fraction, "fraction" },
		{ break_reserve, "reserve" },
		{ break_velocity_window, "velocity window is zero" },
		{ break_long_window, "velocity window exceeds" },
		{ break_calm_hold, "calm_hold" },
		{ break_pingpong_window, "pingpong" },
		{ break_emergency, "emergency_step" },
		{ break_backoff, "backoff" },
		{ break_ratio, "headroom ratio" },
		{ break_shift, "escalate" },
		{ break_reclaim_step, "reclaim step" },
		{ break_mode, "mode" },
		{ break_memmap, "memmap" },
		{ break_max_blocks, "shrink_max_blocks" },
		{ break_kernel_max, "kernel_max_ratio" },
		{ break_kernel_headroom, "kernel headroom" },
		{ break_refault_rate, "cache_refault_rate" },
		{ break_calm_stall, "calm_stall" },
		{ break_trim_interval, "trim_interval" },
		{ ok_kernel_headroom_off, NULL },
		{ ok_reserve_equal, NULL },
		{ ok_reclaim_off, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_config cfg;
		const char *msg = NULL;
		int r;

		policy_config_defaults(&cfg);
		cases[i].edit(&cfg);
		r = policy_config_validate(&cfg, &msg);
		if (!cases[i].word) {
			assert_int_equal(r, 0);
			continue;
		}
		assert_int_equal(r, -EINVAL);
		assert_non_null(msg);
		if (!strstr(msg, cases[i].word))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, msg, cases[i].word);
	}
}

static void test_every_name_is_a_short_lowercase_word(void **state)
{
	for (int r = 0; r < POLICY_R__MAX; r++) {
		const char *n = policy_reason_name((enum policy_reason)r);

		assert_string_not_equal(n, "unknown");
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
	}
	assert_string_equal(policy_action_name(POLICY_GROW), "grow");
	assert_string_equal(policy_action_name(POLICY_RECLAIM_STOP), "reclaim_stop");
	assert_string_equal(policy_reason_name(POLICY_R_LOW_HEADROOM), "low_headroom");
	assert_string_equal(policy_reason_name(POLICY_R__MAX), "unknown");
	assert_string_equal(policy_action_name((enum policy_action)99), "unknown");
	assert_string_equal(policy_zone_name(POLICY_ZONE_KERNEL), "kernel");
	assert_string_equal(policy_zone_name(POLICY_ZONE_MOVABLE), "movable");
}

static struct policy_decision base_decision(void)
{
	struct policy_decision d;

	memset(&d, 0, sizeof(d));
	d.now_usec = 1000 * SEC;
	d.current_bytes = d.target_bytes = 4 * GIB;
	d.mem_total_bytes = 4 * GIB;
	d.available_bytes = 2 * GIB;
	d.headroom_target_bytes = 400 * MIB;
	d.surplus_bytes = 1520 * MIB;
	d.min_bytes = 512 * MIB;
	d.max_bytes = 16 * GIB;
	d.urgency = URGENCY_LOW;
	return d;
}

static void test_explain_sentences_name_the_numbers(void **state)
{
	static const struct {
		enum policy_action action;
		enum policy_reason reason;
		uint64_t target_mib;
		uint64_t last_pressure_sec;
		uint64_t hold_until_sec;
		uint32_t signals;
		const char *want;
	} cases[] = {
		{ POLICY_HOLD, POLICY_R_AT_MIN, 4096, 0, 0, 0, "hold at 4096 MiB: at minimum (512 MiB)" },
		{ POLICY_HOLD, POLICY_R_NOT_RELEASABLE, 4096, 0, 0, 0,
		  "hold at 4096 MiB: 1520 MiB surplus, but none of it lies in ZONE_MOVABLE: memory in the kernel zones is not given back" },
		{ POLICY_HOLD, POLICY_R_PRESSURE_RECENT, 4096, 880, 1030, 0,
		  "hold at 4096 MiB: pressure 2 min ago, no shrink for another 30 s" },
		{ POLICY_HOLD, POLICY_R_SHRINK_INTERVAL, 4096, 0, 1004, 0,
		  "hold at 4096 MiB: shrank recently, next shrink in 4 s" },
		{ POLICY_HOLD, POLICY_R_HOST_DENIED, 4096, 0, 1012, 0,
		  "hold at 4096 MiB: the host holds resizes this way, retry in 12 s" },
		{ POLICY_GROW, POLICY_R_LOW_HEADROOM, 4352, 1000, 0, POLICY_SIG_LOW,
		  "grow by 256 MiB to 4352 MiB: available 2048 MiB is below the 400 MiB headroom target" },
		{ POLICY_GROW, POLICY_R_EMERGENCY, 4352, 1000, 0, POLICY_SIG_OOM_KILL | POLICY_SIG_ALLOCSTALL,
		  "grow by 256 MiB to 4352 MiB: emergency (OOM kill, allocation stalls)" },
		{ POLICY_SHRINK, POLICY_R_SURPLUS, 3584, 0, 0, 0,
		  "shrink by 512 MiB to 3584 MiB: calm, 2048 MiB available is 1520 MiB above the 400 MiB headroom target and margin" },
		{ POLICY_HOLD, POLICY_R_AT_MAX, 4096, 1000, 0, POLICY_SIG_LOW,
		  "hold at 4096 MiB: at maximum (16384 MiB) although a grow of 300 MiB is wanted (available 2048 MiB below the 400 MiB target)" },
		{ POLICY_RECLAIM_STOP, POLICY_R_PRESSURE_RISING, 4096, 1000, 0, POLICY_SIG_REFAULTS,
		  "stop trimming page cache: pressure rising (file refaults)" },
		{ POLICY_GROW, POLICY_R_LOW_HEADROOM, 4352, 1000, 0, 0,
		  "grow by 256 MiB to 4352 MiB: user pages fill the kernel zones (20 MiB available for a 64 MiB target), ZONE_MOVABLE takes them" },
		{ POLICY_HOLD, POLICY_R_CACHE_TURNOVER, 4096, 1000, 0, POLICY_SIG_TRIGGER,
		  "hold at 4096 MiB: stalls (PSI trigger) with 2048 MiB available and no refaults: the page cache turns over, growing would only feed it" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_decision d = base_decision();
		char buf[512];
		int n;

		d.action = cases[i].action;
		d.reason = cases[i].reason;
		d.target_bytes = cases[i].target_mib * MIB;
		d.last_pressure_usec = cases[i].last_pressure_sec * SEC;
		d.hold_until_usec = cases[i].hold_until_sec * SEC;
		d.signals = cases[i].signals;
		if (d.action == POLICY_GROW && !(d.signals & POLICY_SIG_LOW)) {
			d.shortage = POLICY_SHORT_KERNEL_SPILL | POLICY_SHORT_GLOBAL;
			d.kernel_available_bytes = 20 * MIB;
			d.kernel_headroom_bytes = 64 * MIB;
		}
		if (d.action == POLICY_GROW || (d.signals & POLICY_SIG_LOW)) {
			d.urgency = URGENCY_NORMAL;
			d.need_movable_bytes = 300 * MIB;
		}
		n = policy_decision_explain(&d, buf, sizeof(buf));
		assert_int_equal(n, (int)strlen(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_explain_reports_truncation(void **state)
{
	struct policy_decision d = base_decision();
	char buf[10];

	d.reason = POLICY_R_NOT_RELEASABLE;
	assert_int_equal(policy_decision_explain(&d, buf, sizeof(buf)), -ENOSPC);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

static void test_json_has_every_key_and_two_decimal_psi(void **state)
{
	struct policy_decision d = base_decision();
	char buf[2048];
	int n;

	d.action = POLICY_GROW;
	d.reason = POLICY_R_KERNEL_SHORT;
	d.zone = POLICY_ZONE_KERNEL;
	d.kernel_available_bytes = 20 * MIB;
	d.kernel_headroom_bytes = 64 * MIB;
	d.movable_free_bytes = 900 * MIB;
	d.unmovable_velocity_bytes_per_sec = 20 * (int64_t)MIB;
	d.urgency = URGENCY_HIGH;
	d.target_bytes = 4 * GIB + 256 * MIB;
	d.psi_some_avg10 = 1234;
	d.psi_full_avg10 = 5;
	d.velocity_bytes_per_sec = -3 * (int64_t)MIB;
	d.escalation = 2;
	n = policy_decision_json(&d, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_true(buf[0] == '{' && buf[n - 1] == '}');
	assert_non_null(strstr(buf, "\"action\":\"grow\",\"reason\":\"kernel_short\",\"urgency\":2,\"zone\":\"kernel\","));
	assert_non_null(strstr(buf, "\"target_bytes\":4563402752,\"current_bytes\":4294967296,\"reclaim_bytes\":0,"));
	assert_non_null(strstr(buf, "\"velocity_bytes_per_sec\":-3145728,"));
	assert_non_null(strstr(buf, "\"psi_some_avg10\":12.34,\"psi_full_avg10\":0.05,"));
	assert_non_null(strstr(buf, "\"escalation\":2,\"pingpong_level\":0,"));
	assert_non_null(strstr(buf, "\"explain\":\"grow by 256 MiB to 4352 MiB in the kernel zones: the kernel zones have 20 MiB available for a 64 MiB target, unmovable memory grows 20 MiB/s, 900 MiB free in ZONE_MOVABLE cannot hold it, trend step escalated x4 while stalls continue\"}"));
	static const char *const keys[] = {
		"action", "reason", "urgency", "target_bytes", "current_bytes", "reclaim_bytes",
		"mem_total_bytes", "available_bytes", "headroom_target_bytes",
		"velocity_bytes_per_sec", "deficit_bytes", "surplus_bytes", "psi_some_avg10",
		"psi_full_avg10", "escalation", "pingpong_level", "explain", "zone", "demand_bytes",
		"protected_cache_bytes", "kernel_available_bytes", "kernel_headroom_bytes",
		"kernel_bytes", "kernel_max_bytes", "need_kernel_bytes", "need_movable_bytes",
		"refault_rate_bytes_per_sec", "overshoot_bytes",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char k[64];

		snprintf(k, sizeof(k), "\"%s\":", keys[i]);
		if (!strstr(buf, k))
			fail_msg("key %s missing in %s", keys[i], buf);
	}
	assert_int_equal(policy_decision_json(&d, buf, 40), -ENOSPC);
}

/* Every reason of a real run explains itself and fits a JSON line. */
static void test_every_decision_of_a_run_has_text(void **state)
{
	struct policy_config cfg;
	struct policy_state st;
	struct policy_decision d;
	struct policy_input in;
	char buf[1024];

	policy_config_defaults(&cfg);
	policy_init(&st);
	memset(&in, 0, sizeof(in));
	in.mem_total_bytes = in.current_bytes = 2 * GIB;
	in.min_bytes = 1 * GIB;
	in.max_bytes = 4 * GIB;
	in.block_bytes = 128 * MIB;
	in.releasable_bytes = UINT64_MAX;
	in.psi_available = true;
	in.zones_available = true;
	in.kernel_managed_bytes = 1 * GIB;
	in.memory_block_bytes = 128 * MIB;
	for (uint64_t t = 0; t < 200; t++) {
		in.now_usec = t * SEC;
		in.mem_available_bytes = (t % 50) * 40 * MIB;
		in.mem_free_bytes = (t % 13) * 20 * MIB;
		in.kernel_free_bytes = (t % 17) * 10 * MIB;
		in.movable_free_bytes = (t % 19) * 50 * MIB;
		in.file_cache_bytes = (t % 23) * 50 * MIB;
		in.refault_file += (t % 3) * 20000;
		in.psi_some_total_usec += (t % 4) * 50000;
		in.kernel_growth = t % 29 == 0 ? POLICY_KGROW_NO_MECHANISM : POLICY_KGROW_YES;
		in.trigger_events = t % 7 == 0;
		in.backend_busy = t % 5 == 0;
		in.reclaim_busy = t % 11 == 0;
		policy_evaluate(&st, &cfg, &in, &d);
		assert_true(policy_decision_explain(&d, buf, sizeof(buf)) > 10);
		assert_null(strstr(buf, "unknown"));
		assert_true(policy_decision_json(&d, buf, sizeof(buf)) > 100);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_valid_and_documented_values),
		cmocka_unit_test(test_validate_rejects_inconsistent_configs),
		cmocka_unit_test(test_every_name_is_a_short_lowercase_word),
		cmocka_unit_test(test_explain_sentences_name_the_numbers),
		cmocka_unit_test(test_explain_reports_truncation),
		cmocka_unit_test(test_json_has_every_key_and_two_decimal_psi),
		cmocka_unit_test(test_every_decision_of_a_run_has_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
