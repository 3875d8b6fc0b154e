/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>

#include "common/strbuf.h"
#include "core/policy.h"
#include "core/policy_impl.h"

/*
 * Words and sentences for decisions: what the daemon logs once per
 * decision and what `vmrctl why` shows.  Pure snprintf, no allocation.
 */

const char *policy_action_name(enum policy_action a)
{
	static const char *const names[] = {
		[POLICY_HOLD] = "hold",
		[POLICY_GROW] = "grow",
		[POLICY_SHRINK] = "shrink",
		[POLICY_RECLAIM] = "reclaim",
		[POLICY_RECLAIM_STOP] = "reclaim_stop",
	};

	if ((unsigned)a >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[a];
}

const char *policy_reason_name(enum policy_reason r)
{
	static const char *const names[POLICY_R__MAX] = {
		[POLICY_R_LOW_HEADROOM] = "low_headroom",
		[POLICY_R_FALLING_FAST] = "falling_fast",
		[POLICY_R_KERNEL_SHORT] = "kernel_short",
		[POLICY_R_CACHE_REFAULTS] = "cache_refaults",
		[POLICY_R_EMERGENCY] = "emergency",
		[POLICY_R_PSI_EVENT] = "psi_event",
		[POLICY_R_SURPLUS] = "surplus",
		[POLICY_R_HOST_RECLAIM] = "host_reclaim",
		[POLICY_R_TRIM_CACHE] = "trim_cache",
		[POLICY_R_TRIM_COLD] = "trim_cold",
		[POLICY_R_PSI_QUIET] = "psi_quiet",
		[POLICY_R_STEADY] = "steady",
		[POLICY_R_AT_MAX] = "at_max",
		[POLICY_R_AT_MIN] = "at_min",
		[POLICY_R_BACKEND_BUSY] = "backend_busy",
		[POLICY_R_BACKOFF] = "backoff",
		[POLICY_R_HOST_DENIED] = "host_denied",
		[POLICY_R_CANT_HELP] = "cant_help",
		[POLICY_R_CACHE_TURNOVER] = "cache_turnover",
		[POLICY_R_PRESSURE_RECENT] = "pressure_recent",
		[POLICY_R_GROW_HOLD] = "grow_hold",
		[POLICY_R_PINGPONG_HOLD] = "pingpong_hold",
		[POLICY_R_SHRINK_INTERVAL] = "shrink_interval",
		[POLICY_R_NO_SURPLUS] = "no_surplus",
		[POLICY_R_NOT_RELEASABLE] = "not_releasable",
		[POLICY_R_RECLAIMING] = "reclaiming",
		[POLICY_R_HOST_RECLAIM_UNSAFE] = "host_reclaim_unsafe",
		[POLICY_R_PRESSURE_RISING] = "pressure_rising",
	};

	if ((unsigned)r >= POLICY_R__MAX || !names[r])
		return "unknown";
	return names[r];
}

const char *policy_zone_name(enum policy_zone z)
{
	return z == POLICY_ZONE_KERNEL ? "kernel" : "movable";
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

/* A duration as people say it: "now", "12 s", "3 min", "2 h". */
static void text_span(struct strbuf *t, uint64_t usec)
{
	uint64_t s = usec / 1000000;

	if (s < 1)
		strbuf_printf(t, "now");
	else if (s < 120)
		strbuf_printf(t, "%llu s", (unsigned long long)s);
	else if (s < 120 * 60)
		strbuf_printf(t, "%llu min", (unsigned long long)(s / 60));
	else
		strbuf_printf(t, "%llu h", (unsigned long long)(s / 3600));
}

static void text_ago(struct strbuf *t, const struct policy_decision *d, uint64_t when)
{
	if (when >= d->now_usec || d->now_usec - when < 1000000) {
		strbuf_printf(t, "now");
		return;
	}
	text_span(t, d->now_usec - when);
	strbuf_printf(t, " ago");
}

/* Rounded up, so that a hold with 0.4 s to go reads "1 s", not "now". */
static void text_until(struct strbuf *t, const struct policy_decision *d)
{
	uint64_t left = d->hold_until_usec > d->now_usec ? d->hold_until_usec - d->now_usec : 0;

	text_span(t, left ? (left + 999999) / 1000000 * 1000000 : 0);
}

static void text_centi(struct strbuf *t, uint32_t centi)
{
	strbuf_printf(t, "%u.%02u%%", centi / 100, centi % 100);
}

static void text_velocity(struct strbuf *t, int64_t v)
{
	uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;

	if (a >= (1u << 20))
		strbuf_printf(t, "%llu MiB/s", mib(a));
	else
		strbuf_printf(t, "%llu KiB/s", (unsigned long long)(a >> 10));
}

/* The signals behind a decision, comma-separated. */
static void text_signals(struct strbuf *t, const struct policy_decision *d, uint32_t mask)
{
	static const struct {
		uint32_t bit;
		const char *word;
	} words[] = {
		{ POLICY_SIG_OOM_KILL, "OOM kill" },
		{ POLICY_SIG_ALLOCSTALL, "allocation stalls" },
		{ POLICY_SIG_FULL_AVG10, "PSI full avg10 at the emergency level" },
		{ POLICY_SIG_FULL_STALL, "full stalls since the last check" },
		{ POLICY_SIG_TRIGGER, "PSI trigger" },
		{ POLICY_SIG_SOME_STALL, "stalled" },
		{ POLICY_SIG_REFAULTS, "file refaults" },
		{ POLICY_SIG_CACHE_MISS, "the page cache refaults" },
		{ POLICY_SIG_DRAINING, "available memory draining" },
	};
	const char *sep = "";
	uint32_t s = d->signals & mask;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!(s & words[i].bit))
			continue;
		strbuf_printf(t, "%s%s", sep, words[i].word);
		if (words[i].bit == POLICY_SIG_SOME_STALL) {
			strbuf_printf(t, " ");
			text_centi(t, d->stall_centi);
			strbuf_printf(t, " of the time");
		}
		sep = ", ";
	}
	if (s & POLICY_SIG_FALLING) {
		strbuf_printf(t, "%savailable falling ", sep);
		text_velocity(t, d->velocity_bytes_per_sec);
		if (s & POLICY_SIG_EXHAUSTING)
			strbuf_printf(t, " into the last reserve");
		sep = ", ";
	}
	if (s & POLICY_SIG_LOW)
		strbuf_printf(t, "%savailable %llu MiB below the %llu MiB target", sep,
			 mib(d->available_bytes), mib(d->headroom_target_bytes));
	else if (s & POLICY_SIG_KERNEL_LOW)
		strbuf_printf(t, "%skernel zones have %llu MiB available for a %llu MiB target", sep,
			 mib(d->kernel_available_bytes), mib(d->kernel_headroom_bytes));
}

