/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "core/policy.h"

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
		[POLICY_R_PSI_TRIGGER] = "psi_trigger",
		[POLICY_R_LOW_HEADROOM] = "low_headroom",
		[POLICY_R_FALLING_FAST] = "falling_fast",
		[POLICY_R_EMERGENCY] = "emergency",
		[POLICY_R_PSI_EVENT] = "psi_event",
		[POLICY_R_SURPLUS] = "surplus",
		[POLICY_R_HOST_RECLAIM] = "host_reclaim",
		[POLICY_R_TRIM_CACHE] = "trim_cache",
		[POLICY_R_PSI_QUIET] = "psi_quiet",
		[POLICY_R_STEADY] = "steady",
		[POLICY_R_AT_MAX] = "at_max",
		[POLICY_R_AT_MIN] = "at_min",
		[POLICY_R_BACKEND_BUSY] = "backend_busy",
		[POLICY_R_BACKOFF] = "backoff",
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

/* An append-only text buffer that remembers whether anything was cut off. */
struct text {
	char *buf;
	size_t len;
	size_t pos;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->pos, t->len - t->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->pos) {
		t->full = true;
		t->pos = t->len - 1;
		return;
	}
	t->pos += (size_t)n;
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

/* A duration as people say it: "now", "12 s", "3 min", "2 h". */
static void text_span(struct text *t, uint64_t usec)
{
	uint64_t s = usec / 1000000;

	if (s < 1)
		text_add(t, "now");
	else if (s < 120)
		text_add(t, "%llu s", (unsigned long long)s);
	else if (s < 120 * 60)
		text_add(t, "%llu min", (unsigned long long)(s / 60));
	else
		text_add(t, "%llu h", (unsigned long long)(s / 3600));
}

static void text_ago(struct text *t, const struct policy_decision *d, uint64_t when)
{
	if (when >= d->now_usec || d->now_usec - when < 1000000) {
		text_add(t, "now");
		return;
	}
	text_span(t, d->now_usec - when);
	text_add(t, " ago");
}

/* Rounded up, so that a hold with 0.4 s to go reads "1 s", not "now". */
static void text_until(struct text *t, const struct policy_decision *d)
{
	uint64_t left = d->hold_until_usec > d->now_usec ? d->hold_until_usec - d->now_usec : 0;

	text_span(t, left ? (left + 999999) / 1000000 * 1000000 : 0);
}

static void text_centi(struct text *t, uint32_t centi)
{
	text_add(t, "%u.%02u%%", centi / 100, centi % 100);
}

static void text_velocity(struct text *t, int64_t v)
{
	uint64_t a = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;

	if (a >= (1u << 20))
		text_add(t, "%llu MiB/s", mib(a));
	else
		text_add(t, "%llu KiB/s", (unsigned long long)(a >> 10));
}

/* The signals behind an emergency or a stopped trim, comma-separated. */
static void text_signals(struct text *t, const struct policy_decision *d, uint32_t mask)
{
	const char *sep = "";
	uint32_t s = d->signals & mask;

	if (s & POLICY_SIG_OOM_KILL) {
		text_add(t, "%sOOM kill", sep);
		sep = ", ";
	}
	if (s & POLICY_SIG_ALLOCSTALL) {
		text_add(t, "%sallocation stall", sep);
		sep = ", ";
	}
	if (s & POLICY_SIG_FULL_AVG10) {
		text_add(t, "%sPSI full avg10 ", sep);
		text_centi(t, d->psi_full_avg10);
		sep = ", ";
	}
	if (s & POLICY_SIG_FULL_STALL) {
		text_add(t, "%sfull stalls since the last check", sep);
		sep = ", ";
	}
	if (s & POLICY_SIG_TRIGGER) {
		text_add(t, "%sPSI trigger", sep);
		sep = ", ";
	}
	if (s & POLICY_SIG_SOME_HIGH) {
		text_add(t, "%sPSI some avg10 ", sep);
		text_centi(t, d->psi_some_avg10);
		sep = ", ";
	}
	if (s & POLICY_SIG_REFAULTS) {
		text_add(t, "%sfile refaults", sep);
		sep = ", ";
	}
	if (s & POLICY_SIG_FALLING) {
		text_add(t, "%savailable falling ", sep);
		text_velocity(t, d->velocity_bytes_per_sec);
		sep = ", ";
	}
	if (s & POLICY_SIG_LOW)
		text_add(t, "%savailable %llu MiB below the %llu MiB target", sep,
			 mib(d->available_bytes), mib(d->headroom_target_bytes));
}

