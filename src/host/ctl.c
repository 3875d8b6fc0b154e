/* SPDX-License-Identifier: MIT */
#include "host/ctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"
#include "common/strbuf.h"

/* vm="NAME" */
#define CTL_LABEL_MAX 64

static unsigned long long mib(uint64_t v)
{
	return (unsigned long long)(v >> 20);
}

/* The statement after it runs for every shown VM row, in row. */
#define FOR_EACH_VM(src, row, i) \
	for (size_t i = 0; (src)->vm((src)->ctx, i, &(row)); i++) \
		if (!(row).hidden)

/* What the VM is being asked to give back: "1024/host_pressure", or "-". */
static void asked_text(const struct ctl_vm *v, char *buf, size_t size)
{
	if (v->reclaim_bytes)
		snprintf(buf, size, "%llu/%s", mib(v->reclaim_bytes), v->reclaim_reason);
	else
		snprintf(buf, size, "-");
}

/* "gave up 256 MiB (balloon 256), host got back 184 MiB (balloon 184)" */
static void giveback_text(struct strbuf *o, const struct ctl_vm *v)
{
	strbuf_printf(o, "gave up %llu MiB (virtio-mem %llu, balloon %llu), host got back %llu MiB "
		      "(virtio-mem %llu, balloon %llu)",
		      mib(v->vmem_gave_up_bytes + v->balloon_gave_up_bytes), mib(v->vmem_gave_up_bytes),
		      mib(v->balloon_gave_up_bytes), mib(v->vmem_got_back_bytes + v->balloon_got_back_bytes),
		      mib(v->vmem_got_back_bytes), mib(v->balloon_got_back_bytes));
}

void ctl_status_text(const struct ctl_source *src, struct strbuf *o)
{
	struct ctl_host h;
	struct ctl_vm v;

	src->host(src->ctx, &h);
	strbuf_printf(o, "budget %llu MiB (%s, %s): guest sizes %llu MiB, charged %llu MiB (QEMU RSS "
		      "%llu MiB), targets %llu MiB, free %llu MiB, host psi some %u.%02u%%%s%s\n",
		      mib(h.budget_bytes), h.budget_source, h.budget_mode, mib(h.size_budget_bytes),
		      mib(h.charged_bytes), mib(h.sum_rss_bytes), mib(h.sum_target_bytes),
		      mib(h.free_bytes), h.host_psi_some_centi / 100, h.host_psi_some_centi % 100,
		      h.host_pressure ? ", HOST PRESSURE" : "", h.dry_run ? ", dry run" : "");
	if (h.reader && h.reader_pid >= 0)
		strbuf_printf(o, "guest reader: pid %d, restarts %llu\n", h.reader_pid,
			      (unsigned long long)h.reader_restarts);
	else if (h.reader)
		strbuf_printf(o, "guest reader: DOWN, being restarted, restarts %llu\n",
			      (unsigned long long)h.reader_restarts);
	strbuf_printf(o, "%-16s %-6s %-7s %7s %7s %7s %8s %7s %7s %6s %7s %-22s %7s %s\n", "NAME",
		      "QMP", "GUEST", "SIZE", "TARGET", "RSS", "OVERHEAD", "MIN", "MAX", "WEIGHT",
		      "FAIR", "ASKED", "PSI", "REASON");
	FOR_EACH_VM(src, v, i) {
		uint32_t psi = v.report_valid ? v.psi_some_centi : 0;
		char asked[48];

		asked_text(&v, asked, sizeof(asked));
		strbuf_printf(o, "%-16s %-6s %-7s %7llu %7llu %7llu %8llu %7llu %7llu %6u %7llu %-22s "
			      "%4u.%02u %s\n",
			      v.name, v.link, v.hello ? "hello" : v.channel ? "open" : "down",
			      mib(v.current_bytes), mib(v.target_bytes), mib(v.rss_bytes),
			      mib(v.overhead_bytes), mib(v.min_bytes), mib(v.max_bytes), v.weight,
			      mib(v.entitlement_bytes), asked, psi / 100, psi % 100, v.last_reason);
	}
	FOR_EACH_VM(src, v, i) {
		if (v.vmem_gave_up_bytes + v.balloon_gave_up_bytes == 0)
			continue;
		strbuf_printf(o, "%s: ", v.name);
		giveback_text(o, &v);
		strbuf_printf(o, "\n");
	}
	strbuf_printf(o, "(sizes in MiB; SIZE as QEMU reports it; RSS what the QEMU process holds, "
			 "OVERHEAD the part beyond its guest; FAIR the weighted share; ASKED the last "
			 "reclaim ask; PSI the guest's some avg10)\n");
}

