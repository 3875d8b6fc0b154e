/* SPDX-License-Identifier: MIT */
/*
 * The host's side of the arbiter (arbiter.h, steps 4, 5 and 9): what the
 * VMs cost the host beyond their guest sizes, cutting them when the budget
 * shrinks under them, and what the arbiter does when the host itself is
 * short of memory.  The budget is host memory, so a
 * VM's hypervisor process counts too: QEMU holds a few hundred MiB of its
 * own per VM under TCG, less under KVM, never nothing.
 */
#include "core/arbiter_impl.h"

#include "core/waterfill.h"

uint64_t arbiter_charged_bytes(const struct arbiter_config *cfg, const struct arbiter_vm *vm)
{
	uint64_t acc = arbiter_accounted_bytes(vm);

	/* RSS now, plus the growth decided that the guest has not taken yet. */
	if (cfg->budget_mode == ARBITER_BUDGET_OVERCOMMIT && vm->rss_bytes)
		return vm->rss_bytes + (acc - arbiter_min(acc, vm->current_bytes));
	return acc > UINT64_MAX - vm->overhead_bytes ? UINT64_MAX : acc + vm->overhead_bytes;
}

/*
 * budget - sum(charged - accounted): in strict mode the budget less every
 * VM's overhead; in overcommit the budget plus what the guests hold but
 * have not made resident (RSS below their size), less what QEMU holds
 * beyond them.
 */
uint64_t arbiter_size_budget(const struct arbiter_config *cfg, uint64_t budget,
			     const struct arbiter_vm *vms, size_t n)
{
	uint64_t plus = 0, minus = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t acc = arbiter_accounted_bytes(&vms[i]);
		uint64_t ch = arbiter_charged_bytes(cfg, &vms[i]);

		if (ch >= acc)
			plus += arbiter_min(ch - acc, UINT64_MAX / 4);
		else
			minus += acc - ch;
	}
	/* Bounded well below overflow: sums of sizes are taken against it. */
	budget = arbiter_min(budget, UINT64_MAX / 4);
	minus = arbiter_min(minus, UINT64_MAX / 4);
	return budget + minus > plus ? budget + minus - plus : 0;
}

/*
 * Step 5: the size budget was lowered (or an overhead grew, or the VMs start
 * above it): cut the biggest shares.  Only targets are cut: memory a VM is
 * still giving back (a shrink the hypervisor or the guest has not carried
 * out yet) will come without it.  A stuck VM holds what it holds and
 * lowering its target frees nothing, so it is left alone, unless the budget
 * cannot be met otherwise: the sum of targets stays within the budget in
 * every case.
 */
void arbiter_budget_cut(const struct arbiter_config *cfg, uint64_t budget, struct arbiter_vm *vms,
			size_t n, struct arbiter_decision *dec, const struct arbiter_work *w,
			uint64_t now)
{
	struct waterfill *f = w->fill;
	uint64_t floors = 0, settled = 0, targets = 0;
	bool spare_stuck;
	size_t nf = 0;

	for (size_t i = 0; i < n; i++) {
		bool stuck = vms[i].state.non_converging;
		uint64_t acc = arbiter_accounted_bytes(&vms[i]);

		/* A size seeded on the safe side is no reason to cut the others. */
		if (vms[i].size_unknown)
			return;
		floors += stuck ? acc : vms[i].min_bytes;
		settled += stuck ? acc : vms[i].state.target_bytes;
		targets += vms[i].state.target_bytes;
	}
	spare_stuck = floors <= budget;
	if (spare_stuck ? settled <= budget : targets <= budget)
		return;
	for (size_t i = 0; i < n; i++) {
		uint64_t acc = arbiter_accounted_bytes(&vms[i]);

		if (vms[i].state.non_converging && spare_stuck)
			arbiter_fill_add(f, &nf, i, &vms[i], acc, acc);
		else
			arbiter_fill_add(f, &nf, i, &vms[i], vms[i].min_bytes, vms[i].state.target_bytes);
	}
	waterfill(f, nf, cfg->align_bytes, budget);
	for (size_t k = 0; k < nf; k++) {
		struct arbiter_vm *vm = &vms[f[k].vm];
		struct arbiter_decision *d = &dec[f[k].vm];
		uint64_t t = arbiter_clamp(f[k].alloc_bytes, vm->min_bytes, vm->max_bytes);

		if (t >= vm->state.target_bytes)
			continue;
		arbiter_set_target(vm, d, t, ARBITER_R_BUDGET, now);
		d->fair_bytes = f[k].alloc_bytes;
		if (d->action == ARBITER_GRANT)
			d->target_bytes = t;
		else if (d->action == ARBITER_NONE && vm->connected && !vm->state.non_converging)
			arbiter_ask_reclaim(vm, d, ARBITER_R_BUDGET, t, URGENCY_HIGH, now);
	}
}

void arbiter_host_calm(struct arbiter_vm *vms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vms[i].state.host_marked = false;
}

/*
 * The order in which VMs give memory to the host: guests that are not under
 * pressure themselves first, then arbiter_gives_first() (lighter, then more
 * surplus).  A VM at its min or stuck (a cut would free nothing) is out.
 * Returns how many are in order[].
 */
