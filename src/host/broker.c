/* SPDX-License-Identifier: MIT */
#include "host/broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"
#include "host/driver_libvirt.h"

/* The arbiter also runs without news, for convergence checks and budget changes. */
#define BROKER_EVAL_PERIOD_USEC (1000 * 1000ull)
/* A VM whose hypervisor does not answer this long after it was added stops holding budget cuts back. */
#define BROKER_UNKNOWN_USEC (30 * 1000000ull)


/* Everything the configuration decides outside the VM list. */
static void configure(struct broker *b, const struct config *cfg)
{
	struct arbiter_config *a = &b->acfg;

	/* The VM list is cfg's (the caller's); the broker's are vms[]. */
	b->cfg = *cfg;
	b->cfg.vms = NULL;
	b->cfg.n_vms = 0;
	b->cfg.vms_cap = 0;
	/* A cgroup's limit is followed by broker_host_sample(); a fixed or auto budget is this. */
	if (!cfg->budget_cgroup[0] || !b->budget_bytes)
		b->budget_bytes = cfg->budget_bytes;
	arbiter_config_defaults(a);
	a->budget_mode = cfg->budget_mode == CONFIG_BUDGET_OVERCOMMIT ? ARBITER_BUDGET_OVERCOMMIT
								      : ARBITER_BUDGET_STRICT;
	a->host_psi_centi = cfg->host_psi_some_centi;
	a->host_pressure_grace_usec = cfg->host_pressure_grace_usec;
	a->align_bytes = 2ull << 20;
	a->converge_timeout_usec = cfg->converge_timeout_usec;
	a->oscillation_hold_usec = cfg->oscillation_hold_usec;
	a->fair_share_grace_usec = cfg->fair_share_grace_usec;
	a->demand_window_usec = cfg->demand_window_usec;
	b->vm_env.lines_per_wakeup = cfg->lines_per_wakeup;
	b->vm_env.error_limit = cfg->error_limit;
	b->vm_env.error_window_usec = cfg->error_window_usec;
	b->vm_env.penalty_usec = cfg->penalty_usec;
}

static const struct state_writer_ops writer_ops;

void broker_init(struct broker *b, struct loop *loop, const struct config *cfg, bool dry_run)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->dry_run = dry_run;
	b->vm_env.loop = loop;
	b->drv_env.loop = loop;
	b->drv_env.dry_run = dry_run;
	broker_ctl_init(b);
	configure(b, cfg);
	state_writer_init(&b->writer, loop, &writer_ops, b);
}

static struct broker_vm *find(const struct broker *b, const char *name)
{
	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead && strcmp(b->vms[i]->cfg.name, name) == 0)
			return b->vms[i];
	return NULL;
}

static uint64_t saved_target(const struct broker *b, const char *name)
{
	const struct state_entry *e = state_find(&b->saved, name);

	return e ? e->target_bytes : 0;
}

/*
 * Until the hypervisor has told us what a VM holds, account it at its last
 * target from the state file, or at its max: over-counting for a while is
 * safe, handing its memory to another VM is not.
 */
static void seed_unknown(struct broker *b, size_t i)
{
	const struct config_vm *c = &b->vms[i]->cfg;
	uint64_t saved = saved_target(b, c->name);
	uint64_t t = saved ? saved : c->max_bytes;

	t = t < c->min_bytes ? c->min_bytes : t > c->max_bytes ? c->max_bytes : t;
	arbiter_vm_seed(&b->arb[i], t);
	log_info("vm %s: accounted at %llu until QEMU answers (%s)", c->name, (unsigned long long)t,
		 saved ? "state file" : "max, no saved state");
}