static void explain_grow(struct text *t, const struct policy_decision *d)
{
	text_add(t, "grow by %llu MiB to %llu MiB: ", mib(d->target_bytes - d->current_bytes),
		 mib(d->target_bytes));
	switch (d->reason) {
	case POLICY_R_EMERGENCY:
		text_add(t, "emergency (");
		text_signals(t, d, POLICY_SIG_OOM_KILL | POLICY_SIG_ALLOCSTALL |
			     POLICY_SIG_FULL_AVG10 | POLICY_SIG_FULL_STALL);
		text_add(t, ")");
		break;
	case POLICY_R_PSI_TRIGGER:
		text_add(t, "PSI trigger fired (some avg10 ");
		text_centi(t, d->psi_some_avg10);
		text_add(t, "), available %llu MiB", mib(d->available_bytes));
		break;
	case POLICY_R_FALLING_FAST:
		text_add(t, "available %llu MiB is falling ", mib(d->available_bytes));
		text_velocity(t, d->velocity_bytes_per_sec);
		text_add(t, " and would cross the reserve before new memory arrives");
		break;
	case POLICY_R_LOW_HEADROOM:
		text_add(t, "available %llu MiB is below the %llu MiB headroom target",
			 mib(d->available_bytes), mib(d->headroom_target_bytes));
		break;
	default:
		text_add(t, "PSI trigger event (psi-only mode)");
		break;
	}
	if (d->escalation > 0)
		text_add(t, ", step escalated x%u", 1u << d->escalation);
}

static void explain_shrink(struct text *t, const struct policy_decision *d)
{
	text_add(t, "shrink by %llu MiB to %llu MiB: ", mib(d->current_bytes - d->target_bytes),
		 mib(d->target_bytes));
	if (d->reason == POLICY_R_HOST_RECLAIM)
		text_add(t, "the host asked for %llu MiB", mib(d->host_target_bytes));
	else if (d->reason == POLICY_R_PSI_QUIET)
		text_add(t, "no PSI event lately (psi-only mode)");
	else
		text_add(t, "calm, %llu MiB available is %llu MiB above the %llu MiB headroom target and margin",
			 mib(d->available_bytes), mib(d->surplus_bytes), mib(d->headroom_target_bytes));
	if (d->pingpong_level > 0)
		text_add(t, ", ping-pong level %u", d->pingpong_level);
}

static void explain_hold_wait(struct text *t, const struct policy_decision *d)
{
	switch (d->reason) {
	case POLICY_R_PRESSURE_RECENT:
		text_add(t, "pressure ");
		text_ago(t, d, d->last_pressure_usec);
		text_add(t, ", no shrink for another ");
		text_until(t, d);
		break;
	case POLICY_R_PINGPONG_HOLD:
		text_add(t, "ping-pong level %u, pressure ", d->pingpong_level);
		text_ago(t, d, d->last_pressure_usec);
		text_add(t, ", no shrink for another ");
		text_until(t, d);
		break;
	case POLICY_R_GROW_HOLD:
		text_add(t, "grew recently, no shrink for another ");
		text_until(t, d);
		break;
	case POLICY_R_SHRINK_INTERVAL:
		text_add(t, "shrank recently, next shrink in ");
		text_until(t, d);
		break;
	case POLICY_R_BACKOFF:
		text_add(t, "the backend failed %u time%s, retry in ", d->failures,
			 d->failures == 1 ? "" : "s");
		text_until(t, d);
		break;
	default:
		break;
	}
}