static json_t *vm_json(const struct ctl_vm *v)
{
	/* json_pack keeps this order; the order is part of the stable format. */
	return json_pack(
		"{s:s, s:s, s:I, s:s, s:b, s:b, s:b, s:s,"
		" s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
		"name", v->name, "qmp", v->link, "qmp_connects", (json_int_t)v->link_connects,
		"qmp_error", v->link_error, "reconciled", v->reconciled, "channel", v->channel,
		"hello", v->hello, "agent", v->agent,
		"current_bytes", (json_int_t)v->current_bytes,
		"target_bytes", (json_int_t)v->target_bytes,
		"requested_bytes", (json_int_t)v->requested_bytes,
		"granted_bytes", (json_int_t)v->granted_bytes,
		"min_bytes", (json_int_t)v->min_bytes, "max_bytes", (json_int_t)v->max_bytes,
		"weight", (json_int_t)v->weight, "boot_bytes", (json_int_t)v->boot_bytes,
		"virtio_mem_requested_bytes", (json_int_t)v->vmem_requested_bytes,
		"balloon_target_bytes", (json_int_t)v->balloon_target_bytes,
		"psi_some_avg10_centi", (json_int_t)(v->report_valid ? v->psi_some_centi : 0),
		"psi_full_avg10_centi", (json_int_t)(v->report_valid ? v->psi_full_centi : 0),
		"mem_available_bytes", (json_int_t)(v->report_valid ? v->mem_available_bytes : 0),
		"non_converging", v->non_converging, "last_reason", v->last_reason,
		"grants", (json_int_t)v->grants, "denies", (json_int_t)v->denies,
		"reclaims", (json_int_t)v->reclaims, "lines", (json_int_t)v->lines,
		"errors", (json_int_t)v->errors, "kicks", (json_int_t)v->kicks);
}

/* The keys added by issue 9, after the older ones (the order is part of the format). */
static json_t *vm_json_footprint(const struct ctl_vm *v)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
			 "applied_bytes", (json_int_t)v->applied_bytes,
			 "rss_bytes", (json_int_t)v->rss_bytes,
			 "overhead_bytes", (json_int_t)v->overhead_bytes,
			 "accounted_bytes", (json_int_t)v->accounted_bytes,
			 "entitlement_bytes", (json_int_t)v->entitlement_bytes,
			 "reclaim_bytes", (json_int_t)v->reclaim_bytes,
			 "reclaim_reason", v->reclaim_reason);
}

/* The keys added by issue 12. */
static json_t *vm_json_giveback(const struct ctl_vm *v)
{
	return json_pack("{s:I, s:I, s:I, s:I}",
			 "gave_up_virtio_mem_bytes", (json_int_t)v->vmem_gave_up_bytes,
			 "got_back_virtio_mem_bytes", (json_int_t)v->vmem_got_back_bytes,
			 "gave_up_balloon_bytes", (json_int_t)v->balloon_gave_up_bytes,
			 "got_back_balloon_bytes", (json_int_t)v->balloon_got_back_bytes);
}

/* row with the keys of more appended (jansson keeps the order of insertion); takes both. */
static json_t *with_more(json_t *row, json_t *more)
{
	if (row && more)
		json_object_update(row, more);
	json_decref(more);
	return row;
}

/* root as one compact line, and root released; -ENOMEM if it could not be built. */
static int put_json(struct strbuf *o, json_t *root)
{
	char *text;

	if (!root)
		return -ENOMEM;
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return -ENOMEM;
	strbuf_printf(o, "%s\n", text);
	free(text);
	return 0;
}