/* Why the kernel zones are short: "slab and page tables grow 20 MiB/s, 900 MiB free in ZONE_MOVABLE". */
static void text_kernel(struct strbuf *t, const struct policy_decision *d)
{
	strbuf_printf(t, "the kernel zones have %llu MiB available for a %llu MiB target",
		 mib(d->kernel_available_bytes), mib(d->kernel_headroom_bytes));
	if (d->unmovable_velocity_bytes_per_sec > 0) {
		strbuf_printf(t, ", unmovable memory grows ");
		text_velocity(t, d->unmovable_velocity_bytes_per_sec);
	}
	if (d->signals & POLICY_SIG_KERNEL_CACHE) {
		strbuf_printf(t, ", their cache thrashes (");
		text_signals(t, d, POLICY_SIG_STALLS | POLICY_SIG_REFAULTS | POLICY_SIG_CACHE_MISS);
		if (d->refault_rate_bytes_per_sec > 0) {
			strbuf_printf(t, "%srefaults ", d->signals & (POLICY_SIG_STALLS | POLICY_SIG_REFAULTS) ? ", " : "");
			text_velocity(t, (int64_t)min_u64(d->refault_rate_bytes_per_sec, INT64_MAX));
		}
		strbuf_printf(t, ")");
	}
	strbuf_printf(t, ", %llu MiB free in ZONE_MOVABLE cannot hold it", mib(d->movable_free_bytes));
}

