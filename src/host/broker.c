/* SPDX-License-Identifier: MIT */
#include "host/broker.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"

/* The arbiter also runs without news, for convergence checks and budget changes. */
#define BROKER_EVAL_PERIOD_USEC (1000 * 1000ull)

static void arbiter_config_from(struct arbiter_config *a, const struct config *cfg)
{
	arbiter_config_defaults(a);
	a->host_psi_centi = cfg->host_psi_some_centi;
	a->align_bytes = 2ull << 20;
	a->converge_timeout_usec = cfg->converge_timeout_usec;
	a->oscillation_hold_usec = cfg->oscillation_hold_usec;
	a->fair_share_grace_usec = cfg->fair_share_grace_usec;
	a->demand_window_usec = cfg->demand_window_usec;
}

void broker_init(struct broker *b, struct loop *loop, const struct config *cfg, bool dry_run)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->cfg = *cfg;
	b->dry_run = dry_run;
	arbiter_config_from(&b->acfg, cfg);
}

struct vm *broker_find(const struct broker *b, const char *name)
{
	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead && strcmp(b->vms[i]->cfg.name, name) == 0)
			return b->vms[i];
	return NULL;
}

/*
 * Until QEMU has told us what a VM holds, account it at its last target
 * from the state file, or at its max: over-counting for a while is safe,
 * handing its memory to another VM is not.
 */
static void seed_unknown(struct broker *b, struct vm *vm)
{
	const struct state_entry *e = state_find(&b->saved, vm->cfg.name);
	struct arbiter_vm_state *st = &vm->arb.state;
	uint64_t t = e ? e->target_bytes : vm->cfg.max_bytes;

	if (t < vm->cfg.min_bytes)
		t = vm->cfg.min_bytes;
	if (t > vm->cfg.max_bytes)
		t = vm->cfg.max_bytes;
	st->initialized = true;
	st->target_bytes = t;
	st->prev_min_bytes = vm->cfg.min_bytes;
	st->prev_max_bytes = vm->cfg.max_bytes;
	vm->arb.current_bytes = t;
	vm->applied_bytes = t;
	log_info("vm %s: accounted at %llu until QEMU answers (%s)", vm->cfg.name,
		 (unsigned long long)t, e ? "state file" : "max, no saved state");
}

static int add_vm(struct broker *b, const struct config_vm *c, uint64_t now_usec)
{
	struct vm *vm;

	if (b->n_vms == CONFIG_MAX_VMS)
		return -ENOSPC;
	vm = vm_new(b, c, now_usec);
	if (!vm)
		return -ENOMEM;
	seed_unknown(b, vm);
	b->vms[b->n_vms++] = vm;
	vm_tick(vm, now_usec);
	b->dirty = true;
	return 0;
}

int broker_start(struct broker *b, uint64_t now_usec)
{
	int r;

	b->started_usec = now_usec;
	for (size_t i = 0; i < b->cfg.n_vms; i++) {
		r = add_vm(b, &b->cfg.vms[i], now_usec);
		if (r < 0)
			return r;
	}
	return 0;
}

void broker_vm_reconciled(struct broker *b, struct vm *vm)
{
	struct arbiter_vm_state *st = &vm->arb.state;
	const struct state_entry *e = state_find(&b->saved, vm->cfg.name);
	uint64_t target = vm->base_bytes;

	/*
	 * QEMU's requested-size is the truth for virtio-mem; a balloon target
	 * cannot be queried, so it comes from what we set or saved.
	 */
	if (vm->cfg.vmem_id[0])
		target += vm->vmem.requested_bytes;
	if (vm->cfg.balloon_id[0]) {
		uint64_t bt = vm->balloon_target_bytes ? vm->balloon_target_bytes :
				e && e->target_bytes < vm->base_bytes ? e->target_bytes :
								       vm->balloon_actual_bytes;

		if (bt < vm->base_bytes)
			target -= vm->base_bytes - bt;
		vm->balloon_target_bytes = bt;
	}
	vm->arb.current_bytes = vm_current_bytes(vm);
	log_info("vm %s: reconciled: boot %llu, current %llu, target %llu (was accounted %llu)",
		 vm->cfg.name, (unsigned long long)vm->base_bytes,
		 (unsigned long long)vm->arb.current_bytes, (unsigned long long)target,
		 (unsigned long long)st->target_bytes);
	st->target_bytes = target;
	st->initialized = true;
	/*
	 * Convergence is judged from now on, not from before the reconnect:
	 * the gap as it is now, measured from now.  (A zero time here would be
	 * read as "no progress since boot" once the host is up longer than
	 * converge_timeout.)
	 */
	st->best_gap_bytes = target > vm->arb.current_bytes ? target - vm->arb.current_bytes :
							       vm->arb.current_bytes - target;
	st->progress_usec = clock_now_usec();
	st->non_converging = false;
	vm->applied_bytes = target;
	b->dirty = true;
	b->state_dirty = true;
	if (vm->welcome_pending)
		vm_send_welcome(vm, clock_now_usec());
}

