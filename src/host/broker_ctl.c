/* SPDX-License-Identifier: MIT */
/*
 * The broker as the control socket sees it: the struct ctl_source that
 * ctl.c renders status, status json, why and metrics from (ctl.c knows
 * nothing of the broker).
 */
#include "host/broker.h"

#include <stdio.h>

#include "common/clock.h"

static void broker_ctl_host(void *ctx, struct ctl_host *ret);
static bool broker_ctl_vm(void *ctx, size_t i, struct ctl_vm *ret);
static bool broker_ctl_decision(void *ctx, size_t i, size_t k, struct ctl_decision *ret);

void broker_ctl_init(struct broker *b)
{
	b->ctl = (struct ctl_source){ .ctx = b, .host = broker_ctl_host, .vm = broker_ctl_vm,
				      .decision = broker_ctl_decision };
}

static void broker_ctl_host(void *ctx, struct ctl_host *ret)
{
	static char source[CONFIG_PATH_MAX + 8];
	const struct broker *b = ctx;
	struct vm_reader_stats rd = { .pid = -1 };
	uint64_t rss = 0;

	for (size_t i = 0; i < b->n_vms; i++)
		rss += b->vms[i]->dead ? 0 : b->arb[i].rss_bytes;
	snprintf(source, sizeof(source), "%s%s",
		 b->cfg.budget_cgroup[0] ? "cgroup:" : b->cfg.budget_auto ? "auto" : "fixed",
		 b->cfg.budget_cgroup);
	if (b->vm_env.reader && b->vm_env.reader->stats)
		b->vm_env.reader->stats(b->vm_env.reader_ctx, &rd);
	*ret = (struct ctl_host){
		.dry_run = b->dry_run,
		.uptime_usec = clock_now_usec() - b->started_usec,
		.budget_bytes = b->budget_bytes,
		.budget_auto = b->cfg.budget_auto,
		.reserve_bytes = b->cfg.reserve_bytes,
		.sum_target_bytes = b->summary.sum_target_bytes,
		.free_bytes = b->summary.free_bytes,
		.host_pressure = b->summary.host_pressure,
		.host_psi_some_centi = b->host_psi_some_centi,
		.host_psi_full_centi = b->host_psi_full_centi,
		.host_available_bytes = b->host_available_bytes,
		.evaluations = b->evaluations_total,
		.reloads = b->reloads_total,
		.budget_source = source,
		.budget_mode = b->cfg.budget_mode == CONFIG_BUDGET_OVERCOMMIT ? "overcommit" : "strict",
		.size_budget_bytes = b->summary.size_budget_bytes,
		.charged_bytes = b->summary.sum_charged_bytes,
		.sum_rss_bytes = rss,
		.reader = b->vm_env.reader && b->vm_env.reader->stats,
		.reader_pid = rd.pid,
		.reader_restarts = rd.restarts,
		.reader_bad_records = rd.bad_records,
	};
}

static bool broker_ctl_vm(void *ctx, size_t i, struct ctl_vm *ret)
{
	const struct broker *b = ctx;
	const struct broker_vm *v;
	const struct arbiter_vm *a;

	if (i >= b->n_vms)
		return false;
	v = b->vms[i];
	a = &b->arb[i];
	*ret = (struct ctl_vm){
		.hidden = v->dead,
		.name = v->cfg.name,
		.link = driver_link_word(&v->drv),
		.link_connects = driver_connects(&v->drv),
		.link_error = v->drv.error,
		.reconciled = driver_reconciled(&v->drv),
		.channel = vm_channel_up(&v->link),
		.hello = v->link.hello,
		.agent = v->link.agent,
		.current_bytes = driver_reconciled(&v->drv) ? driver_current_bytes(&v->drv) : a->current_bytes,
		.target_bytes = a->state.target_bytes,
		.requested_bytes = v->link.request.target_bytes,
		.granted_bytes = v->granted_bytes,
		.min_bytes = v->cfg.min_bytes,
		.max_bytes = v->cfg.max_bytes,
		.weight = v->cfg.weight,
		.boot_bytes = v->drv.sizes.boot_bytes,
		.vmem_requested_bytes = v->drv.sizes.vmem_requested_bytes,
		.balloon_target_bytes = v->drv.sizes.balloon_target_bytes,
		.report_valid = a->report.valid,
		.psi_some_centi = a->report.psi_some_avg10_centi,
		.psi_full_centi = a->report.psi_full_avg10_centi,
		.mem_available_bytes = a->report.mem_available_bytes,
		.non_converging = a->state.non_converging,
		.last_reason = v->last_reason,
		.grants = v->grants_total,
		.denies = v->denies_total,
		.reclaims = v->reclaims_total,
		.lines = v->link.lines_total,
		.errors = v->link.errors_total,
		.kicks = v->link.kicks_total,
		.applied_bytes = a->applied_bytes,
		.rss_bytes = a->rss_bytes,
		.overhead_bytes = a->overhead_bytes,
		.accounted_bytes = b->dec[i].accounted_bytes,
		.entitlement_bytes = b->dec[i].fair_bytes,
		.reclaim_bytes = v->reclaim_bytes,
		.reclaim_reason = v->reclaim_reason,
		.commands = v->drv.commands_total,
		.throttled = v->link.throttled_total,
		.vmem_gave_up_bytes = v->giveback.gave_up_bytes[FOOTPRINT_VMEM],
		.vmem_got_back_bytes = v->giveback.back_bytes[FOOTPRINT_VMEM],
		.balloon_gave_up_bytes = v->giveback.gave_up_bytes[FOOTPRINT_BALLOON],
		.balloon_got_back_bytes = v->giveback.back_bytes[FOOTPRINT_BALLOON],
	};
	return true;
}

static bool broker_ctl_decision(void *ctx, size_t i, size_t k, struct ctl_decision *ret)
{
	const struct broker *b = ctx;
	const struct broker_vm *v;
	const struct broker_decision *e;
	bool set;

	if (i >= b->n_vms || k >= b->vms[i]->log_len)
		return false;
	v = b->vms[i];
	e = &v->log[(v->log_head + k) % BROKER_WHY_LOG];
	/* A target set without a message to the guest (limits, reissue, a cut) shows as "set". */
	set = e->d.action == ARBITER_NONE;
	*ret = (struct ctl_decision){
		.age_usec = clock_now_usec() - e->usec,
		.action = set ? "set" : arbiter_action_name(e->d.action),
		.reason = arbiter_reason_word(set ? e->d.apply_reason : e->d.reason),
		.seq = e->d.seq,
		.target_bytes = set ? e->d.apply_bytes : e->d.target_bytes,
		.applied = e->d.apply,
		.current_bytes = e->d.current_bytes,
		.asked_bytes = e->d.asked_bytes,
		.fair_bytes = e->d.fair_bytes,
		.surplus_bytes = e->d.surplus_bytes,
		.retry_after_usec = e->d.retry_after_usec,
		.pressured = e->d.pressured,
		.non_converging = e->d.non_converging,
	};
	return true;
}