int ctl_status_json(const struct ctl_source *src, struct strbuf *o)
{
	json_t *vms = json_array();
	json_t *root;
	struct ctl_host h;
	struct ctl_vm v;

	src->host(src->ctx, &h);
	FOR_EACH_VM(src, v, i)
		json_array_append_new(vms, with_more(with_more(with_more(vm_json(&v), vm_json_footprint(&v)),
							       json_pack("{s:I, s:I}", "hypervisor_commands",
									 (json_int_t)v.commands, "throttled",
									 (json_int_t)v.throttled)),
						     vm_json_giveback(&v)));
	root = json_pack("{s:i, s:b, s:I, s:I, s:b, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:o}",
			 "version", 1, "dry_run", h.dry_run, "uptime_usec", (json_int_t)h.uptime_usec,
			 "budget_bytes", (json_int_t)h.budget_bytes, "budget_auto", h.budget_auto,
			 "reserve_bytes", (json_int_t)h.reserve_bytes,
			 "sum_target_bytes", (json_int_t)h.sum_target_bytes,
			 "free_bytes", (json_int_t)h.free_bytes, "host_pressure", h.host_pressure,
			 "host_psi_some_avg10_centi", (json_int_t)h.host_psi_some_centi,
			 "host_psi_full_avg10_centi", (json_int_t)h.host_psi_full_centi,
			 "host_available_bytes", (json_int_t)h.host_available_bytes,
			 "evaluations", (json_int_t)h.evaluations, "reloads", (json_int_t)h.reloads,
			 "vms", vms);
	root = with_more(root, json_pack("{s:s, s:s, s:I, s:I, s:I}", "budget_source", h.budget_source,
					 "budget_mode", h.budget_mode,
					 "size_budget_bytes", (json_int_t)h.size_budget_bytes,
					 "charged_bytes", (json_int_t)h.charged_bytes,
					 "sum_rss_bytes", (json_int_t)h.sum_rss_bytes));
	if (h.reader)
		root = with_more(root, json_pack("{s:{s:i, s:I, s:I}}", "guest_reader",
						 "pid", h.reader_pid,
						 "restarts", (json_int_t)h.reader_restarts,
						 "bad_records", (json_int_t)h.reader_bad_records));
	return put_json(o, root);
}

/* ---- metrics (Prometheus text, through common/prom) ---- */

/* A per-VM metric: a uint64_t field of struct ctl_vm, or a function for the others. */
struct vm_metric {
	struct prom_metric m;
	size_t off;
	uint64_t (*get)(const struct ctl_vm *v);
};

static uint64_t vm_weight(const struct ctl_vm *v) { return v->weight; }
static uint64_t vm_psi_some(const struct ctl_vm *v) { return v->report_valid ? v->psi_some_centi : 0; }
static uint64_t vm_psi_full(const struct ctl_vm *v) { return v->report_valid ? v->psi_full_centi : 0; }
static uint64_t vm_available(const struct ctl_vm *v) { return v->report_valid ? v->mem_available_bytes : 0; }
static uint64_t vm_qmp_up(const struct ctl_vm *v) { return strcmp(v->link, "ready") == 0; }
static uint64_t vm_guest_up(const struct ctl_vm *v) { return v->hello; }
static uint64_t vm_connects(const struct ctl_vm *v) { return v->link_connects; }

#define VM_FIELD(name, type, help, field) \
	{ { name, type, help, PROM_UNIT }, offsetof(struct ctl_vm, field), NULL }
#define VM_FN(name, type, help, decimals, fn) { { name, type, help, decimals }, 0, fn }