static void log_decision(const struct vm *vm, const struct arbiter_decision *d)
{
	log_info("vm %s: %s seq %llu target %llu reason %s: asked %llu current %llu fair %llu "
		 "surplus %llu%s%s",
		 vm->cfg.name, arbiter_action_name(d->action), (unsigned long long)d->seq,
		 (unsigned long long)d->target_bytes, arbiter_reason_word(d->reason),
		 (unsigned long long)d->asked_bytes, (unsigned long long)d->current_bytes,
		 (unsigned long long)d->fair_bytes, (unsigned long long)d->surplus_bytes,
		 d->pressured ? " pressured" : "", d->non_converging ? " non-converging" : "");
}

static void act(struct broker *b, struct vm *vm, const struct arbiter_decision *d, uint64_t now_usec)
{
	struct proto_msg m = { 0 };
	const char *word = arbiter_reason_word(d->reason);

	if (d->action != ARBITER_NONE) {
		log_decision(vm, d);
		snprintf(vm->last_reason, sizeof(vm->last_reason), "%s", word);
	}
	if (d->send_limits && vm->hello) {
		m = (struct proto_msg){ .verb = PROTO_VERB_LIMITS, .min_bytes = vm->cfg.min_bytes,
					.max_bytes = vm->cfg.max_bytes };
		vm_send(vm, &m, now_usec);
	}
	switch (d->action) {
	case ARBITER_GRANT:
		m = (struct proto_msg){ .verb = PROTO_VERB_GRANT, .seq = d->seq,
					.target_bytes = d->target_bytes, .current_bytes = d->current_bytes };
		vm->granted_bytes = d->target_bytes;
		vm->grants_total++;
		vm_send(vm, &m, now_usec);
		break;
	case ARBITER_DENY:
		m = (struct proto_msg){ .verb = PROTO_VERB_DENY, .seq = d->seq };
		snprintf(m.reason, sizeof(m.reason), "%s", word);
		vm->denies_total++;
		vm_send(vm, &m, now_usec);
		break;
	case ARBITER_RECLAIM:
		m = (struct proto_msg){ .verb = PROTO_VERB_RECLAIM, .target_bytes = d->target_bytes,
					.urgency = (enum proto_urgency)d->urgency };
		vm->reclaims_total++;
		vm_send(vm, &m, now_usec);
		break;
	case ARBITER_NONE:
		break;
	}
	if (d->apply) {
		if (d->action == ARBITER_NONE)
			log_info("vm %s: set target %llu reason %s (current %llu)", vm->cfg.name,
				 (unsigned long long)d->apply_bytes, arbiter_reason_word(d->apply_reason),
				 (unsigned long long)d->current_bytes);
		b->state_dirty = true;
	}
	/* Apply whenever QEMU does not hold the arbiter's target yet (also after a failure). */
	if (vm->reconciled && (d->apply || vm->applied_bytes != vm->arb.state.target_bytes))
		driver_apply(vm, vm->arb.state.target_bytes, now_usec);
}

static void evaluate(struct broker *b, uint64_t now_usec)
{
	static struct arbiter_vm avms[CONFIG_MAX_VMS];
	static struct arbiter_decision dec[CONFIG_MAX_VMS];
	struct arbiter_host host = {
		.now_usec = now_usec,
		.budget_bytes = b->cfg.budget_bytes,
		.psi_some_avg10_centi = b->host_psi_some_centi,
		.mem_available_bytes = b->host_available_bytes,
		.reserve_bytes = b->cfg.reserve_bytes,
	};
	size_t n = 0;
	int r;

	/* PSI full at its threshold is host pressure too; the arbiter looks at one number. */
	if (b->host_psi_full_centi >= b->cfg.host_psi_full_centi &&
	    host.psi_some_avg10_centi < b->cfg.host_psi_some_centi)
		host.psi_some_avg10_centi = b->cfg.host_psi_some_centi;
	for (size_t i = 0; i < b->n_vms; i++) {
		if (b->vms[i]->dead)
			continue;
		avms[n++] = b->vms[i]->arb;
	}
	r = arbiter_evaluate(&b->acfg, &host, avms, n, dec, &b->summary);
	b->evaluations_total++;
	b->last_eval_usec = now_usec;
	if (r < 0) {
		log_warnc(r, "arbiter refused the VM table");
		return;
	}
	b->summary_valid = true;
	n = 0;
	for (size_t i = 0; i < b->n_vms; i++) {
		struct vm *vm = b->vms[i];

		if (vm->dead)
			continue;
		vm->arb = avms[n];
		act(b, vm, &dec[n], now_usec);
		n++;
	}
	if (b->summary.budget_below_min)
		log_warnx("budget %llu is below the sum of VM minimums %llu",
			  (unsigned long long)b->summary.budget_bytes,
			  (unsigned long long)b->summary.sum_min_bytes);
}

