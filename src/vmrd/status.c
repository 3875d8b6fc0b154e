/* SPDX-License-Identifier: MIT */
/*
 * What vmrctl shows: status (a table or JSON), why (the last decisions with
 * their reasons) and metrics (Prometheus text).  Rendered into the control
 * server's string builder, which bounds the answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common/strbuf.h"
#include "vmrd/daemon.h"

#define MIB(x) ((x) >> 20)

static void put_decision_json(struct strbuf *o, const struct policy_decision *dec)
{
	char js[2048];

	if (policy_decision_json(dec, js, sizeof(js)) < 0)
		snprintf(js, sizeof(js), "{\"action\":\"%s\",\"reason\":\"%s\"}",
			 policy_action_name(dec->action), policy_reason_name(dec->reason));
	strbuf_printf(o, "%s", js);
}

static void put_sample_json(struct strbuf *o, const struct daemon *d)
{
	const struct policy_input *in = &d->in;

	strbuf_printf(o,
	    "{\"mem_total_bytes\":%" PRIu64 ",\"mem_available_bytes\":%" PRIu64
	    ",\"mem_free_bytes\":%" PRIu64 ",\"file_cache_bytes\":%" PRIu64 ",\"swap_total_bytes\":%" PRIu64
	    ",\"swap_free_bytes\":%" PRIu64 ",\"psi\":%s,\"psi_some_avg10\":%u.%02u,\"psi_some_avg60\":%u.%02u"
	    ",\"psi_full_avg10\":%u.%02u,\"oom_kill\":%" PRIu64 ",\"allocstall\":%" PRIu64
	    ",\"refault_file\":%" PRIu64 ",\"current_bytes\":%" PRIu64 ",\"min_bytes\":%" PRIu64
	    ",\"max_bytes\":%" PRIu64 ",\"block_bytes\":%" PRIu64 "}",
	    in->mem_total_bytes, in->mem_available_bytes, in->mem_free_bytes, in->file_cache_bytes,
	    in->swap_total_bytes, in->swap_free_bytes, in->psi_available ? "true" : "false",
	    in->psi_some_avg10 / 100, in->psi_some_avg10 % 100, in->psi_some_avg60 / 100,
	    in->psi_some_avg60 % 100, in->psi_full_avg10 / 100, in->psi_full_avg10 % 100, in->oom_kill,
	    in->allocstall, in->refault_file, in->current_bytes, in->min_bytes,
	    in->max_bytes == UINT64_MAX ? 0 : in->max_bytes, in->block_bytes);
}

void status_decision_json(const struct daemon *d, struct strbuf *o)
{
	strbuf_printf(o, "{\"decision\":");
	put_decision_json(o, &d->last);
	strbuf_printf(o, ",\"sample\":");
	put_sample_json(o, d);
	strbuf_printf(o, "}\n");
}

static void status_json(struct strbuf *o, struct daemon *d)
{
	uint64_t now = clock_now_usec();

	strbuf_printf(o, "{\"backend\":\"%s\",\"backend_up\":%s,\"dry_run\":%s,\"uptime_sec\":%" PRIu64
	       ",\"request_pending\":%s,\"reclaim_busy\":%s,\"sample\":",
	    d->cfg.backend, d->backend.up ? "true" : "false", d->dry_run ? "true" : "false",
	    (now - d->started_usec) / 1000000, d->backend.pending ? "true" : "false",
	    reclaim_busy(&d->rc) ? "true" : "false");
	put_sample_json(o, d);
	strbuf_printf(o, ",\"last_decision\":");
	put_decision_json(o, &d->last);
	strbuf_printf(o, "}\n");
}

static void status_table(struct strbuf *o, struct daemon *d)
{
	const struct policy_input *in = &d->in;
	char why[256];

	policy_decision_explain(&d->last, why, sizeof(why));
	strbuf_printf(o, "backend      %s (%s)%s\n", d->cfg.backend, d->backend.up ? "up" : "down",
	    d->dry_run ? ", dry run" : "");
	strbuf_printf(o, "size         %" PRIu64 " MiB  (min %" PRIu64 ", max ", MIB(in->current_bytes),
	    MIB(in->min_bytes));
	if (in->max_bytes == UINT64_MAX)
		strbuf_printf(o, "-");
	else
		strbuf_printf(o, "%" PRIu64, MIB(in->max_bytes));
	strbuf_printf(o, ", block %" PRIu64 " MiB)\n", MIB(in->block_bytes));
	strbuf_printf(o, "MemTotal     %" PRIu64 " MiB\n", MIB(in->mem_total_bytes));
	strbuf_printf(o, "MemAvailable %" PRIu64 " MiB  (target %" PRIu64 " MiB)\n", MIB(in->mem_available_bytes),
	    MIB(d->last.headroom_target_bytes));
	strbuf_printf(o, "file cache   %" PRIu64 " MiB\n", MIB(in->file_cache_bytes));
	if (in->psi_available)
		strbuf_printf(o, "PSI          some %u.%02u%% (avg60 %u.%02u%%), full %u.%02u%%\n",
		    in->psi_some_avg10 / 100, in->psi_some_avg10 % 100, in->psi_some_avg60 / 100,
		    in->psi_some_avg60 % 100, in->psi_full_avg10 / 100, in->psi_full_avg10 % 100);
	else
		strbuf_printf(o, "PSI          unavailable\n");
	strbuf_printf(o, "decision     %s (%s)%s\n", policy_action_name(d->last.action),
	    policy_reason_name(d->last.reason), d->backend.pending ? ", request pending" : "");
	strbuf_printf(o, "why          %s\n", why);
	strbuf_printf(o, "grows        %" PRIu64 " (+%" PRIu64 " MiB), shrinks %" PRIu64 " (-%" PRIu64
	       " MiB), trims %" PRIu64 " (%" PRIu64 " MiB)\n",
	    d->m.grows, MIB(d->m.grown_bytes), d->m.shrinks, MIB(d->m.shrunk_bytes), d->m.reclaims,
	    MIB(d->m.reclaimed_bytes));
}

static void why(struct strbuf *o, struct daemon *d, bool json)
{
	uint64_t now = clock_now_usec();
	char text[256];

	if (json)
		strbuf_printf(o, "[");
	for (uint32_t i = 0; i < d->log_len; i++) {
		const struct policy_decision *dec = &d->log[(d->log_head + i) % DECISION_LOG];

		if (json) {
			strbuf_printf(o, "%s", i ? ",\n" : "");
			put_decision_json(o, dec);
			continue;
		}
		policy_decision_explain(dec, text, sizeof(text));
		strbuf_printf(o, "%6" PRIu64 "s ago  %-7s %-18s %6" PRIu64 " -> %6" PRIu64 " MiB  %s\n",
		    (now - dec->now_usec) / 1000000, policy_action_name(dec->action),
		    policy_reason_name(dec->reason), MIB(dec->current_bytes), MIB(dec->target_bytes), text);
	}
	if (json)
		strbuf_printf(o, "]\n");
	else if (d->log_len == 0)
		strbuf_printf(o, "no decisions yet\n");
}

static void metric(struct strbuf *o, const char *name, const char *type, const char *help, uint64_t v)
{
	strbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n", name, help, name, type, name, v);
}

static void metrics(struct strbuf *o, struct daemon *d)
{
	const struct policy_input *in = &d->in;
	struct rusage ru;

	metric(o, "vmrd_mem_total_bytes", "gauge", "MemTotal of the guest.", in->mem_total_bytes);
	metric(o, "vmrd_mem_available_bytes", "gauge", "MemAvailable of the guest.", in->mem_available_bytes);
	metric(o, "vmrd_file_cache_bytes", "gauge", "Active and inactive file pages.", in->file_cache_bytes);
	metric(o, "vmrd_current_bytes", "gauge", "Total memory as the backend accounts it.", in->current_bytes);
	metric(o, "vmrd_headroom_target_bytes", "gauge", "Available memory vmrd aims for.",
	       d->last.headroom_target_bytes);
	strbuf_printf(o, "# HELP vmrd_psi_some_avg10 PSI some avg10, percent.\n# TYPE vmrd_psi_some_avg10 gauge\n"
	       "vmrd_psi_some_avg10 %u.%02u\n", in->psi_some_avg10 / 100, in->psi_some_avg10 % 100);
	strbuf_printf(o, "# HELP vmrd_psi_full_avg10 PSI full avg10, percent.\n# TYPE vmrd_psi_full_avg10 gauge\n"
	       "vmrd_psi_full_avg10 %u.%02u\n", in->psi_full_avg10 / 100, in->psi_full_avg10 % 100);
	metric(o, "vmrd_backend_up", "gauge", "1 when the backend is open.", d->backend.up);
	metric(o, "vmrd_evaluations_total", "counter", "Policy evaluations.", d->m.evaluations);
	metric(o, "vmrd_psi_events_total", "counter", "PSI trigger events.", d->m.psi_events);
	metric(o, "vmrd_grows_total", "counter", "Grow requests sent.", d->m.grows);
	metric(o, "vmrd_shrinks_total", "counter", "Shrink requests sent.", d->m.shrinks);
	metric(o, "vmrd_grown_bytes_total", "counter", "Bytes asked for by grows.", d->m.grown_bytes);
	metric(o, "vmrd_shrunk_bytes_total", "counter", "Bytes given back by shrinks.", d->m.shrunk_bytes);
	metric(o, "vmrd_backend_failures_total", "counter", "Failed backend requests.", d->backend.stats.failures);
	metric(o, "vmrd_reclaims_total", "counter", "Page-cache trims started.", d->m.reclaims);
	metric(o, "vmrd_reclaimed_bytes_total", "counter", "Page cache trimmed.", d->m.reclaimed_bytes);
	metric(o, "vmrd_reclaim_aborts_total", "counter", "Trims stopped because pressure rose.",
	       d->m.reclaim_aborts);
	metric(o, "vmrd_grow_latency_last_usec", "gauge", "Request to completion of the last grow.",
	       d->backend.stats.grow_latency_usec_last);
	metric(o, "vmrd_grow_latency_usec_sum", "counter", "Sum of grow latencies.", d->backend.stats.grow_latency_usec_sum);
	metric(o, "vmrd_grow_latency_count", "counter", "Grows with a measured latency.", d->backend.stats.grow_latency_count);
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		metric(o, "vmrd_cpu_usec_total", "counter", "CPU time the daemon used.",
		       (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
			       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
		metric(o, "vmrd_max_resident_bytes", "gauge", "Peak resident memory of the daemon.",
		       (uint64_t)ru.ru_maxrss * 1024);
	}
	strbuf_printf(o, "# HELP vmrd_decision The last decision.\n# TYPE vmrd_decision gauge\n"
	       "vmrd_decision{action=\"%s\",reason=\"%s\"} 1\n",
	    policy_action_name(d->last.action), policy_reason_name(d->last.reason));
}

int status_render(struct daemon *d, const char *cmd, struct strbuf *o)
{
	if (strcmp(cmd, "status") == 0)
		status_table(o, d);
	else if (strcmp(cmd, "status json") == 0)
		status_json(o, d);
	else if (strcmp(cmd, "why") == 0)
		why(o, d, false);
	else if (strcmp(cmd, "why json") == 0)
		why(o, d, true);
	else if (strcmp(cmd, "metrics") == 0)
		metrics(o, d);
	else
		return -EINVAL;
	return 0;
}
