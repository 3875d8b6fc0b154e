/* SPDX-License-Identifier: MIT */
#include "fleet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)
#define PPM UINT64_C(1000000)
/* Bytes per second a workload grows by as its guest boots. */
#define FLEET_WARMUP_RATE (32 * MIB)

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t min2(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void fleet_config_defaults(struct fleet_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->step_usec = SEC;
	cfg->day_usec = 24 * 3600 * SEC;
	cfg->host_bytes = 256 * GIB;
	cfg->reserve_bytes = 2 * GIB;
	/* QEMU under KVM; under TCG it is several times that (issue 9 measured ~300 MiB). */
	cfg->overhead_bytes = 64 * MIB;
	cfg->report_interval_usec = 5 * SEC;
	cfg->confirm_timeout_usec = 10 * SEC;
	sim_params_defaults(&cfg->guest);
	/* Small VMs: 1 GiB at boot (their minimum), up to 8 GiB. */
	cfg->guest.boot_bytes = GIB;
	cfg->guest.start_bytes = GIB;
	cfg->guest.min_bytes = GIB;
	cfg->guest.max_bytes = 8 * GIB;
	policy_config_defaults(&cfg->policy);
	arbiter_config_defaults(&cfg->arbiter);
	/* What vmrd-host sets: QEMU's virtio-mem block. */
	cfg->arbiter.align_bytes = 2 * MIB;
}

uint64_t fleet_budget_bytes(const struct fleet_config *cfg)
{
	return sub0(cfg->host_bytes, cfg->reserve_bytes);
}

/* ---- the hypervisor's side of one VM ---- */

static uint64_t host_back(const struct fleet_vm *vm, uint64_t given)
{
	if (vm->cfg->host_back)
		return min2(vm->cfg->host_back(vm->cfg->host_back_ctx, vm, given), given);
	/* Sizes stay far below 2^64 / 10^6. */
	return given * vm->back_ppm / PPM;
}

/* The guest follows the device's requested size plug_latency after it was set. */
static void device_progress(struct fleet_vm *vm)
{
	struct sim_world *w = &vm->w;
	uint64_t cur = w->current, give;

	if (vm->requested_bytes == cur || w->now_usec < vm->requested_usec + w->p.plug_latency_usec)
		return;
	if (vm->requested_bytes > cur) {
		sim_world_resize(w, vm->requested_bytes, vm->zone);
		vm->stranded_bytes -= min2(vm->stranded_bytes, vm->requested_bytes - cur);
		vm->stats.resizes++;
		return;
	}
	/* virtio-mem unplugs what the guest can offline now, in whole blocks; the rest later. */
	give = min2(cur - vm->requested_bytes, sim_world_releasable(w));
	if (give < cur - vm->requested_bytes)
		give -= give % w->p.block_bytes;
	if (give == 0 || sim_world_resize(w, cur - give, vm->zone) < 0)
		return;
	vm->stranded_bytes += give - host_back(vm, give);
	vm->stats.resizes++;
}

/* ---- the guest's end of the host link (src/backends/host.c) ---- */

static void link_end(struct fleet_vm *vm, int status, uint64_t retry_after_usec)
{
	vm->link = FLEET_LINK_IDLE;
	sim_world_done(&vm->w, status, retry_after_usec);
}

static void link_progress(struct sim_world *w, void *ctx)
{
	struct fleet_vm *vm = ctx;
	uint64_t want, slack;
	bool reached;

	device_progress(vm);
	if (vm->link != FLEET_LINK_CONFIRM)
		return;
	/* struct pages and rounding keep MemTotal a little short of the plug. */
	if (vm->granted_bytes >= vm->from_bytes) {
		want = vm->granted_bytes - vm->from_bytes;
		slack = want / 32;
		reached = w->current + slack >= vm->granted_bytes;
	} else {
		want = vm->from_bytes - vm->granted_bytes;
		slack = want / 32;
		reached = w->current <= vm->granted_bytes + slack;
	}
	if (reached) {
		link_end(vm, 0, 0);
	} else if (w->now_usec >= vm->deadline_usec) {
		vm->stats.timeouts++;
		link_end(vm, -ETIMEDOUT, 0);
	}
}

static void link_request(struct sim_world *w, void *ctx)
{
	struct fleet_vm *vm = ctx;
	const struct policy_decision *d = &w->d;

	vm->seq++;
	vm->arb->request = (struct arbiter_request){ .valid = true, .seq = vm->seq,
						     .target_bytes = d->target_bytes,
						     .urgency = d->urgency, .usec = w->now_usec };
	if (d->action == POLICY_GROW)
		vm->zone = d->zone;
	/* As the daemon does: the host's ask is answered by this shrink. */
	if (d->reason == POLICY_R_HOST_RECLAIM)
		w->host_ask_bytes = 0;
	vm->link = FLEET_LINK_WAIT;
	vm->stats.requests++;
	w->busy = true;
	w->requests++;
}

static const struct sim_backend_ops link_ops = {
	.progress = link_progress,
	.request = link_request,
};

/* A fixed size: nothing to carry out (the policy cannot ask for anything at min = max). */
static void static_progress(struct sim_world *w, void *ctx)
{
}

static void static_request(struct sim_world *w, void *ctx)
{
	sim_world_done(w, -EPERM, 0);
}

static const struct sim_backend_ops static_ops = {
	.progress = static_progress,
	.request = static_request,
};

/* ---- the host's side ---- */

static void report(struct fleet_vm *vm, uint64_t now)
{
	const struct policy_input *in = &vm->w.in;

	if (now < vm->next_report_usec)
		return;
	vm->next_report_usec = now + vm->cfg->report_interval_usec;
	vm->arb->report = (struct arbiter_report){
		.valid = true,
		.usec = now,
		.mem_total_bytes = in->mem_total_bytes,
		.mem_available_bytes = in->mem_available_bytes,
		.psi_some_avg10_centi = in->psi_some_avg10,
		.psi_full_avg10_centi = in->psi_full_avg10,
	};
}

static void deliver(struct fleet_vm *vm, const struct arbiter_decision *d, uint64_t now)
{
	bool mine = vm->link == FLEET_LINK_WAIT && d->seq == vm->seq;

	switch (d->action) {
	case ARBITER_GRANT:
		if (!mine)
			break;
		vm->stats.grants++;
		vm->link = FLEET_LINK_CONFIRM;
		vm->granted_bytes = d->target_bytes;
		vm->from_bytes = d->current_bytes;
		vm->deadline_usec = now + vm->cfg->confirm_timeout_usec;
		break;
	case ARBITER_DENY:
		if (!mine)
			break;
		vm->stats.denies++;
		vm->stats.denied[d->reason]++;
		link_end(vm, -EAGAIN, d->retry_after_usec);
		break;
	case ARBITER_RECLAIM:
		vm->stats.reclaims++;
		vm->stats.asked[d->reason]++;
		vm->w.host_ask_bytes = d->target_bytes;
		break;
	case ARBITER_NONE:
		break;
	}
	if (d->apply && d->apply_bytes != vm->requested_bytes) {
		if (d->action != ARBITER_GRANT) {
			vm->stats.host_sets++;
			vm->stats.set[d->apply_reason]++;
		}
		vm->requested_bytes = d->apply_bytes;
		vm->requested_usec = now;
	}
}

/* QEMU confirms every target at once; the guest's size is what it has plugged. */
static void round_(struct fleet *f)
{
	struct arbiter_host host = {
		.now_usec = f->now_usec,
		.budget_bytes = fleet_budget_bytes(&f->cfg),
		.mem_available_bytes = sub0(f->cfg.host_bytes, f->footprint_bytes),
		.reserve_bytes = f->cfg.reserve_bytes,
	};
	int r;

	for (size_t i = 0; i < f->n; i++) {
		f->arb[i].current_bytes = f->vms[i].w.current;
		f->arb[i].applied_bytes = f->vms[i].requested_bytes;
	}
	r = arbiter_evaluate(&f->cfg.arbiter, &host, f->arb, f->n, f->scratch,
			     ARBITER_SCRATCH_BYTES(f->n), f->dec, &f->sum);
	f->arbiter_error = r;
	f->rounds++;
	if (r < 0)
		return;
	for (size_t i = 0; i < f->n; i++)
		deliver(&f->vms[i], &f->dec[i], f->now_usec);
}

static uint64_t footprint(const struct fleet *f)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < f->n; i++)
		sum += f->vms[i].w.current + f->vms[i].stranded_bytes + f->cfg.overhead_bytes;
	return sum;
}