void broker_save_state(struct broker *b)
{
	struct state st = { .n = 0 };
	int r;

	for (size_t i = 0; i < b->n_vms; i++) {
		struct vm *vm = b->vms[i];

		if (vm->dead)
			continue;
		snprintf(st.entries[st.n].name, sizeof(st.entries[st.n].name), "%s", vm->cfg.name);
		st.entries[st.n].target_bytes = vm->arb.state.target_bytes;
		st.n++;
	}
	r = state_save(b->cfg.state_path, &st);
	if (r < 0)
		log_warnc(r, "cannot write state file %s", b->cfg.state_path);
	else
		b->saved = st;
	b->state_dirty = false;
}

void broker_tick(struct broker *b, uint64_t now_usec)
{
	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead)
			vm_tick(b->vms[i], now_usec);
	if (now_usec - b->last_eval_usec >= BROKER_EVAL_PERIOD_USEC)
		b->dirty = true;
}

bool broker_has_backlog(const struct broker *b)
{
	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead && b->vms[i]->backlog)
			return true;
	return false;
}

static void reap(struct broker *b)
{
	size_t j = 0;

	for (size_t i = 0; i < b->n_vms; i++) {
		if (b->vms[i]->dead)
			vm_free(b->vms[i]);
		else
			b->vms[j++] = b->vms[i];
	}
	b->n_vms = j;
}

void broker_flush(struct broker *b, uint64_t now_usec)
{
	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead && b->vms[i]->backlog)
			vm_drain(b->vms[i], now_usec);
	if (b->dirty) {
		b->dirty = false;
		evaluate(b, now_usec);
	}
	if (b->state_dirty)
		broker_save_state(b);
	reap(b);
}

static bool same_sockets(const struct config_vm *a, const struct config_vm *c)
{
	return strcmp(a->qmp_path, c->qmp_path) == 0 && strcmp(a->channel_path, c->channel_path) == 0 &&
	       strcmp(a->vmem_id, c->vmem_id) == 0 && strcmp(a->balloon_id, c->balloon_id) == 0;
}

void broker_reload(struct broker *b, const struct config *cfg, uint64_t now_usec)
{
	b->reloads_total++;
	/* VMs gone from the file, or whose sockets changed, are removed (and maybe re-added). */
	for (size_t i = 0; i < b->n_vms; i++) {
		struct vm *vm = b->vms[i];
		const struct config_vm *c = NULL;

		for (size_t k = 0; k < cfg->n_vms && !c; k++)
			if (strcmp(cfg->vms[k].name, vm->cfg.name) == 0)
				c = &cfg->vms[k];
		if (!c || !same_sockets(&vm->cfg, c)) {
			log_info("vm %s: removed by reload", vm->cfg.name);
			vm_disconnect(vm, "removed", 0, now_usec);
			qmp_destroy(&vm->qmp);
			vm->dead = true;
			continue;
		}
		if (c->min_bytes != vm->cfg.min_bytes || c->max_bytes != vm->cfg.max_bytes ||
		    c->weight != vm->cfg.weight)
			log_info("vm %s: limits now min %llu max %llu weight %u", vm->cfg.name,
				 (unsigned long long)c->min_bytes, (unsigned long long)c->max_bytes,
				 c->weight);
		vm->cfg = *c;
		vm->arb.min_bytes = c->min_bytes;
		vm->arb.max_bytes = c->max_bytes;
		vm->arb.weight = c->weight;
	}
	b->cfg = *cfg;
	arbiter_config_from(&b->acfg, cfg);
	for (size_t k = 0; k < cfg->n_vms; k++) {
		if (broker_find(b, cfg->vms[k].name))
			continue;
		log_info("vm %s: added by reload", cfg->vms[k].name);
		if (add_vm(b, &cfg->vms[k], now_usec) < 0)
			log_warnx("vm %s: cannot add", cfg->vms[k].name);
	}
	b->dirty = true;
	b->state_dirty = true;
}

void broker_shutdown(struct broker *b)
{
	broker_save_state(b);
	for (size_t i = 0; i < b->n_vms; i++)
		vm_free(b->vms[i]);
	b->n_vms = 0;
}