static void explain_hold(struct text *t, const struct policy_decision *d)
{
	text_add(t, "hold at %llu MiB: ", mib(d->current_bytes));
	switch (d->reason) {
	case POLICY_R_STEADY:
		if (d->hold_until_usec > d->now_usec) {
			text_add(t, "settling in, no shrink for another ");
			text_until(t, d);
		} else if (d->surplus_bytes > 0) {
			text_add(t, "surplus of %llu MiB is less than one block", mib(d->surplus_bytes));
		} else {
			text_add(t, "steady, available %llu MiB, headroom target %llu MiB",
				 mib(d->available_bytes), mib(d->headroom_target_bytes));
		}
		break;
	case POLICY_R_AT_MAX:
		text_add(t, "at maximum (%llu MiB)", mib(d->max_bytes));
		break;
	case POLICY_R_AT_MIN:
		text_add(t, "at minimum (%llu MiB)", mib(d->min_bytes));
		break;
	case POLICY_R_BACKEND_BUSY:
		text_add(t, "a resize request is outstanding");
		break;
	case POLICY_R_NO_SURPLUS:
		text_add(t, "no surplus, available %llu MiB, headroom target %llu MiB",
			 mib(d->available_bytes), mib(d->headroom_target_bytes));
		break;
	case POLICY_R_NOT_RELEASABLE:
		text_add(t, "%llu MiB surplus but no memory block can be offlined (zone Normal holds it)",
			 mib(d->surplus_bytes));
		break;
	case POLICY_R_RECLAIMING:
		text_add(t, "page-cache trim in progress");
		break;
	case POLICY_R_HOST_RECLAIM_UNSAFE:
		text_add(t, "the host asks for %llu MiB but shrinking is unsafe: ",
			 mib(d->host_target_bytes));
		if (d->hold_until_usec > d->now_usec) {
			text_add(t, "pressure ");
			text_ago(t, d, d->last_pressure_usec);
		} else {
			text_add(t, "it would leave less than the %llu MiB headroom target",
				 mib(d->headroom_target_bytes));
		}
		break;
	default:
		explain_hold_wait(t, d);
		break;
	}
	/* A hold while a grow is wanted says what it is holding back. */
	if (d->urgency > 1 || (d->signals & POLICY_SIG_LOW && d->reason != POLICY_R_NO_SURPLUS)) {
		if (d->signals & (POLICY_SIG_LOW | POLICY_SIG_FALLING | POLICY_SIG_TRIGGER |
				  POLICY_SIG_OOM_KILL | POLICY_SIG_ALLOCSTALL |
				  POLICY_SIG_FULL_AVG10 | POLICY_SIG_FULL_STALL)) {
			text_add(t, " although a grow is wanted (");
			text_signals(t, d, ~(uint32_t)(POLICY_SIG_SOME_HIGH | POLICY_SIG_REFAULTS));
			text_add(t, ")");
		}
	}
}

int policy_decision_explain(const struct policy_decision *d, char *buf, size_t len)
{
	struct text t = { .buf = buf, .len = len };

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	switch (d->action) {
	case POLICY_GROW:
		explain_grow(&t, d);
		break;
	case POLICY_SHRINK:
		explain_shrink(&t, d);
		break;
	case POLICY_RECLAIM:
		text_add(&t, "trim %llu MiB of cold page cache so that a shrink finds free memory",
			 mib(d->reclaim_bytes));
		break;
	case POLICY_RECLAIM_STOP:
		text_add(&t, "stop trimming page cache: pressure rising (");
		text_signals(&t, d, ~(uint32_t)POLICY_SIG_LOW);
		text_add(&t, ")");
		break;
	default:
		explain_hold(&t, d);
		break;
	}
	return t.full ? -ENOSPC : (int)t.pos;
}

/* A JSON string body: quotes, backslashes and control characters escaped. */
static void text_json_string(struct text *t, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			text_add(t, "\\%c", c);
		else if (c < 0x20)
			text_add(t, "\\u%04x", c);
		else
			text_add(t, "%c", c);
	}
}

int policy_decision_json(const struct policy_decision *d, char *buf, size_t len)
{
	struct text t = { .buf = buf, .len = len };
	char explain[512];

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	/* A cut-off sentence is still worth showing; JSON stays well formed. */
	(void)policy_decision_explain(d, explain, sizeof(explain));
	text_add(&t, "{\"action\":\"%s\",\"reason\":\"%s\",\"urgency\":%u,",
		 policy_action_name(d->action), policy_reason_name(d->reason), d->urgency);
	text_add(&t, "\"target_bytes\":%llu,\"current_bytes\":%llu,\"reclaim_bytes\":%llu,",
		 (unsigned long long)d->target_bytes, (unsigned long long)d->current_bytes,
		 (unsigned long long)d->reclaim_bytes);
	text_add(&t, "\"mem_total_bytes\":%llu,\"available_bytes\":%llu,\"headroom_target_bytes\":%llu,",
		 (unsigned long long)d->mem_total_bytes, (unsigned long long)d->available_bytes,
		 (unsigned long long)d->headroom_target_bytes);
	text_add(&t, "\"velocity_bytes_per_sec\":%lld,\"deficit_bytes\":%llu,\"surplus_bytes\":%llu,",
		 (long long)d->velocity_bytes_per_sec, (unsigned long long)d->deficit_bytes,
		 (unsigned long long)d->surplus_bytes);
	text_add(&t, "\"psi_some_avg10\":%u.%02u,\"psi_full_avg10\":%u.%02u,",
		 d->psi_some_avg10 / 100, d->psi_some_avg10 % 100,
		 d->psi_full_avg10 / 100, d->psi_full_avg10 % 100);
	text_add(&t, "\"escalation\":%u,\"pingpong_level\":%u,\"explain\":\"",
		 d->escalation, d->pingpong_level);
	text_json_string(&t, explain);
	text_add(&t, "\"}");
	return t.full ? -ENOSPC : (int)t.pos;
}