/* A vsock channel comes from a listener: the VM's own (hybrid) or the shared AF_VSOCK one. */
static int transport_open(struct broker *b, struct broker_vm *v)
{
	const struct config_vm *c = &v->cfg;
	int r = 0;

	if (c->vsock_path[0])
		r = vsock_hybrid_open(&v->hybrid, b->loop, c->vsock_path, b->cfg.vsock_port, &v->link);
	if (c->vsock_cid && !b->vsock_open) {
		r = vsock_host_open(&b->vsock, b->loop, b->cfg.vsock_port);
		b->vsock_open = r == 0;
	}
	if (c->vsock_cid && r == 0)
		r = vsock_host_map(&b->vsock, c->vsock_cid, &v->link);
	if (r < 0)
		log_warnc(r, "vm %s: cannot listen for its vsock channel (port %u)", c->name,
			  b->cfg.vsock_port);
	return r;
}

static void transport_close(struct broker *b, struct broker_vm *v)
{
	vsock_hybrid_close(&v->hybrid);
	if (b->vsock_open)
		vsock_host_unmap(&b->vsock, &v->link);
}

static void vm_free(struct broker_vm *v)
{
	vm_close(&v->link);
	driver_close(&v->drv);
	free(v);
}

/* enum config_driver -> the hypervisor's ops. */
static const struct driver_ops *const driver_kinds[] = {
	[CONFIG_DRIVER_QMP] = &driver_qmp_ops,
	[CONFIG_DRIVER_LIBVIRT] = &driver_libvirt_ops,
	[CONFIG_DRIVER_CH] = &driver_ch_ops,
	[CONFIG_DRIVER_FC] = &driver_fc_ops,
};

/* Room for n VMs in vms[] and the arbiter's arrays. */
static int reserve(struct broker *b, size_t n)
{
	if (ARRAY_GROW(b->vms, b->vms_cap, n) < 0 || ARRAY_GROW(b->arb, b->arb_cap, n) < 0 ||
	    ARRAY_GROW(b->dec, b->dec_cap, n) < 0 ||
	    ARRAY_GROW(b->arb_scratch, b->arb_scratch_cap, ARBITER_SCRATCH_BYTES(n)) < 0)
		return -ENOMEM;
	return 0;
}

static int add_vm(struct broker *b, const struct config_vm *c, uint64_t now_usec)
{
	struct broker_vm *v;
	size_t i = b->n_vms;
	int r;

	if (reserve(b, i + 1) < 0)
		return -ENOMEM;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->cfg = *c;
	v->added_usec = now_usec;
	snprintf(v->last_reason, sizeof(v->last_reason), "none");
	vm_init(&v->link, &b->vm_env, c->name, c->channel_path, now_usec);
	loop_watch_init(&v->hybrid.w, NULL);
	r = driver_init(&v->drv, &b->drv_env, driver_kinds[c->driver], c);
	if (r < 0) {
		free(v);
		return r;
	}
	/* Without its channel the VM still counts (and is resized); its guest cannot ask until fixed. */
	transport_open(b, v);
	b->vms[i] = v;
	b->arb[i] = (struct arbiter_vm){ .min_bytes = c->min_bytes, .max_bytes = c->max_bytes,
					 .weight = c->weight };
	b->n_vms++;
	seed_unknown(b, i);
	driver_tick(&v->drv, now_usec);
	vm_tick(&v->link, now_usec);
	b->dirty = true;
	return 0;
}