void fleet_step(struct fleet *f)
{
	uint64_t step = f->cfg.step_usec;

	for (size_t i = 0; i < f->n; i++) {
		struct fleet_vm *vm = &f->vms[i];
		struct sim_world *w = &vm->w;
		struct fleet_sample s;

		fleet_demand_next(&vm->demand, f->now_usec, step, &s);
		/* The guest boots empty: its workload reaches its demand at FLEET_WARMUP_RATE. */
		if (f->now_usec < s.demand_bytes / FLEET_WARMUP_RATE * SEC) {
			s.demand_bytes = f->now_usec / SEC * FLEET_WARMUP_RATE;
			s.unmovable_bytes = min2(s.unmovable_bytes, s.demand_bytes);
		}
		if (s.cache_bytes) {
			w->p.cache_want_bytes = s.cache_bytes;
			w->p.cache_hot_bytes = s.hot_bytes;
		}
		sim_world_step(w, s.demand_bytes, s.unmovable_bytes);
		if (w->in.mem_available_bytes < f->cfg.policy.reserve_bytes)
			vm->stats.low_usec += step;
		vm->stats.size_mib_steps += w->current / MIB;
		if (!f->cfg.static_sizing)
			report(vm, f->now_usec);
	}
	/* The broker answers within milliseconds: at the time the guests asked. */
	if (!f->cfg.static_sizing)
		round_(f);
	f->footprint_bytes = footprint(f);
	if (f->footprint_bytes > fleet_budget_bytes(&f->cfg))
		f->over_budget_usec += step;
	f->now_usec += step;
}

