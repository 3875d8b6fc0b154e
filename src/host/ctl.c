/* SPDX-License-Identifier: MIT */
#include "host/ctl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "host/broker.h"

static const char *qmp_state_word(enum qmp_state s)
{
	switch (s) {
	case QMP_DOWN:
		return "down";
	case QMP_GREETING:
		return "greeting";
	case QMP_NEGOTIATING:
		return "negotiating";
	case QMP_READY:
		return "ready";
	}
	return "unknown";
}

static unsigned long long mib(uint64_t v)
{
	return (unsigned long long)(v >> 20);
}

static uint64_t vm_current(const struct vm *vm)
{
	return vm->reconciled ? vm_current_bytes(vm) : vm->arb.current_bytes;
}

void ctl_status_text(const struct broker *b, struct strbuf *o)
{
	strbuf_printf(o, "budget %llu MiB (%s), targets %llu MiB, free %llu MiB, host psi some %u.%02u%%%s%s\n",
	    mib(b->cfg.budget_bytes), b->cfg.budget_auto ? "auto" : "fixed",
	    mib(b->summary.sum_target_bytes), mib(b->summary.free_bytes),
	    b->host_psi_some_centi / 100, b->host_psi_some_centi % 100,
	    b->summary.host_pressure ? ", HOST PRESSURE" : "", b->dry_run ? ", dry run" : "");
	strbuf_printf(o, "%-16s %-6s %-7s %9s %9s %9s %9s %9s %9s %6s %7s %s\n", "NAME", "QMP", "GUEST",
	    "CURRENT", "TARGET", "REQUESTED", "GRANTED", "MIN", "MAX", "WEIGHT", "PSI", "REASON");
	for (size_t i = 0; i < b->n_vms; i++) {
		const struct vm *vm = b->vms[i];
		const struct arbiter_report *r = &vm->arb.report;

		if (vm->dead)
			continue;
		strbuf_printf(o, "%-16s %-6s %-7s %9llu %9llu %9llu %9llu %9llu %9llu %6u %4u.%02u %s\n",
		    vm->cfg.name, qmp_state_word(vm->qmp.state),
		    vm->hello ? "hello" : vm_channel_up(vm) ? "open" : "down", mib(vm_current(vm)),
		    mib(vm->arb.state.target_bytes), mib(vm->requested_bytes), mib(vm->granted_bytes),
		    mib(vm->cfg.min_bytes), mib(vm->cfg.max_bytes), vm->cfg.weight,
		    r->valid ? r->psi_some_avg10_centi / 100 : 0,
		    r->valid ? r->psi_some_avg10_centi % 100 : 0, vm->last_reason);
	}
	strbuf_printf(o, "(sizes in MiB; PSI is the guest's some avg10)\n");
}

static json_t *vm_json(const struct vm *vm)
{
	const struct arbiter_report *r = &vm->arb.report;

	/* json_pack keeps this order; the order is part of the stable format. */
	return json_pack(
		"{s:s, s:s, s:I, s:s, s:b, s:b, s:b, s:s,"
		" s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
		" s:I, s:I, s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
		"name", vm->cfg.name, "qmp", qmp_state_word(vm->qmp.state),
		"qmp_connects", (json_int_t)vm->qmp.connects, "qmp_error", vm->qmp_error,
		"reconciled", vm->reconciled, "channel", vm_channel_up(vm), "hello", vm->hello,
		"agent", vm->agent,
		"current_bytes", (json_int_t)vm_current(vm),
		"target_bytes", (json_int_t)vm->arb.state.target_bytes,
		"requested_bytes", (json_int_t)vm->requested_bytes,
		"granted_bytes", (json_int_t)vm->granted_bytes,
		"min_bytes", (json_int_t)vm->cfg.min_bytes, "max_bytes", (json_int_t)vm->cfg.max_bytes,
		"weight", (json_int_t)vm->cfg.weight, "boot_bytes", (json_int_t)vm->base_bytes,
		"virtio_mem_requested_bytes", (json_int_t)vm->vmem.requested_bytes,
		"balloon_target_bytes", (json_int_t)vm->balloon_target_bytes,
		"psi_some_avg10_centi", (json_int_t)(r->valid ? r->psi_some_avg10_centi : 0),
		"psi_full_avg10_centi", (json_int_t)(r->valid ? r->psi_full_avg10_centi : 0),
		"mem_available_bytes", (json_int_t)(r->valid ? r->mem_available_bytes : 0),
		"non_converging", vm->arb.state.non_converging, "last_reason", vm->last_reason,
		"grants", (json_int_t)vm->grants_total, "denies", (json_int_t)vm->denies_total,
		"reclaims", (json_int_t)vm->reclaims_total, "lines", (json_int_t)vm->lines_total,
		"errors", (json_int_t)vm->errors_total, "kicks", (json_int_t)vm->kicks_total);
}