static const struct vm_metric vm_metrics[] = {
	VM_FIELD("vmrd_host_vm_current_bytes", "gauge", "VM size as QEMU reports it.", current_bytes),
	VM_FIELD("vmrd_host_vm_target_bytes", "gauge", "VM size the host asks QEMU for.", target_bytes),
	VM_FIELD("vmrd_host_vm_requested_bytes", "gauge", "Size in the guest's last request.",
		 requested_bytes),
	VM_FIELD("vmrd_host_vm_granted_bytes", "gauge", "Size in the last grant.", granted_bytes),
	VM_FIELD("vmrd_host_vm_min_bytes", "gauge", "Configured minimum size.", min_bytes),
	VM_FIELD("vmrd_host_vm_max_bytes", "gauge", "Configured maximum size.", max_bytes),
	VM_FN("vmrd_host_vm_weight", "gauge", "Configured weight.", PROM_UNIT, vm_weight),
	VM_FN("vmrd_host_vm_psi_some_avg10_ratio", "gauge",
	      "Guest memory PSI some avg10 as the guest reports it (0.05 is 5 %).", PROM_CENTI_PERCENT,
	      vm_psi_some),
	VM_FN("vmrd_host_vm_psi_full_avg10_ratio", "gauge",
	      "Guest memory PSI full avg10 as the guest reports it.", PROM_CENTI_PERCENT, vm_psi_full),
	VM_FN("vmrd_host_vm_mem_available_bytes", "gauge", "MemAvailable as the guest reports it.",
	      PROM_UNIT, vm_available),
	VM_FN("vmrd_host_vm_qmp_up", "gauge", "1 when the QMP connection is ready.", PROM_UNIT, vm_qmp_up),
	VM_FN("vmrd_host_vm_guest_up", "gauge", "1 when the guest agent said hello.", PROM_UNIT,
	      vm_guest_up),
	VM_FN("vmrd_host_vm_qmp_connects_total", "counter", "QMP connections made.", PROM_UNIT,
	      vm_connects),
	VM_FIELD("vmrd_host_vm_grants_total", "counter", "Grants sent.", grants),
	VM_FIELD("vmrd_host_vm_denies_total", "counter", "Denies sent.", denies),
	VM_FIELD("vmrd_host_vm_reclaims_total", "counter", "Reclaim asks sent.", reclaims),
	VM_FIELD("vmrd_host_vm_lines_total", "counter", "Lines received from the guest.", lines),
	VM_FIELD("vmrd_host_vm_errors_total", "counter", "Bad lines received from the guest.", errors),
	VM_FIELD("vmrd_host_vm_kicks_total", "counter", "Disconnects of the guest for misbehaviour.",
		 kicks),
	VM_FIELD("vmrd_host_vm_rss_bytes", "gauge", "What the VM's QEMU process holds (0: not measured).",
		 rss_bytes),
	VM_FIELD("vmrd_host_vm_overhead_bytes", "gauge",
		 "QEMU's memory beyond the guest, as the budget counts it.", overhead_bytes),
	VM_FIELD("vmrd_host_vm_accounted_bytes", "gauge",
		 "Size counted against the budget: max(target, applied, current).", accounted_bytes),
	VM_FIELD("vmrd_host_vm_entitlement_bytes", "gauge", "The VM's weighted share of the budget.",
		 entitlement_bytes),
	VM_FIELD("vmrd_host_vm_applied_bytes", "gauge", "Size QEMU confirmed as its target.",
		 applied_bytes),
};

static uint64_t vm_metric(const struct vm_metric *m, const struct ctl_vm *v)
{
	return m->get ? m->get(v) : *(const uint64_t *)((const char *)v + m->off);
}

/* The give-back counters: one sample per VM and mechanism. */
static const struct {
	struct prom_metric m;
	size_t off[2];               /* virtio-mem, balloon */
} giveback_families[] = {
	{ { "vmrd_host_vm_gave_up_bytes_total", "counter",
	    "Memory the guest gave up, by mechanism (virtio-mem unplugged, balloon inflated).",
	    PROM_UNIT },
	  { offsetof(struct ctl_vm, vmem_gave_up_bytes), offsetof(struct ctl_vm, balloon_gave_up_bytes) } },
	{ { "vmrd_host_vm_got_back_bytes_total", "counter",
	    "The fall of the VM's QEMU RSS the host observed for what the guest gave up, by mechanism.",
	    PROM_UNIT },
	  { offsetof(struct ctl_vm, vmem_got_back_bytes), offsetof(struct ctl_vm, balloon_got_back_bytes) } },
};

static void giveback_metrics(const struct ctl_source *src, struct strbuf *o)
{
	static const char *const mech[2] = { "virtio-mem", "balloon" };
	char label[CTL_LABEL_MAX + 32];
	struct ctl_vm v;

	for (size_t f = 0; f < sizeof(giveback_families) / sizeof(giveback_families[0]); f++) {
		prom_head(o, &giveback_families[f].m);
		FOR_EACH_VM(src, v, i)
			for (int k = 0; k < 2; k++) {
				snprintf(label, sizeof(label), "vm=\"%s\",mechanism=\"%s\"", v.name, mech[k]);
				prom_sample(o, &giveback_families[f].m, NULL, label,
					    *(const uint64_t *)((const char *)&v + giveback_families[f].off[k]));
			}
	}
}

