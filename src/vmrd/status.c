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

#include "common/prom.h"
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
	strbuf_printf(o, "file cache   %" PRIu64 " MiB  (%" PRIu64 " MiB kept as refaulted)\n",
	    MIB(in->file_cache_bytes), MIB(d->last.protected_cache_bytes));
	if (d->zones_available)
		strbuf_printf(o, "zones        kernel %" PRIu64 " MiB (%" PRIu64 " MiB available, target %" PRIu64
		    " MiB), movable %" PRIu64 " MiB (%" PRIu64 " MiB free)\n",
		    MIB(d->zi.kernel.managed_bytes), MIB(d->last.kernel_available_bytes),
		    MIB(d->last.kernel_headroom_bytes), MIB(d->zi.movable.managed_bytes),
		    MIB(d->zi.movable.free_bytes));
	strbuf_printf(o, "placement    %s\n",
	    d->steer.kernel_growth == POLICY_KGROW_YES ? "kernel-zone grows possible" :
	    "kernel-zone grows not possible (see the log)");
	if (in->psi_available)
		strbuf_printf(o, "PSI          some %u.%02u%% (avg60 %u.%02u%%), full %u.%02u%%\n",
		    in->psi_some_avg10 / 100, in->psi_some_avg10 % 100, in->psi_some_avg60 / 100,
		    in->psi_some_avg60 % 100, in->psi_full_avg10 / 100, in->psi_full_avg10 % 100);
	else
		strbuf_printf(o, "PSI          unavailable\n");
	strbuf_printf(o, "decision     %s (%s)%s\n", policy_action_name(d->last.action),
	    policy_reason_name(d->last.reason), d->backend.pending ? ", request pending" : "");
	strbuf_printf(o, "why          %s\n", why);
	strbuf_printf(o, "grows        %" PRIu64 " (+%" PRIu64 " MiB, %" PRIu64 " into the kernel zones), shrinks %"
	       PRIu64 " (-%" PRIu64 " MiB), trims %" PRIu64 " (%" PRIu64 " MiB)\n",
	    d->m.grows, MIB(d->m.grown_bytes), d->m.kernel_grows, d->m.shrinks, MIB(d->m.shrunk_bytes),
	    d->m.reclaims, MIB(d->m.reclaimed_bytes));
	strbuf_printf(o, "overshoot    %" PRIu64 " MiB in the last episode\n", MIB(d->last.overshoot_bytes));
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

#define GAUGE(name, help, dec, v) { { name, "gauge", help, dec }, v }
#define COUNTER(name, help, dec, v) { { name, "counter", help, dec }, v }

/* The zones as the policy folds them; only when /proc/zoneinfo could be read. */
static void zone_metrics(struct strbuf *o, const struct policy_input *in)
{
	static const struct prom_metric free_m = { "vmrd_zone_free_bytes", "gauge",
		"Free memory in the kernel zones (DMA, DMA32, Normal) and in ZONE_MOVABLE.", PROM_UNIT };
	static const struct prom_metric managed_m = { "vmrd_zone_managed_bytes", "gauge",
		"Memory the page allocator manages in the kernel zones and in ZONE_MOVABLE.", PROM_UNIT };

	if (!in->zones_available)
		return;
	prom_head(o, &free_m);
	prom_sample(o, &free_m, NULL, "zone=\"kernel\"", in->kernel_free_bytes);
	prom_sample(o, &free_m, NULL, "zone=\"movable\"", in->movable_free_bytes);
	prom_head(o, &managed_m);
	prom_sample(o, &managed_m, NULL, "zone=\"kernel\"", in->kernel_managed_bytes);
	prom_sample(o, &managed_m, NULL, "zone=\"movable\"", in->movable_managed_bytes);
}

static void process_metrics(struct strbuf *o)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	const struct prom_value t[] = {
		COUNTER("vmrd_cpu_seconds_total", "CPU time the daemon used.", PROM_USEC,
			(uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				(uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)),
		GAUGE("vmrd_max_resident_bytes", "Peak resident memory of the daemon.", PROM_UNIT,
		      (uint64_t)ru.ru_maxrss * 1024),
	};

	prom_values(o, t, sizeof(t) / sizeof(t[0]));
}