int ctl_status_json(const struct broker *b, struct strbuf *o)
{
	json_t *vms = json_array();
	json_t *root;
	char *text;

	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead)
			json_array_append_new(vms, vm_json(b->vms[i]));
	root = json_pack("{s:i, s:b, s:I, s:I, s:b, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:o}",
			 "version", 1, "dry_run", b->dry_run,
			 "uptime_usec", (json_int_t)(clock_now_usec() - b->started_usec),
			 "budget_bytes", (json_int_t)b->cfg.budget_bytes, "budget_auto", b->cfg.budget_auto,
			 "reserve_bytes", (json_int_t)b->cfg.reserve_bytes,
			 "sum_target_bytes", (json_int_t)b->summary.sum_target_bytes,
			 "free_bytes", (json_int_t)b->summary.free_bytes,
			 "host_pressure", b->summary.host_pressure,
			 "host_psi_some_avg10_centi", (json_int_t)b->host_psi_some_centi,
			 "host_psi_full_avg10_centi", (json_int_t)b->host_psi_full_centi,
			 "host_available_bytes", (json_int_t)b->host_available_bytes,
			 "evaluations", (json_int_t)b->evaluations_total,
			 "reloads", (json_int_t)b->reloads_total, "vms", vms);
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

static uint64_t vm_metric(const struct vm *vm, size_t idx)
{
	switch (idx) {
	case 0: return vm_current(vm);
	case 1: return vm->arb.state.target_bytes;
	case 2: return vm->requested_bytes;
	case 3: return vm->granted_bytes;
	case 4: return vm->cfg.min_bytes;
	case 5: return vm->cfg.max_bytes;
	case 6: return vm->cfg.weight;
	case 7: return vm->arb.report.valid ? vm->arb.report.psi_some_avg10_centi : 0;
	case 8: return qmp_is_ready(&vm->qmp);
	case 9: return vm->hello;
	case 10: return vm->grants_total;
	case 11: return vm->denies_total;
	case 12: return vm->reclaims_total;
	case 13: return vm->errors_total;
	case 14: return vm->kicks_total;
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
};

void ctl_metrics(const struct broker *b, struct strbuf *o)
{
	static const struct metric g[] = {
		{ "vmrd_host_budget_bytes", "gauge", "Memory all VMs may hold together." },
		{ "vmrd_host_targets_bytes", "gauge", "Sum of all VM targets." },
		{ "vmrd_host_free_bytes", "gauge", "Budget not accounted to any VM." },
		{ "vmrd_host_pressure", "gauge", "1 while the host is under memory pressure." },
		{ "vmrd_host_evaluations_total", "counter", "Arbiter evaluations." },
	};
	const uint64_t gv[] = { b->cfg.budget_bytes, b->summary.sum_target_bytes, b->summary.free_bytes,
				b->summary.host_pressure, b->evaluations_total };

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		metric_head(o, &g[i]);
		strbuf_printf(o, "%s %llu\n", g[i].name, (unsigned long long)gv[i]);
	}
	for (size_t m = 0; m < sizeof(vm_metrics) / sizeof(vm_metrics[0]); m++) {
		metric_head(o, &vm_metrics[m]);
		/* VM names are [A-Za-z0-9._-] (config.c), so they need no label escaping. */
		for (size_t i = 0; i < b->n_vms; i++)
			if (!b->vms[i]->dead)
				strbuf_printf(o, "%s{vm=\"%s\"} %llu\n", vm_metrics[m].name, b->vms[i]->cfg.name,
				    (unsigned long long)vm_metric(b->vms[i], m));
	}
}

int ctl_handle(void *ctx, const char *cmd, struct strbuf *out)
{
	const struct broker *b = ctx;

	if (strcmp(cmd, "status") == 0)
		ctl_status_text(b, out);
	else if (strcmp(cmd, "status json") == 0)
		return ctl_status_json(b, out);
	else if (strcmp(cmd, "metrics") == 0)
		ctl_metrics(b, out);
	else
		return -EINVAL;
	return 0;
}