void ctl_metrics(const struct ctl_source *src, struct strbuf *o)
{
	struct ctl_host h;
	struct ctl_vm v;
	char label[CTL_LABEL_MAX];

	src->host(src->ctx, &h);
	const struct prom_value g[] = {
		{ { "vmrd_host_budget_bytes", "gauge", "Memory all VMs may hold together.", PROM_UNIT },
		  h.budget_bytes },
		{ { "vmrd_host_targets_bytes", "gauge", "Sum of all VM targets.", PROM_UNIT },
		  h.sum_target_bytes },
		{ { "vmrd_host_free_bytes", "gauge", "Budget not accounted to any VM.", PROM_UNIT },
		  h.free_bytes },
		{ { "vmrd_host_pressure", "gauge", "1 while the host is under memory pressure.", PROM_UNIT },
		  h.host_pressure },
		{ { "vmrd_host_psi_some_avg10_ratio", "gauge", "The host's memory PSI some avg10.",
		    PROM_CENTI_PERCENT }, h.host_psi_some_centi },
		{ { "vmrd_host_available_bytes", "gauge", "The host's MemAvailable.", PROM_UNIT },
		  h.host_available_bytes },
		{ { "vmrd_host_evaluations_total", "counter", "Arbiter evaluations.", PROM_UNIT },
		  h.evaluations },
		{ { "vmrd_host_reloads_total", "counter", "Configuration reloads (SIGHUP).", PROM_UNIT },
		  h.reloads },
		{ { "vmrd_host_size_budget_bytes", "gauge", "What the budget leaves for guest sizes.",
		    PROM_UNIT }, h.size_budget_bytes },
		{ { "vmrd_host_charged_bytes", "gauge", "What the VMs cost the budget, QEMU included.",
		    PROM_UNIT }, h.charged_bytes },
		{ { "vmrd_host_vms_rss_bytes", "gauge", "What all the VMs' QEMU processes hold.",
		    PROM_UNIT }, h.sum_rss_bytes },
	};
	const struct prom_value rd[] = {
		{ { "vmrd_host_guest_reader_up", "gauge",
		    "1 while the sandboxed guest reader runs (0: being restarted).", PROM_UNIT },
		  h.reader_pid >= 0 },
		{ { "vmrd_host_guest_reader_restarts_total", "counter",
		    "Guest readers that ended (crash, kill, malformed record) and were replaced.",
		    PROM_UNIT }, h.reader_restarts },
		{ { "vmrd_host_guest_reader_bad_records_total", "counter",
		    "Malformed records from the guest reader (each ends it).", PROM_UNIT },
		  h.reader_bad_records },
	};

	prom_values(o, g, sizeof(g) / sizeof(g[0]));
	if (h.reader)
		prom_values(o, rd, sizeof(rd) / sizeof(rd[0]));
	for (size_t m = 0; m < sizeof(vm_metrics) / sizeof(vm_metrics[0]); m++) {
		prom_head(o, &vm_metrics[m].m);
		FOR_EACH_VM(src, v, i) {
			/* VM names are [A-Za-z0-9._-] (config.c), so they need no label escaping. */
			snprintf(label, sizeof(label), "vm=\"%s\"", v.name);
			prom_sample(o, &vm_metrics[m].m, NULL, label, vm_metric(&vm_metrics[m], &v));
		}
	}
	giveback_metrics(src, o);
}

/* ---- why: the last decisions per VM ---- */

static void why_line(struct strbuf *o, const struct ctl_decision *d)
{
	strbuf_printf(o, "  %6llus ago  %-7s %-16s", (unsigned long long)(d->age_usec / 1000000),
		      d->action, d->reason);
	if (d->seq)
		strbuf_printf(o, "  seq %llu", (unsigned long long)d->seq);
	if (strcmp(d->action, "deny") != 0)
		strbuf_printf(o, "  target %llu MiB%s", mib(d->target_bytes), d->applied ? " (applied)" : "");
	if (d->retry_after_usec)
		strbuf_printf(o, "  retry in %llu.%llu s", (unsigned long long)(d->retry_after_usec / 1000000),
			      (unsigned long long)(d->retry_after_usec % 1000000 / 100000));
	if (d->asked_bytes)
		strbuf_printf(o, "  asked %llu", mib(d->asked_bytes));
	strbuf_printf(o, "  current %llu  fair %llu  surplus %llu MiB%s%s\n", mib(d->current_bytes),
		      mib(d->fair_bytes), mib(d->surplus_bytes), d->pressured ? "  pressured" : "",
		      d->non_converging ? "  non-converging" : "");
}