int broker_start(struct broker *b, const struct config *cfg, uint64_t now_usec)
{
	int r;

	b->started_usec = now_usec;
	/* A thread only now: main.c forks the guest reader before any. */
	r = state_writer_start(&b->writer);
	if (r < 0)
		log_warnc(r, "cannot start the state file's writer thread; writing it on the loop");
	for (size_t i = 0; i < cfg->n_vms; i++) {
		r = add_vm(b, &cfg->vms[i], now_usec);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The hypervisor told the VM's sizes after a (re)connect: they are the truth from now on. */
static void reconciled(struct broker *b, size_t i, uint64_t now_usec)
{
	struct broker_vm *v = b->vms[i];
	struct arbiter_vm *a = &b->arb[i];
	uint64_t target = driver_reconciled_target(&v->drv, saved_target(b, v->cfg.name));
	uint64_t current = driver_current_bytes(&v->drv);

	log_info("vm %s: reconciled: boot %llu, current %llu, target %llu (was accounted %llu)",
		 v->cfg.name, (unsigned long long)v->drv.sizes.boot_bytes, (unsigned long long)current,
		 (unsigned long long)target, (unsigned long long)a->state.target_bytes);
	arbiter_vm_reconcile(a, target, current, now_usec);
	b->dirty = true;
	b->state_dirty = true;
}

/* What the driver heard: sizes, the target QEMU confirmed. */
static void collect_driver(struct broker *b, size_t i, uint64_t now_usec)
{
	struct broker_vm *v = b->vms[i];
	struct arbiter_vm *a = &b->arb[i];
	unsigned dn = driver_take_news(&v->drv);

	if (dn & DRIVER_NEWS_RECONCILED)
		reconciled(b, i, now_usec);
	else if (dn & DRIVER_NEWS_SIZE)
		a->current_bytes = driver_current_bytes(&v->drv);
	/* Only what QEMU confirmed counts as applied: a shrink in flight or refused does not. */
	if (driver_reconciled(&v->drv))
		a->applied_bytes = v->drv.applied_bytes;
	a->size_unknown = !driver_reconciled(&v->drv) && !v->ever_reconciled &&
			  now_usec - v->added_usec < BROKER_UNKNOWN_USEC;
	v->ever_reconciled |= driver_reconciled(&v->drv);
	if (dn)
		b->dirty = true;
}

/* What the guest link heard.  A hello starts a new session: its seq numbers start over. */
static void collect_link(struct broker *b, size_t i, uint64_t now_usec)
{
	struct broker_vm *v = b->vms[i];
	struct arbiter_vm *a = &b->arb[i];
	unsigned vn = vm_take_news(&v->link);
	bool welcomed;

	/* The welcome states the VM's size as the hypervisor reports it, so it waits for that. */
	if (v->link.hello && !v->link.welcomed && driver_reconciled(&v->drv))
		vm_welcome(&v->link, v->cfg.min_bytes, v->cfg.max_bytes, driver_current_bytes(&v->drv),
			   driver_block_bytes(&v->drv),
			   v->cfg.balloon_id[0] ? v->drv.sizes.boot_bytes : 0, now_usec);
	if (vn & VM_NEWS_HELLO)
		arbiter_vm_hello(a);
	/* The link's state is the truth; the bits only say that it is worth a look. */
	if (vn & (VM_NEWS_HELLO | VM_NEWS_DOWN | VM_NEWS_REQUEST)) {
		a->request = v->link.request;
		b->dirty = true;
	}
	welcomed = v->link.hello && v->link.welcomed;
	if (a->connected != welcomed) {
		a->connected = welcomed;
		b->dirty = true;
	}
	if (vn & VM_NEWS_REPORT)
		a->report = v->link.report;
	if (vn & VM_NEWS_DONE)
		driver_refresh(&v->drv, now_usec);
}

/* Take what the VM's two leaves heard since the last flush. */
static void collect(struct broker *b, size_t i, uint64_t now_usec)
{
	collect_driver(b, i, now_usec);
	collect_link(b, i, now_usec);
}

static void log_decision(const struct broker_vm *v, const struct arbiter_decision *d)
{
	log_info("vm %s: %s seq %llu target %llu reason %s: asked %llu current %llu fair %llu "
		 "surplus %llu%s%s",
		 v->cfg.name, arbiter_action_name(d->action), (unsigned long long)d->seq,
		 (unsigned long long)d->target_bytes, arbiter_reason_word(d->reason),
		 (unsigned long long)d->asked_bytes, (unsigned long long)d->current_bytes,
		 (unsigned long long)d->fair_bytes, (unsigned long long)d->surplus_bytes,
		 d->pressured ? " pressured" : "", d->non_converging ? " non-converging" : "");
}

/* The message a decision sends to the guest (verb NONE: nothing). */
static struct proto_msg message_of(const struct arbiter_decision *d)
{
	struct proto_msg m = { .verb = PROTO_VERB_NONE };

	switch (d->action) {
	case ARBITER_GRANT:
		m = (struct proto_msg){ .verb = PROTO_VERB_GRANT, .seq = d->seq,
					.target_bytes = d->target_bytes, .current_bytes = d->current_bytes };
		break;
	case ARBITER_DENY:
		m = (struct proto_msg){ .verb = PROTO_VERB_DENY, .seq = d->seq };
		snprintf(m.reason, sizeof(m.reason), "%s", arbiter_reason_word(d->reason));
		if (d->retry_after_usec > 0) {
			/* Rounded up: the guest must not ask back before the hold ends. */
			m.retry_after_ms = (d->retry_after_usec + 999) / 1000;
			m.present |= PROTO_HAS(PROTO_KEY_RETRY_AFTER);
		}
		break;
	case ARBITER_RECLAIM:
		m = (struct proto_msg){ .verb = PROTO_VERB_RECLAIM, .target_bytes = d->target_bytes,
					.urgency = d->urgency };
		break;
	case ARBITER_NONE:
		break;
	}
	return m;
}

static void act(struct broker *b, size_t i, uint64_t now_usec)
{
	struct broker_vm *v = b->vms[i];
	const struct arbiter_decision *d = &b->dec[i];
	uint64_t target = b->arb[i].state.target_bytes;
	struct proto_msg m = message_of(d);

	if (d->action != ARBITER_NONE) {
		log_decision(v, d);
		snprintf(v->last_reason, sizeof(v->last_reason), "%s", arbiter_reason_word(d->reason));
	}
	if (d->action != ARBITER_NONE || d->apply) {
		v->log[(v->log_head + v->log_len) % BROKER_WHY_LOG] = (struct broker_decision){ now_usec, *d };
		if (v->log_len < BROKER_WHY_LOG)
			v->log_len++;
		else
			v->log_head = (v->log_head + 1) % BROKER_WHY_LOG;
	}
	if (d->send_limits && v->link.hello) {
		struct proto_msg l = { .verb = PROTO_VERB_LIMITS, .min_bytes = v->cfg.min_bytes,
				       .max_bytes = v->cfg.max_bytes };

		vm_send(&v->link, &l, now_usec);
	}
	v->grants_total += d->action == ARBITER_GRANT;
	v->denies_total += d->action == ARBITER_DENY;
	v->reclaims_total += d->action == ARBITER_RECLAIM;
	if (d->action == ARBITER_GRANT)
		v->granted_bytes = d->target_bytes;
	if (d->action == ARBITER_RECLAIM) {
		v->reclaim_bytes = d->target_bytes;
		snprintf(v->reclaim_reason, sizeof(v->reclaim_reason), "%s",
			 arbiter_reason_word(d->reason));
	}
	if (m.verb != PROTO_VERB_NONE)
		vm_send(&v->link, &m, now_usec);
	if (d->apply) {
		if (d->action == ARBITER_NONE)
			log_info("vm %s: set target %llu reason %s (current %llu)", v->cfg.name,
				 (unsigned long long)d->apply_bytes, arbiter_reason_word(d->apply_reason),
				 (unsigned long long)d->current_bytes);
		b->state_dirty = true;
	}
	/* Apply whenever the hypervisor does not hold the arbiter's target yet (also after a failure). */
	if (driver_reconciled(&v->drv) && (d->apply || v->drv.applied_bytes != target))
		driver_apply(&v->drv, target, now_usec);
}

static void evaluate(struct broker *b, uint64_t now_usec)
{
	struct arbiter_host host = {
		.now_usec = now_usec,
		.budget_bytes = b->budget_bytes,
		.psi_some_avg10_centi = b->host_psi_some_centi,
		.mem_available_bytes = b->host_available_bytes,
		/* A cgroup's pressure is its PSI: its page cache keeps it near its limit. */
		.reserve_bytes = b->cfg.budget_cgroup[0] ? 0 : b->cfg.reserve_bytes,
		/* The machine's PSI also shows stalls of containers at their own limits. */
		.psi_available_bytes = b->cfg.budget_cgroup[0] ? 0 : 2 * b->cfg.reserve_bytes,
	};
	bool was_discounted = b->summary_valid && b->summary.host_psi_discounted;
	int r;

	/* PSI full at its threshold is host pressure too; the arbiter looks at one number. */
	if (b->host_psi_full_centi >= b->cfg.host_psi_full_centi &&
	    host.psi_some_avg10_centi < b->cfg.host_psi_some_centi)
		host.psi_some_avg10_centi = b->cfg.host_psi_some_centi;
	r = arbiter_evaluate(&b->acfg, &host, b->arb, b->n_vms, b->arb_scratch,
			     b->arb_scratch_cap, b->dec, &b->summary);
	b->evaluations_total++;
	b->last_eval_usec = now_usec;
	if (r < 0) {
		log_warnc(r, "arbiter refused the VM table");
		return;
	}
	b->summary_valid = true;
	if (b->summary.host_psi_discounted && !was_discounted)
		log_info("host PSI some %u.%02u%% is not host pressure while MemAvailable %llu is at least "
			 "2 x reserve: another cgroup's stall, cutting VMs would not relieve it",
			 host.psi_some_avg10_centi / 100, host.psi_some_avg10_centi % 100,
			 (unsigned long long)host.mem_available_bytes);
	for (size_t i = 0; i < b->n_vms; i++)
		act(b, i, now_usec);
	if (b->summary.budget_below_min)
		log_warnx("budget %llu leaves %llu for guest sizes (QEMU holds the rest), below the sum "
			  "of VM minimums %llu", (unsigned long long)b->summary.budget_bytes,
			  (unsigned long long)b->summary.size_budget_bytes,
			  (unsigned long long)b->summary.sum_min_bytes);
}

/* A state file write ended (state_writer.c): log a failure once per kind, keep what was written. */
static void state_written(void *ctx, int r, struct state *st)
{
	struct broker *b = ctx;

	if (r < 0 && r != b->state_error)
		log_warnc(r, "cannot write state file %s (said once; targets are not kept across "
			  "restarts until it can be written)", b->cfg.state_path);
	else if (r == 0 && b->state_error)
		log_info("state file %s written again", b->cfg.state_path);
	if (r == 0) {
		struct state old = b->saved;

		b->saved = *st;
		*st = old;
	}
	b->state_error = r;
}

static const struct state_writer_ops writer_ops = { .done = state_written };

void broker_save_state(struct broker *b)
{
	struct state *st = &b->saving;
	int r = 0;

	st->n = 0;
	for (size_t i = 0; i < b->n_vms && r == 0; i++)
		if (!b->vms[i]->dead)
			r = state_add(st, b->vms[i]->cfg.name, b->arb[i].state.target_bytes);
	/* Sorted, as state_find() on the saved state needs. */
	if (r == 0)
		r = state_sort(st);
	b->state_dirty = false;
	if (r < 0) {
		state_written(b, r, st);
		return;
	}
	state_writer_submit(&b->writer, b->cfg.state_path, st);
}

void broker_tick(struct broker *b, uint64_t now_usec)
{
	for (size_t i = 0; i < b->n_vms; i++) {
		if (b->vms[i]->dead)
			continue;
		driver_tick(&b->vms[i]->drv, now_usec);
		vm_tick(&b->vms[i]->link, now_usec);
	}
	if (now_usec - b->last_eval_usec >= BROKER_EVAL_PERIOD_USEC)
		b->dirty = true;
}

/* Free the VMs a reload removed, keeping vms[] and arb[] index for index. */
static void reap(struct broker *b)
{
	size_t j = 0;

	for (size_t i = 0; i < b->n_vms; i++) {
		if (b->vms[i]->dead) {
			vm_free(b->vms[i]);
			continue;
		}
		b->vms[j] = b->vms[i];
		b->arb[j] = b->arb[i];
		j++;
	}
	b->n_vms = j;
}

void broker_flush(struct broker *b, uint64_t now_usec)
{
	/* The loop turn is over: nothing in it can still point at a removed VM. */
	reap(b);
	for (size_t i = 0; i < b->n_vms; i++)
		collect(b, i, now_usec);
	if (b->dirty) {
		b->dirty = false;
		evaluate(b, now_usec);
	}
	if (b->state_dirty)
		broker_save_state(b);
	/* After the answers of this turn: a guest's request does not wait for it. */
	broker_sample_footprints(b, now_usec);
}

static bool same_sockets(const struct config_vm *a, const struct config_vm *c)
{
	return a->driver == c->driver && strcmp(a->api_path, c->api_path) == 0 &&
	       strcmp(a->vsock_path, c->vsock_path) == 0 && a->vsock_cid == c->vsock_cid &&
	       strcmp(a->qmp_path, c->qmp_path) == 0 && strcmp(a->channel_path, c->channel_path) == 0 &&
	       strcmp(a->vmem_id, c->vmem_id) == 0 && strcmp(a->balloon_id, c->balloon_id) == 0;
}

static const struct config_vm *config_find(const struct config *cfg, const char *name)
{
	for (size_t k = 0; k < cfg->n_vms; k++)
		if (strcmp(cfg->vms[k].name, name) == 0)
			return &cfg->vms[k];
	return NULL;
}

void broker_reload(struct broker *b, const struct config *cfg, uint64_t now_usec)
{
	b->reloads_total++;
	/* VMs gone from the file, or whose sockets changed, are removed (and maybe re-added). */
	for (size_t i = 0; i < b->n_vms; i++) {
		struct broker_vm *v = b->vms[i];
		const struct config_vm *c = config_find(cfg, v->cfg.name);

		if (v->dead)
			continue;
		if (!c || !same_sockets(&v->cfg, c)) {
			log_info("vm %s: removed by reload", v->cfg.name);
			/* Closed now, so a re-added VM can connect to the same sockets; freed by reap(). */
			vm_disconnect(&v->link, "removed", 0, now_usec);
			transport_close(b, v);
			driver_stop(&v->drv);
			v->dead = true;
			continue;
		}
		if (c->min_bytes != v->cfg.min_bytes || c->max_bytes != v->cfg.max_bytes ||
		    c->weight != v->cfg.weight)
			log_info("vm %s: limits now min %llu max %llu weight %u", v->cfg.name,
				 (unsigned long long)c->min_bytes, (unsigned long long)c->max_bytes,
				 c->weight);
		v->cfg = *c;
		driver_set_limits(&v->drv, c->min_bytes, c->max_bytes);
		b->arb[i].min_bytes = c->min_bytes;
		b->arb[i].max_bytes = c->max_bytes;
		b->arb[i].weight = c->weight;
	}
	configure(b, cfg);
	for (size_t k = 0; k < cfg->n_vms; k++) {
		if (find(b, cfg->vms[k].name))
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
	/* The last state is on disk when this returns. */
	state_writer_close(&b->writer);
	for (size_t i = 0; i < b->n_vms; i++) {
		transport_close(b, b->vms[i]);
		vm_free(b->vms[i]);
	}
	b->n_vms = 0;
	if (b->vsock_open)
		vsock_host_close(&b->vsock);
	free(b->vms);
	free(b->arb);
	free(b->dec);
	free(b->arb_scratch);
	state_free(&b->saved);
	state_free(&b->saving);
	b->vms = NULL;
	b->arb = NULL;
	b->dec = NULL;
	b->arb_scratch = NULL;
	b->vms_cap = b->arb_cap = b->dec_cap = b->arb_scratch_cap = 0;
}