static void explain_grow(struct strbuf *t, const struct policy_decision *d)
{
	strbuf_printf(t, "grow by %llu MiB to %llu MiB%s: ", mib(d->target_bytes - d->current_bytes),
		 mib(d->target_bytes), d->zone == POLICY_ZONE_KERNEL ? " in the kernel zones" : "");
	switch (d->reason) {
	case POLICY_R_EMERGENCY:
		strbuf_printf(t, "emergency (");
		text_signals(t, d, ~(uint32_t)0);
		strbuf_printf(t, ")");
		break;
	case POLICY_R_KERNEL_SHORT:
		text_kernel(t, d);
		break;
	case POLICY_R_CACHE_REFAULTS:
		strbuf_printf(t, "the file working set does not fit: ");
		text_velocity(t, (int64_t)min_u64(d->refault_rate_bytes_per_sec, INT64_MAX));
		strbuf_printf(t, " of refaults with no free memory");
		break;
	case POLICY_R_FALLING_FAST:
		strbuf_printf(t, "available %llu MiB is falling ", mib(d->available_bytes));
		text_velocity(t, d->velocity_bytes_per_sec);
		strbuf_printf(t, " and would cross the reserve before new memory arrives");
		break;
	case POLICY_R_LOW_HEADROOM:
		if (!(d->signals & POLICY_SIG_LOW) && (d->shortage & POLICY_SHORT_KERNEL_SPILL))
			strbuf_printf(t, "user pages fill the kernel zones (%llu MiB available for a %llu MiB "
				      "target), ZONE_MOVABLE takes them",
				      mib(d->kernel_available_bytes), mib(d->kernel_headroom_bytes));
		else
			strbuf_printf(t, "available %llu MiB is below the %llu MiB headroom target",
				      mib(d->available_bytes), mib(d->headroom_target_bytes));
		break;
	default:
		strbuf_printf(t, "PSI trigger event (psi-only mode)");
		break;
	}
	if (d->escalation > 0)
		strbuf_printf(t, ", trend step escalated x%u while stalls continue", 1u << d->escalation);
}

static void explain_shrink(struct strbuf *t, const struct policy_decision *d)
{
	strbuf_printf(t, "shrink by %llu MiB to %llu MiB: ", mib(d->current_bytes - d->target_bytes),
		 mib(d->target_bytes));
	if (d->reason == POLICY_R_HOST_RECLAIM)
		strbuf_printf(t, "the host asked for %llu MiB", mib(d->host_target_bytes));
	else if (d->reason == POLICY_R_PSI_QUIET)
		strbuf_printf(t, "no PSI event lately (psi-only mode)");
	else
		strbuf_printf(t, "calm, %llu MiB available is %llu MiB above the %llu MiB headroom target and margin",
			 mib(d->available_bytes), mib(d->surplus_bytes), mib(d->headroom_target_bytes));
	if (d->protected_cache_bytes > 0)
		strbuf_printf(t, " (keeping %llu MiB of refaulted cache)", mib(d->protected_cache_bytes));
	if (d->pingpong_level > 0)
		strbuf_printf(t, ", ping-pong level %u", d->pingpong_level);
}

static void explain_cant_help(struct strbuf *t, const struct policy_decision *d)
{
	strbuf_printf(t, "growing cannot help: ");
	text_kernel(t, d);
	switch (d->cant_help) {
	case POLICY_CANT_KERNEL_BOUND:
		strbuf_printf(t, ", and the kernel zones (%llu MiB) reached their bound of %llu MiB",
			 mib(d->kernel_bytes), mib(d->kernel_max_bytes));
		break;
	case POLICY_CANT_NO_MECHANISM:
		strbuf_printf(t, ", and new memory cannot be placed in the kernel zones here");
		break;
	default:
		break;
	}
}

static void explain_hold_wait(struct strbuf *t, const struct policy_decision *d)
{
	switch (d->reason) {
	case POLICY_R_PRESSURE_RECENT:
		strbuf_printf(t, "pressure ");
		text_ago(t, d, d->last_pressure_usec);
		strbuf_printf(t, ", no shrink for another ");
		text_until(t, d);
		break;
	case POLICY_R_PINGPONG_HOLD:
		strbuf_printf(t, "ping-pong level %u, pressure ", d->pingpong_level);
		text_ago(t, d, d->last_pressure_usec);
		strbuf_printf(t, ", no shrink for another ");
		text_until(t, d);
		break;
	case POLICY_R_GROW_HOLD:
		strbuf_printf(t, "grew recently, no shrink for another ");
		text_until(t, d);
		break;
	case POLICY_R_SHRINK_INTERVAL:
		strbuf_printf(t, "shrank recently, next shrink in ");
		text_until(t, d);
		break;
	case POLICY_R_BACKOFF:
		strbuf_printf(t, "the backend failed %u time%s, retry in ", d->failures,
			 d->failures == 1 ? "" : "s");
		text_until(t, d);
		break;
	case POLICY_R_HOST_DENIED:
		strbuf_printf(t, "the host holds resizes this way, retry in ");
		text_until(t, d);
		break;
	default:
		break;
	}
}