static bool vm_wanted(const struct ctl_vm *v, const char *vm)
{
	return !vm || strcmp(v->name, vm) == 0;
}

void ctl_why_text(const struct ctl_source *src, const char *vm, struct strbuf *o)
{
	struct ctl_decision d;
	struct ctl_vm v;
	bool found = false;

	FOR_EACH_VM(src, v, i) {
		size_t k = 0;

		if (!vm_wanted(&v, vm))
			continue;
		found = true;
		strbuf_printf(o, "%s (current %llu MiB, target %llu MiB)%s\n", v.name,
			      mib(v.current_bytes), mib(v.target_bytes),
			      src->decision(src->ctx, i, 0, &d) ? ", oldest first:" : ": no decisions yet");
		if (v.vmem_gave_up_bytes + v.balloon_gave_up_bytes) {
			strbuf_printf(o, "  ");
			giveback_text(o, &v);
			strbuf_printf(o, "\n");
		}
		while (src->decision(src->ctx, i, k++, &d))
			why_line(o, &d);
	}
	if (vm && !found)
		strbuf_printf(o, "error: no VM named %s\n", vm);
	else if (!found)
		strbuf_printf(o, "no VMs\n");
}

static json_t *decision_json(const char *vm, const struct ctl_decision *d)
{
	/* json_pack keeps this order; the order is part of the stable format. */
	return json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:b, s:b}",
			 "vm", vm, "age_usec", (json_int_t)d->age_usec, "action", d->action,
			 "reason", d->reason, "seq", (json_int_t)d->seq,
			 "target_bytes", (json_int_t)d->target_bytes, "applied", d->applied,
			 "current_bytes", (json_int_t)d->current_bytes,
			 "asked_bytes", (json_int_t)d->asked_bytes, "fair_bytes", (json_int_t)d->fair_bytes,
			 "surplus_bytes", (json_int_t)d->surplus_bytes,
			 "retry_after_usec", (json_int_t)d->retry_after_usec, "pressured", d->pressured,
			 "non_converging", d->non_converging);
}

int ctl_why_json(const struct ctl_source *src, const char *vm, struct strbuf *o)
{
	json_t *all = json_array();
	struct ctl_decision d;
	struct ctl_vm v;
	bool found = false;

	if (!all)
		return -ENOMEM;
	FOR_EACH_VM(src, v, i) {
		if (!vm_wanted(&v, vm))
			continue;
		found = true;
		for (size_t k = 0; src->decision(src->ctx, i, k, &d); k++)
			json_array_append_new(all, decision_json(v.name, &d));
	}
	if (vm && !found) {
		json_decref(all);
		strbuf_printf(o, "error: no VM named %s\n", vm);
		return 0;
	}
	return put_json(o, all);
}

/* "why", "why VM", "why json", "why json VM"; false for anything else. */
static bool why_args(const char *cmd, bool *ret_json, const char **ret_vm)
{
	if (strncmp(cmd, "why", 3) != 0 || (cmd[3] != '\0' && cmd[3] != ' '))
		return false;
	cmd += cmd[3] ? 4 : 3;
	*ret_json = strncmp(cmd, "json", 4) == 0 && (cmd[4] == '\0' || cmd[4] == ' ');
	if (*ret_json)
		cmd += cmd[4] ? 5 : 4;
	*ret_vm = *cmd ? cmd : NULL;
	return !*ret_vm || !strchr(*ret_vm, ' ');
}

int ctl_handle(void *source, const char *cmd, struct strbuf *out)
{
	const struct ctl_source *src = source;
	const char *vm;
	bool json;

	if (strcmp(cmd, "status") == 0)
		ctl_status_text(src, out);
	else if (strcmp(cmd, "status json") == 0)
		return ctl_status_json(src, out);
	else if (strcmp(cmd, "metrics") == 0)
		ctl_metrics(src, out);
	else if (why_args(cmd, &json, &vm) && json)
		return ctl_why_json(src, vm, out);
	else if (why_args(cmd, &json, &vm))
		ctl_why_text(src, vm, out);
	else
		return -EINVAL;
	return 0;
}
