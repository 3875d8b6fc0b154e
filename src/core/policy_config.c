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
	cfg->lead_margin_usec = 1 * SEC;
	cfg->velocity_window_usec = 3 * SEC;
	cfg->grow_step_min_bytes = 64 * MIB;
	cfg->grow_step_max_bytes = 1024 * MIB;
	cfg->escalate_max_shift = 3;
	cfg->emergency_step_bytes = 256 * MIB;
	cfg->full_emergency_centi = 500;
	cfg->memmap_overhead_centi = 160;

	cfg->calm_some_avg10_centi = 50;
	cfg->calm_some_avg60_centi = 20;
	cfg->calm_hold_usec = 30 * SEC;
	cfg->grow_hold_usec = 60 * SEC;
	cfg->shrink_margin_bytes = 128 * MIB;
	cfg->shrink_fraction_centi = 5000;
	cfg->shrink_max_blocks = 64;
	cfg->shrink_interval_usec = 10 * SEC;
	cfg->pingpong_window_usec = 120 * SEC;
	cfg->pingpong_max_level = 4;

	cfg->reclaim_enabled = true;
	cfg->reclaim_step_bytes = 32 * MIB;
	cfg->reclaim_max_steps = 4;
	cfg->reclaim_min_cache_bytes = 64 * MIB;
	cfg->reclaim_refault_limit = 512;

	cfg->backoff_min_usec = 1 * SEC;
	cfg->backoff_max_usec = 60 * SEC;

	cfg->psionly_step_bytes = 4 * MIB;
	cfg->psionly_quiet_usec = 10 * SEC;
}

/*
 * The checks guard two things: configurations whose parts contradict each
 * other (a minimum step above the maximum), and values that would make the
 * integer arithmetic of the policy overflow or divide by zero.
 */
int policy_config_validate(const struct policy_config *cfg, const char **ret_msg)
{
	const char *msg = NULL;

	if (cfg->mode != POLICY_MODE_DEFAULT && cfg->mode != POLICY_MODE_PSI_ONLY)
		msg = "unknown policy mode";
	else if (cfg->headroom_ratio_centi > 10000)
		msg = "headroom ratio exceeds 100%";
	else if (cfg->min_headroom_bytes == 0 && cfg->headroom_ratio_centi == 0)
		msg = "headroom target is zero: set min_headroom or headroom_ratio";
	else if (cfg->reserve_bytes > cfg->min_headroom_bytes)
		msg = "reserve exceeds min_headroom: the headroom target must keep available memory above the reserve";
	else if (cfg->velocity_window_usec == 0)
		msg = "velocity window is zero";
	else if (cfg->velocity_window_usec > 600 * SEC)
		msg = "velocity window exceeds 10 min";
	else if (cfg->grow_step_min_bytes == 0)
		msg = "grow_step_min is zero";
	else if (cfg->grow_step_min_bytes > cfg->grow_step_max_bytes)
		msg = "grow_step_min exceeds grow_step_max";
	else if (cfg->emergency_step_bytes > cfg->grow_step_max_bytes)
		msg = "emergency_step exceeds grow_step_max";
	else if (cfg->escalate_max_shift > 16)
		msg = "escalate_max_shift exceeds 16";
	else if (cfg->full_emergency_centi == 0 || cfg->full_emergency_centi > 10000)
		msg = "full_emergency must be within (0, 100%]";
	else if (cfg->memmap_overhead_centi >= 5000)
		msg = "memmap overhead must be below 50%";
	else if (cfg->calm_some_avg10_centi > 10000 || cfg->calm_some_avg60_centi > 10000)
		msg = "calm PSI thresholds exceed 100%";
	else if (cfg->calm_hold_usec == 0)
		msg = "calm_hold is zero";
	else if (cfg->shrink_fraction_centi == 0 || cfg->shrink_fraction_centi > 10000)
		msg = "shrink fraction must be within (0, 100%]";
	else if (cfg->shrink_max_blocks == 0)
		msg = "shrink_max_blocks is zero";
	else if (cfg->pingpong_window_usec == 0)
		msg = "pingpong window is zero";
	else if (cfg->pingpong_max_level > 16)
		msg = "pingpong_max_level exceeds 16";
	else if (cfg->reclaim_enabled && cfg->reclaim_step_bytes == 0)
		msg = "reclaim step is zero";
	else if (cfg->reclaim_enabled && cfg->reclaim_max_steps == 0)
		msg = "reclaim_max_steps is zero";
	else if (cfg->backoff_min_usec == 0)
		msg = "backoff_min is zero";
	else if (cfg->backoff_min_usec > cfg->backoff_max_usec)
		msg = "backoff_min exceeds backoff_max";
	else if (cfg->psionly_step_bytes == 0)
		msg = "psionly step is zero";
	else if (cfg->psionly_quiet_usec == 0)
		msg = "psionly quiet time is zero";

	if (msg) {
		*ret_msg = msg;
		return -EINVAL;
	}
	return 0;
}