static void explain_hold_state(struct strbuf *t, const struct policy_decision *d)
{
	switch (d->reason) {
	case POLICY_R_STEADY:
		if (d->hold_until_usec > d->now_usec) {
			strbuf_printf(t, "settling in, no shrink for another ");
			text_until(t, d);
		} else if (d->surplus_bytes > 0) {
			strbuf_printf(t, "surplus of %llu MiB is less than one block", mib(d->surplus_bytes));
		} else {
			strbuf_printf(t, "steady, available %llu MiB, headroom target %llu MiB",
				 mib(d->available_bytes), mib(d->headroom_target_bytes));
		}
		break;
	case POLICY_R_AT_MAX:
		strbuf_printf(t, "at maximum (%llu MiB)", mib(d->max_bytes));
		break;
	case POLICY_R_AT_MIN:
		strbuf_printf(t, "at minimum (%llu MiB)", mib(d->min_bytes));
		break;
	case POLICY_R_BACKEND_BUSY:
		strbuf_printf(t, "a resize request is outstanding");
		break;
	case POLICY_R_NO_SURPLUS:
		strbuf_printf(t, "no surplus, available %llu MiB, headroom target %llu MiB",
			 mib(d->available_bytes), mib(d->headroom_target_bytes));
		if (d->protected_cache_bytes > 0)
			strbuf_printf(t, ", %llu MiB of refaulted cache kept", mib(d->protected_cache_bytes));
		break;
	case POLICY_R_NOT_RELEASABLE:
		strbuf_printf(t, "%llu MiB surplus, but none of it lies in ZONE_MOVABLE: memory in the kernel zones is not given back",
			 mib(d->surplus_bytes));
		break;
	case POLICY_R_RECLAIMING:
		strbuf_printf(t, "page-cache trim in progress");
		break;
	case POLICY_R_CACHE_TURNOVER:
		strbuf_printf(t, "stalls (");
		text_signals(t, d, POLICY_SIG_STALLS);
		strbuf_printf(t, ") with %llu MiB available and no refaults: the page cache turns over, growing would only feed it",
			 mib(d->available_bytes));
		break;
	case POLICY_R_CANT_HELP:
		explain_cant_help(t, d);
		break;
	case POLICY_R_HOST_RECLAIM_UNSAFE:
		strbuf_printf(t, "the host asks for %llu MiB but shrinking is unsafe: ",
			 mib(d->host_target_bytes));
		if (d->hold_until_usec > d->now_usec) {
			strbuf_printf(t, "pressure ");
			text_ago(t, d, d->last_pressure_usec);
		} else {
			strbuf_printf(t, "it would leave less than the %llu MiB headroom target",
				 mib(d->headroom_target_bytes));
		}
		break;
	default:
		explain_hold_wait(t, d);
		break;
	}
}

static void explain_hold(struct strbuf *t, const struct policy_decision *d)
{
	strbuf_printf(t, "hold at %llu MiB: ", mib(d->current_bytes));
	explain_hold_state(t, d);
	/* A hold while a grow is wanted says what it is holding back. */
	if (d->urgency > URGENCY_LOW && d->reason != POLICY_R_CANT_HELP &&
	    d->reason != POLICY_R_CACHE_TURNOVER && (d->need_kernel_bytes || d->need_movable_bytes)) {
		strbuf_printf(t, " although a grow of %llu MiB is wanted (",
			 mib(d->need_kernel_bytes + d->need_movable_bytes));
		text_signals(t, d, ~(uint32_t)(POLICY_SIG_REFAULTS));
		strbuf_printf(t, ")");
	}
}

