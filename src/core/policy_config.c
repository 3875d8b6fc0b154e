/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "core/policy.h"

#define MIB (1ull << 20)
#define SEC 1000000ull

void policy_config_defaults(struct policy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = POLICY_MODE_DEFAULT;

	cfg->min_headroom_bytes = 128 * MIB;
	cfg->headroom_ratio_centi = 1000;
	cfg->reserve_bytes = 64 * MIB;
	cfg->plug_latency_usec = 1 * SEC;
	cfg->lead_margin_usec = SEC / 2;
	cfg->velocity_window_usec = 3 * SEC;
	cfg->grow_step_min_bytes = 64 * MIB;
	cfg->grow_step_max_bytes = 1024 * MIB;
	cfg->escalate_max_shift = 3;
	cfg->emergency_step_bytes = 256 * MIB;
	cfg->full_emergency_centi = 500;
	cfg->memmap_overhead_centi = 160;

	cfg->zones = true;
	cfg->kernel_min_headroom_bytes = 64 * MIB;
	cfg->kernel_headroom_ratio_centi = 500;
	cfg->kernel_max_ratio_centi = 5000;

	cfg->cache_refault_rate_bytes = 2 * MIB;
	cfg->cache_protect_usec = 600 * SEC;

	cfg->calm_stall_centi = 100;
	cfg->calm_hold_usec = 5 * SEC;
	cfg->grow_hold_usec = 0;
	cfg->shrink_margin_bytes = 64 * MIB;
	cfg->shrink_fraction_centi = 10000;
	cfg->shrink_max_blocks = 1024;
	cfg->shrink_step_max_bytes = 512 * MIB;
	cfg->shrink_interval_usec = 1 * SEC;
	cfg->pingpong_window_usec = 120 * SEC;
	cfg->pingpong_max_level = 4;

	cfg->reclaim_enabled = true;
	cfg->reclaim_step_bytes = 32 * MIB;
	cfg->reclaim_max_steps = 4;
	cfg->reclaim_min_cache_bytes = 64 * MIB;
	cfg->reclaim_refault_limit = 512;
	cfg->trim_interval_usec = 1 * SEC;
	cfg->trim_backoff_min_usec = 30 * SEC;
	cfg->trim_backoff_max_usec = 300 * SEC;

	cfg->backoff_min_usec = 1 * SEC;
	cfg->backoff_max_usec = 60 * SEC;

	cfg->psionly_step_bytes = 4 * MIB;
	cfg->psionly_quiet_usec = 10 * SEC;
}

/*
 * The checks guard two things: configurations whose parts contradict each
 * other (a minimum step above the maximum), and values that would make the
 * integer arithmetic of the policy overflow or divide by zero.  Each entry
 * is a condition that must NOT hold and the message that says why.
 */
int policy_config_validate(const struct policy_config *cfg, const char **ret_msg)
{
	const struct {
		bool bad;
		const char *msg;
	} checks[] = {
		{ cfg->mode != POLICY_MODE_DEFAULT && cfg->mode != POLICY_MODE_PSI_ONLY,
		  "unknown policy mode" },
		{ cfg->headroom_ratio_centi > 10000, "headroom ratio exceeds 100%" },
		{ cfg->min_headroom_bytes == 0 && cfg->headroom_ratio_centi == 0,
		  "headroom target is zero: set min_headroom or headroom_ratio" },
		{ cfg->reserve_bytes > cfg->min_headroom_bytes,
		  "reserve exceeds min_headroom: the headroom target must keep available memory above the reserve" },
		{ cfg->velocity_window_usec == 0, "velocity window is zero" },
		{ cfg->velocity_window_usec > 600 * SEC, "velocity window exceeds 10 min" },
		{ cfg->plug_latency_usec > 600 * SEC || cfg->lead_margin_usec > 600 * SEC,
		  "plug_latency and lead_margin must be at most 10 min" },
		{ cfg->grow_step_min_bytes == 0, "grow_step_min is zero" },
		{ cfg->grow_step_min_bytes > cfg->grow_step_max_bytes, "grow_step_min exceeds grow_step_max" },
		{ cfg->emergency_step_bytes > cfg->grow_step_max_bytes, "emergency_step exceeds grow_step_max" },
		{ cfg->escalate_max_shift > 16, "escalate_max_shift exceeds 16" },
		{ cfg->full_emergency_centi == 0 || cfg->full_emergency_centi > 10000,
		  "full_emergency must be within (0, 100%]" },
		{ cfg->memmap_overhead_centi >= 5000, "memmap overhead must be below 50%" },
		{ cfg->kernel_headroom_ratio_centi > 10000, "kernel_headroom_ratio exceeds 100%" },
		{ cfg->zones && cfg->kernel_min_headroom_bytes == 0 && cfg->kernel_headroom_ratio_centi == 0,
		  "kernel headroom target is zero: set kernel_min_headroom or kernel_headroom_ratio" },
		{ cfg->kernel_max_ratio_centi == 0 || cfg->kernel_max_ratio_centi > 10000,
		  "kernel_max_ratio must be within (0, 100%]" },
		{ cfg->cache_refault_rate_bytes == 0, "cache_refault_rate is zero" },
		{ cfg->calm_stall_centi == 0 || cfg->calm_stall_centi > 10000,
		  "calm_stall must be within (0, 100%]" },
		{ cfg->calm_hold_usec == 0, "calm_hold is zero" },
		{ cfg->shrink_fraction_centi == 0 || cfg->shrink_fraction_centi > 10000,
		  "shrink fraction must be within (0, 100%]" },
		{ cfg->shrink_max_blocks == 0, "shrink_max_blocks is zero" },
		{ cfg->shrink_step_max_bytes == 0, "shrink_step_max is zero" },
		{ cfg->pingpong_window_usec == 0, "pingpong window is zero" },
		{ cfg->pingpong_max_level > 16, "pingpong_max_level exceeds 16" },
		{ cfg->reclaim_enabled && cfg->reclaim_step_bytes < 4 * 4096,
		  "reclaim step must be at least 16 KiB" },
		{ cfg->reclaim_enabled && cfg->reclaim_max_steps == 0, "reclaim_max_steps is zero" },
		{ cfg->trim_interval_usec > cfg->trim_backoff_max_usec,
		  "trim_interval exceeds trim_backoff_max" },
		{ cfg->trim_backoff_min_usec > cfg->trim_backoff_max_usec,
		  "trim_backoff_min exceeds trim_backoff_max" },
		{ cfg->backoff_min_usec == 0, "backoff_min is zero" },
		{ cfg->backoff_min_usec > cfg->backoff_max_usec, "backoff_min exceeds backoff_max" },
		{ cfg->psionly_step_bytes == 0, "psionly step is zero" },
		{ cfg->psionly_quiet_usec == 0, "psionly quiet time is zero" },
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (checks[i].bad) {
			*ret_msg = checks[i].msg;
			return -EINVAL;
		}
	}
	return 0;
}