static void vm_init(struct fleet *f, size_t i, enum fleet_kind kind, const struct fleet_trace *trace,
		    uint64_t static_bytes)
{
	struct fleet_vm *vm = &f->vms[i];
	struct arbiter_vm *a = &f->arb[i];
	struct sim_params p = f->cfg.guest;

	vm->index = i;
	vm->kind = kind;
	vm->cfg = &f->cfg;
	vm->arb = a;
	vm->back_ppm = PPM;
	fleet_demand_init(&vm->demand, kind, f->cfg.seed, i, trace, f->cfg.day_usec);
	if (f->cfg.static_sizing) {
		vm->static_bytes = static_bytes;
		p.boot_bytes = p.start_bytes = p.min_bytes = p.max_bytes = static_bytes;
	}
	p.step_usec = f->cfg.step_usec;
	sim_world_init(&vm->w, &p, &f->cfg.policy);
	sim_world_set_backend(&vm->w, f->cfg.static_sizing ? &static_ops : &link_ops, vm);
	vm->requested_bytes = vm->w.current;
	/* Known to QEMU and welcomed from the start; the arbiter's first sight sets the rest. */
	*a = (struct arbiter_vm){ .min_bytes = p.min_bytes, .max_bytes = p.max_bytes, .weight = 100,
				  .overhead_bytes = f->cfg.overhead_bytes, .connected = true,
				  .current_bytes = vm->w.current, .applied_bytes = vm->w.current };
}

int fleet_init(struct fleet *f, const struct fleet_config *cfg, size_t n,
	       const enum fleet_kind *kinds, const struct fleet_trace *const *traces,
	       const uint64_t *static_bytes)
{
	memset(f, 0, sizeof(*f));
	if (cfg->step_usec == 0 || cfg->day_usec == 0 || (cfg->static_sizing && !static_bytes))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (kinds[i] >= FLEET_KIND__MAX || (kinds[i] == FLEET_KIND_TRACE && !(traces && traces[i])))
			return -EINVAL;
	f->cfg = *cfg;
	f->n = n;
	f->vms = calloc(n ? n : 1, sizeof(*f->vms));
	f->arb = calloc(n ? n : 1, sizeof(*f->arb));
	f->dec = calloc(n ? n : 1, sizeof(*f->dec));
	f->scratch = malloc(ARBITER_SCRATCH_BYTES(n ? n : 1));
	if (!f->vms || !f->arb || !f->dec || !f->scratch) {
		fleet_free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		vm_init(f, i, kinds[i], traces ? traces[i] : NULL, static_bytes ? static_bytes[i] : 0);
	f->footprint_bytes = footprint(f);
	return 0;
}

void fleet_free(struct fleet *f)
{
	free(f->vms);
	free(f->arb);
	free(f->dec);
	free(f->scratch);
	f->vms = NULL;
	f->scratch = NULL;
	f->arb = NULL;
	f->dec = NULL;
	f->n = 0;
}

uint64_t fleet_static_size(const struct fleet_config *cfg, enum fleet_kind kind, uint64_t index,
			   const struct fleet_trace *trace, uint64_t duration_usec)
{
	const struct sim_params *g = &cfg->guest;
	const struct policy_config *pc = &cfg->policy;
	uint64_t peak = 0, size, block = g->block_bytes ? g->block_bytes : 1;
	struct fleet_demand d;

	fleet_demand_init(&d, kind, cfg->seed, index, trace, cfg->day_usec);
	for (uint64_t t = 0; t < duration_usec; t += cfg->step_usec) {
		struct fleet_sample s;
		uint64_t need;

		fleet_demand_next(&d, t, cfg->step_usec, &s);
		need = g->kernel_bytes + s.demand_bytes + (s.cache_bytes ? s.hot_bytes : g->cache_hot_bytes);
		if (need > peak)
			peak = need;
	}
	/* size - peak >= max(min_headroom, ratio x size) */
	size = peak + pc->min_headroom_bytes;
	if (pc->headroom_ratio_centi < 10000) {
		uint64_t by_ratio = peak / (10000 - pc->headroom_ratio_centi) * 10000;

		if (by_ratio > size)
			size = by_ratio;
	}
	size = (size + block - 1) / block * block;
	return size < g->min_bytes ? g->min_bytes : size > g->max_bytes ? g->max_bytes : size;
}