int policy_decision_explain(const struct policy_decision *d, char *buf, size_t len)
{
	struct strbuf t;

	if (len == 0)
		return -ENOSPC;
	strbuf_init(&t, buf, len);
	switch (d->action) {
	case POLICY_GROW:
		explain_grow(&t, d);
		break;
	case POLICY_SHRINK:
		explain_shrink(&t, d);
		break;
	case POLICY_RECLAIM:
		if (d->reason == POLICY_R_TRIM_COLD)
			strbuf_printf(&t, "trim %llu MiB of cold page cache: calm, no refaults, the host gets it back",
				 mib(d->reclaim_bytes));
		else
			strbuf_printf(&t, "trim %llu MiB of cold page cache so that a shrink finds free memory",
				 mib(d->reclaim_bytes));
		break;
	case POLICY_RECLAIM_STOP:
		strbuf_printf(&t, "stop trimming page cache: pressure rising (");
		text_signals(&t, d, ~(uint32_t)POLICY_SIG_LOW);
		strbuf_printf(&t, ")");
		break;
	default:
		explain_hold(&t, d);
		break;
	}
	return strbuf_result(&t);
}

/* A JSON string body: quotes, backslashes and control characters escaped. */
static void text_json_string(struct strbuf *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			strbuf_printf(t, "\\%c", c);
		else if (c < 0x20)
			strbuf_printf(t, "\\u%04x", c);
		else
			strbuf_printf(t, "%c", c);
	}
}

static void json_u64(struct strbuf *t, const char *key, uint64_t v)
{
	strbuf_printf(t, "\"%s\":%llu,", key, (unsigned long long)v);
}

int policy_decision_json(const struct policy_decision *d, char *buf, size_t len)
{
	struct strbuf t;
	char explain[768];

	if (len == 0)
		return -ENOSPC;
	strbuf_init(&t, buf, len);
	/* A cut-off sentence is still worth showing; JSON stays well formed. */
	(void)policy_decision_explain(d, explain, sizeof(explain));
	strbuf_printf(&t, "{\"action\":\"%s\",\"reason\":\"%s\",\"urgency\":%u,\"zone\":\"%s\",",
		 policy_action_name(d->action), policy_reason_name(d->reason), d->urgency,
		 policy_zone_name(d->zone));
	json_u64(&t, "target_bytes", d->target_bytes);
	json_u64(&t, "current_bytes", d->current_bytes);
	json_u64(&t, "reclaim_bytes", d->reclaim_bytes);
	json_u64(&t, "mem_total_bytes", d->mem_total_bytes);
	json_u64(&t, "available_bytes", d->available_bytes);
	json_u64(&t, "headroom_target_bytes", d->headroom_target_bytes);
	strbuf_printf(&t, "\"velocity_bytes_per_sec\":%lld,", (long long)d->velocity_bytes_per_sec);
	json_u64(&t, "deficit_bytes", d->deficit_bytes);
	json_u64(&t, "surplus_bytes", d->surplus_bytes);
	json_u64(&t, "demand_bytes", d->demand_bytes);
	json_u64(&t, "protected_cache_bytes", d->protected_cache_bytes);
	json_u64(&t, "kernel_available_bytes", d->kernel_available_bytes);
	json_u64(&t, "kernel_headroom_bytes", d->kernel_headroom_bytes);
	json_u64(&t, "kernel_bytes", d->kernel_bytes);
	json_u64(&t, "kernel_max_bytes", d->kernel_max_bytes);
	json_u64(&t, "need_kernel_bytes", d->need_kernel_bytes);
	json_u64(&t, "need_movable_bytes", d->need_movable_bytes);
	json_u64(&t, "refault_rate_bytes_per_sec", d->refault_rate_bytes_per_sec);
	strbuf_printf(&t, "\"psi_some_avg10\":%u.%02u,\"psi_full_avg10\":%u.%02u,",
		 d->psi_some_avg10 / 100, d->psi_some_avg10 % 100,
		 d->psi_full_avg10 / 100, d->psi_full_avg10 % 100);
	strbuf_printf(&t, "\"escalation\":%u,\"pingpong_level\":%u,", d->escalation, d->pingpong_level);
	json_u64(&t, "overshoot_bytes", d->overshoot_bytes);
	strbuf_printf(&t, "\"explain\":\"");
	text_json_string(&t, explain);
	strbuf_printf(&t, "\"}");
	return strbuf_result(&t);
}