static void metrics(struct strbuf *o, struct daemon *d)
{
	static const struct prom_metric latency = { "vmrd_grow_latency_seconds", "summary",
		"Time from a grow request to its completion.", PROM_USEC };
	static const struct prom_metric max = { "vmrd_max_bytes", "gauge",
		"Largest size the backend allows (absent when it sets none).", PROM_UNIT };
	static const struct prom_metric decision = { "vmrd_decision", "gauge",
		"The last decision, as labels (value always 1).", PROM_UNIT };
	const struct policy_input *in = &d->in;
	const struct daemon_metrics *m = &d->m;
	const struct daemon_backend_stats *bs = &d->backend.stats;
	const struct prom_value t[] = {
		GAUGE("vmrd_mem_total_bytes", "MemTotal of the guest.", PROM_UNIT, in->mem_total_bytes),
		GAUGE("vmrd_mem_available_bytes", "MemAvailable of the guest.", PROM_UNIT,
		      in->mem_available_bytes),
		GAUGE("vmrd_file_cache_bytes", "Active and inactive file pages.", PROM_UNIT,
		      in->file_cache_bytes),
		GAUGE("vmrd_unmovable_bytes", "Memory only the kernel zones can hold (SUnreclaim, "
		      "page tables, kernel stacks, Buffers).", PROM_UNIT, in->unmovable_bytes),
		GAUGE("vmrd_current_bytes", "Total memory as the backend accounts it.", PROM_UNIT,
		      in->current_bytes),
		GAUGE("vmrd_min_bytes", "Smallest size the backend allows.", PROM_UNIT, in->min_bytes),
		GAUGE("vmrd_headroom_target_bytes", "Available memory vmrd aims for.", PROM_UNIT,
		      d->last.headroom_target_bytes),
		GAUGE("vmrd_kernel_zone_available_bytes", "What the kernel zones can give to kernel "
		      "allocations (their own slab and buffers not counted).", PROM_UNIT,
		      d->last.kernel_available_bytes),
		GAUGE("vmrd_protected_cache_bytes", "Refaulted file cache counted as demand.", PROM_UNIT,
		      d->last.protected_cache_bytes),
		GAUGE("vmrd_overshoot_bytes", "Peak MemTotal above peak demand and headroom in the "
		      "last finished episode.", PROM_UNIT, d->last.overshoot_bytes),
		GAUGE("vmrd_psi_some_avg10_ratio", "Memory PSI some avg10 (0.05 is 5 %).",
		      PROM_CENTI_PERCENT, in->psi_some_avg10),
		GAUGE("vmrd_psi_some_avg60_ratio", "Memory PSI some avg60.", PROM_CENTI_PERCENT,
		      in->psi_some_avg60),
		GAUGE("vmrd_psi_full_avg10_ratio", "Memory PSI full avg10.", PROM_CENTI_PERCENT,
		      in->psi_full_avg10),
		GAUGE("vmrd_backend_up", "1 when the backend is open.", PROM_UNIT, d->backend.up),
		GAUGE("vmrd_request_pending", "1 while a request to the backend is outstanding.",
		      PROM_UNIT, d->backend.pending),
		COUNTER("vmrd_evaluations_total", "Policy evaluations.", PROM_UNIT, m->evaluations),
		COUNTER("vmrd_psi_events_total", "PSI trigger events.", PROM_UNIT, m->psi_events),
		COUNTER("vmrd_grows_total", "Grow requests sent.", PROM_UNIT, m->grows),
		COUNTER("vmrd_shrinks_total", "Shrink requests sent.", PROM_UNIT, m->shrinks),
		COUNTER("vmrd_grown_bytes_total", "Bytes asked for by grows.", PROM_UNIT, m->grown_bytes),
		COUNTER("vmrd_shrunk_bytes_total", "Bytes given back by shrinks.", PROM_UNIT,
			m->shrunk_bytes),
		COUNTER("vmrd_kernel_grows_total", "Grows for the kernel zones.", PROM_UNIT,
			m->kernel_grows),
		COUNTER("vmrd_kernel_grown_bytes_total", "Bytes asked for by kernel-zone grows.",
			PROM_UNIT, m->kernel_grown_bytes),
		COUNTER("vmrd_cant_help_total", "Decisions that growth could not help.", PROM_UNIT,
			m->cant_help),
		COUNTER("vmrd_backend_failures_total", "Failed backend requests.", PROM_UNIT,
			bs->failures),
		COUNTER("vmrd_backend_denies_total", "Requests the provider held, with a retry hint.",
			PROM_UNIT, bs->denies),
		COUNTER("vmrd_reclaims_total", "Page-cache trims started.", PROM_UNIT, m->reclaims),
		COUNTER("vmrd_reclaimed_bytes_total", "Page cache trimmed.", PROM_UNIT,
			m->reclaimed_bytes),
		COUNTER("vmrd_reclaim_aborts_total", "Trims stopped because pressure rose.", PROM_UNIT,
			m->reclaim_aborts),
		COUNTER("vmrd_reclaim_seconds_total", "Time spent trimming page cache.", PROM_USEC,
			m->reclaim_usec),
		GAUGE("vmrd_grow_latency_last_seconds", "Request to completion of the last grow.",
		      PROM_USEC, bs->grow_latency_usec_last),
	};
	char labels[128];

	prom_values(o, t, sizeof(t) / sizeof(t[0]));
	if (in->max_bytes != UINT64_MAX)
		prom_metric(o, &max, in->max_bytes);
	prom_head(o, &latency);
	prom_sample(o, &latency, "_sum", NULL, bs->grow_latency_usec_sum);
	/* A count has no unit: printed as the integer it is. */
	strbuf_printf(o, "%s_count %" PRIu64 "\n", latency.name, bs->grow_latency_count);
	zone_metrics(o, in);
	process_metrics(o);
	prom_head(o, &decision);
	snprintf(labels, sizeof(labels), "action=\"%s\",reason=\"%s\"",
		 policy_action_name(d->last.action), policy_reason_name(d->last.reason));
	prom_sample(o, &decision, NULL, labels, 1);
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