static size_t host_order(struct arbiter_vm *vms, size_t n, const struct arbiter_decision *dec,
			 const struct arbiter_work *w, size_t *order)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (vms[i].state.target_bytes > vms[i].min_bytes && !vms[i].state.non_converging)
			order[m++] = i;
	arbiter_order_sort(order, m, &(struct arbiter_order){ .vms = vms, .dec = dec,
							     .pressured = w->pressured,
							     .unpressured_first = true });
	return m;
}

/* A host-pressure cut (PSI only) takes at least this: smaller steps would not show in time. */
#define HOST_CUT_STEP_MIN (UINT64_C(128) << 20)

/*
 * What a cut takes when the host cannot say how much it lacks: what the
 * guest says it does not use, else half of what it holds above min (a
 * round takes a grace to show in PSI: small steps would not relieve the
 * host in time).
 */
static uint64_t cut_step(const struct arbiter_vm *vm, const struct arbiter_decision *d)
{
	uint64_t half = (vm->state.target_bytes - vm->min_bytes) / 2;

	return arbiter_max(d->surplus_bytes, arbiter_max(half, HOST_CUT_STEP_MIN));
}

/* Cut one VM by up to step (never below min); returns what it takes. */
static uint64_t host_cut(const struct arbiter_config *cfg, struct arbiter_vm *vm,
			 struct arbiter_decision *d, uint64_t step, uint64_t now)
{
	struct arbiter_vm_state *s = &vm->state;
	uint64_t taken = arbiter_cut(cfg, vm, d, s->target_bytes > step ? s->target_bytes - step : 0,
				     ARBITER_R_HOST_PRESSURE, now);

	if (taken)
		s->host_cut_usec = now;
	return taken;
}

/* Ask the VMs that can spare memory, in order, until need is covered (0: ask them all). */
static void host_ask(const struct arbiter_config *cfg, uint64_t shortfall, struct arbiter_vm *vms,
		     struct arbiter_decision *dec, const struct arbiter_work *w,
		     const size_t *order, size_t m, uint64_t now)
{
	enum urgency urgency = shortfall ? URGENCY_HIGH : URGENCY_NORMAL;
	uint64_t covered = 0;

	for (size_t k = 0; k < m && (!shortfall || covered < shortfall); k++) {
		size_t i = order[k];
		struct arbiter_vm *vm = &vms[i];
		uint64_t base = vm->current_bytes, t;

		/* A guest under pressure has nothing to spare; it is only ever cut. */
		if (w->pressured[i])
			continue;
		if (!arbiter_may_ask(cfg, vm, &dec[i], now) ||
		    arbiter_align_down(cfg, dec[i].surplus_bytes) == 0)
			continue;
		t = base > dec[i].surplus_bytes ? base - dec[i].surplus_bytes : 0;
		t = arbiter_clamp(arbiter_align_up(cfg, t), vm->min_bytes, vm->max_bytes);
		if (t >= base)
			continue;
		covered += base - t;
		arbiter_ask_reclaim(vm, &dec[i], ARBITER_R_HOST_PRESSURE, t, urgency, now);
	}
}

void arbiter_host_pressure(const struct arbiter_config *cfg, uint64_t shortfall,
			   struct arbiter_vm *vms, size_t n, struct arbiter_decision *dec,
			   const struct arbiter_work *w, uint64_t now)
{
	size_t *order = w->order, m;
	uint64_t last_cut = 0, need = shortfall;

	m = host_order(vms, n, dec, w, order);
	/* The grace of every VM runs from when the pressure found it. */
	for (size_t k = 0; k < m; k++) {
		struct arbiter_vm_state *s = &vms[order[k]].state;

		if (!s->host_marked) {
			s->host_marked = true;
			s->host_since_usec = now;
		}
	}
	host_ask(cfg, shortfall, vms, dec, w, order, m, now);
	for (size_t i = 0; i < n; i++) {
		last_cut = arbiter_max(last_cut, vms[i].state.host_cut_usec);
		/* Memory already on its way back counts against what is missing. */
		need -= arbiter_min(need, arbiter_accounted_bytes(&vms[i]) - vms[i].state.target_bytes);
	}
	/* One round of cuts per grace: what the last one freed takes a while to show. */
	if (last_cut && now - last_cut < cfg->host_pressure_grace_usec)
		return;
	for (size_t k = 0; k < m; k++) {
		size_t i = order[k];
		struct arbiter_vm *vm = &vms[i];

		/* A VM is cut once its guest had the grace to give back by itself. */
		bool due = now - vm->state.host_since_usec >= cfg->host_pressure_grace_usec;

		if (shortfall) {
			if (due)
				need -= arbiter_min(need, host_cut(cfg, vm, &dec[i], need, now));
			if (need == 0)
				break;
			continue;
		}
		/* PSI only: how much is missing is unknown; one VM per round, strictly in order. */
		if (due)
			host_cut(cfg, vm, &dec[i], cut_step(vm, &dec[i]), now);
		break;
	}
}
