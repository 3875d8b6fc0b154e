/* SPDX-License-Identifier: MIT */
#include "host/ctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

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

/* row with the keys of more appended (jansson keeps the order of insertion); takes both. */
static json_t *with_more(json_t *row, json_t *more)
{
	if (row && more)
		json_object_update(row, more);
	json_decref(more);
	return row;
}

int ctl_status_json(const struct ctl_source *src, struct strbuf *o)
{
	json_t *vms = json_array();
	json_t *root;
	struct ctl_host h;
	struct ctl_vm v;
	char *text;

	src->host(src->ctx, &h);
	FOR_EACH_VM(src, v, i)
		json_array_append_new(vms, with_more(vm_json(&v), vm_json_footprint(&v)));
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

struct metric {
	const char *name;
	const char *type;
	const char *help;
};

static void metric_head(struct strbuf *o, const struct metric *m)
{
	strbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
}

static uint64_t vm_metric(const struct ctl_vm *v, size_t idx)
{
	switch (idx) {
	case 0: return v->current_bytes;
	case 1: return v->target_bytes;
	case 2: return v->requested_bytes;
	case 3: return v->granted_bytes;
	case 4: return v->min_bytes;
	case 5: return v->max_bytes;
	case 6: return v->weight;
	case 7: return v->report_valid ? v->psi_some_centi : 0;
	case 8: return strcmp(v->link, "ready") == 0;
	case 9: return v->hello;
	case 10: return v->grants;
	case 11: return v->denies;
	case 12: return v->reclaims;
	case 13: return v->errors;
	case 14: return v->kicks;
	case 15: return v->rss_bytes;
	case 16: return v->overhead_bytes;
	case 17: return v->accounted_bytes;
	case 18: return v->entitlement_bytes;
	case 19: return v->applied_bytes;
	default: return 0;
	}
}

static const struct metric vm_metrics[] = {
	{ "vmrd_host_vm_current_bytes", "gauge", "VM size as QEMU reports it." },
	{ "vmrd_host_vm_target_bytes", "gauge", "VM size the host asks QEMU for." },
	{ "vmrd_host_vm_requested_bytes", "gauge", "Size in the guest's last request." },
	{ "vmrd_host_vm_granted_bytes", "gauge", "Size in the last grant." },
	{ "vmrd_host_vm_min_bytes", "gauge", "Configured minimum size." },
	{ "vmrd_host_vm_max_bytes", "gauge", "Configured maximum size." },
	{ "vmrd_host_vm_weight", "gauge", "Configured weight." },
	{ "vmrd_host_vm_psi_some_avg10_centi", "gauge", "Guest memory PSI some avg10, hundredths of a percent." },
	{ "vmrd_host_vm_qmp_up", "gauge", "1 when the QMP connection is ready." },
	{ "vmrd_host_vm_guest_up", "gauge", "1 when the guest agent said hello." },
	{ "vmrd_host_vm_grants_total", "counter", "Grants sent." },
	{ "vmrd_host_vm_denies_total", "counter", "Denies sent." },
	{ "vmrd_host_vm_reclaims_total", "counter", "Reclaim asks sent." },
	{ "vmrd_host_vm_errors_total", "counter", "Bad lines received from the guest." },
	{ "vmrd_host_vm_kicks_total", "counter", "Disconnects of the guest for misbehaviour." },
	{ "vmrd_host_vm_rss_bytes", "gauge", "What the VM's QEMU process holds (0: not measured)." },
	{ "vmrd_host_vm_overhead_bytes", "gauge", "QEMU's memory beyond the guest, as the budget counts it." },
	{ "vmrd_host_vm_accounted_bytes", "gauge", "Size counted against the budget: max(target, applied, current)." },
	{ "vmrd_host_vm_entitlement_bytes", "gauge", "The VM's weighted share of the budget." },
	{ "vmrd_host_vm_applied_bytes", "gauge", "Size QEMU confirmed as its target." },
};

void ctl_metrics(const struct ctl_source *src, struct strbuf *o)
{
	static const struct metric g[] = {
		{ "vmrd_host_budget_bytes", "gauge", "Memory all VMs may hold together." },
		{ "vmrd_host_targets_bytes", "gauge", "Sum of all VM targets." },
		{ "vmrd_host_free_bytes", "gauge", "Budget not accounted to any VM." },
		{ "vmrd_host_pressure", "gauge", "1 while the host is under memory pressure." },
		{ "vmrd_host_evaluations_total", "counter", "Arbiter evaluations." },
		{ "vmrd_host_size_budget_bytes", "gauge", "What the budget leaves for guest sizes." },
		{ "vmrd_host_charged_bytes", "gauge", "What the VMs cost the budget, QEMU included." },
		{ "vmrd_host_vms_rss_bytes", "gauge", "What all the VMs' QEMU processes hold." },
	};
	struct ctl_host h;
	struct ctl_vm v;
	uint64_t gv[8];

	src->host(src->ctx, &h);
	gv[0] = h.budget_bytes;
	gv[1] = h.sum_target_bytes;
	gv[2] = h.free_bytes;
	gv[3] = h.host_pressure;
	gv[4] = h.evaluations;
	gv[5] = h.size_budget_bytes;
	gv[6] = h.charged_bytes;
	gv[7] = h.sum_rss_bytes;
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		metric_head(o, &g[i]);
		strbuf_printf(o, "%s %llu\n", g[i].name, (unsigned long long)gv[i]);
	}
	for (size_t m = 0; m < sizeof(vm_metrics) / sizeof(vm_metrics[0]); m++) {
		metric_head(o, &vm_metrics[m]);
		/* VM names are [A-Za-z0-9._-] (config.c), so they need no label escaping. */
		FOR_EACH_VM(src, v, i)
			strbuf_printf(o, "%s{vm=\"%s\"} %llu\n", vm_metrics[m].name, v.name,
				      (unsigned long long)vm_metric(&v, m));
	}
}

int ctl_handle(void *source, const char *cmd, struct strbuf *out)
{
	const struct ctl_source *src = source;

	if (strcmp(cmd, "status") == 0)
		ctl_status_text(src, out);
	else if (strcmp(cmd, "status json") == 0)
		return ctl_status_json(src, out);
	else if (strcmp(cmd, "metrics") == 0)
		ctl_metrics(src, out);
	else
		return -EINVAL;
	return 0;
}
