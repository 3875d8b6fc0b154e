/* SPDX-License-Identifier: MIT */
/*
 * libvirt discovery, the loop side (see discover.h): the domain table, the
 * watchers and the answers to commands, from the messages of the libvirt
 * thread (discover_lv.c).
 */
#include "host/discover_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/array.h"
#include "common/log.h"
#include "common/strbuf.h"

static struct entry *entry_find(struct discover *disc, const char *name)
{
	for (size_t i = 0; i < disc->n_doms; i++)
		if (disc->doms[i].present && strcmp(disc->doms[i].dom.name, name) == 0)
			return &disc->doms[i];
	return NULL;
}

static struct watcher *watcher_find(struct discover *disc, const char *name)
{
	for (size_t i = 0; i < disc->n_watchers; i++)
		if (disc->watchers[i].fn && strcmp(disc->watchers[i].name, name) == 0)
			return &disc->watchers[i];
	return NULL;
}

static void notify(struct discover *disc, const char *name, enum discover_news what)
{
	struct watcher *w = watcher_find(disc, name);
	struct entry *e = entry_find(disc, name);

	if (!w || (what != DISCOVER_NEWS_DOWN && (!e || !e->dom.managed)))
		return;
	if (what == DISCOVER_NEWS_UP || what == DISCOVER_NEWS_DOWN) {
		if (w->up == (what == DISCOVER_NEWS_UP))
			return;
		w->up = what == DISCOVER_NEWS_UP;
	}
	w->fn(w->ctx, what, e ? &e->dom : NULL);
}

/* Log a domain's state once each time it changes: managed with its limits, or why not. */
static void log_state(struct entry *e)
{
	const struct discover_dom *d = &e->dom;
	char now[sizeof(e->logged)];
	struct strbuf sb;

	strbuf_init(&sb, now, sizeof(now));
	if (d->managed)
		strbuf_printf(&sb, "managed: boot %llu, %s%s%s%s, channel %s, min %llu max %llu weight %u",
			 (unsigned long long)d->boot_bytes, d->vmem_alias[0] ? "virtio-mem " : "",
			 d->vmem_alias, d->balloon_alias[0] ? " balloon " : "", d->balloon_alias,
			 d->channel_path, (unsigned long long)d->min_bytes,
			 (unsigned long long)d->max_bytes, d->weight);
	else
		strbuf_printf(&sb, "not managed: %s", d->reason);
	if (strcmp(now, e->logged) == 0)
		return;
	snprintf(e->logged, sizeof(e->logged), "%s", now);
	log_info("libvirt: domain \"%s\" %s", d->name, now);
}

/* Did anything the VM list is built from change? */
static bool differs(const struct discover_dom *a, const struct discover_dom *b)
{
	return a->managed != b->managed || a->min_bytes != b->min_bytes || a->max_bytes != b->max_bytes ||
	       a->weight != b->weight || strcmp(a->channel_path, b->channel_path) != 0 ||
	       strcmp(a->vmem_alias, b->vmem_alias) != 0 || strcmp(a->balloon_alias, b->balloon_alias) != 0;
}

/* A free entry: one a gone domain left, else a new one. */
static struct entry *slot_of(struct discover *disc)
{
	for (size_t i = 0; i < disc->n_doms; i++)
		if (!disc->doms[i].present)
			return &disc->doms[i];
	if (ARRAY_GROW(disc->doms, disc->doms_cap, disc->n_doms + 1) < 0)
		return NULL;
	return &disc->doms[disc->n_doms++];
}

static void domain_seen(struct discover *disc, const struct lv_msg *m)
{
	struct entry *e = entry_find(disc, m->dom.name);

	if (m->err < 0) {
		log_warnx("libvirt: domain \"%s\": %s; not managed", m->dom.name, m->text);
		return;
	}
	if (!e) {
		e = slot_of(disc);
		if (!e) {
			log_warnx("libvirt: domain \"%s\": out of memory; not managed", m->dom.name);
			return;
		}
		memset(e, 0, sizeof(*e));
		e->present = true;
		disc->changed |= m->dom.managed;
	} else {
		disc->changed |= differs(&e->dom, &m->dom);
	}
	e->dom = m->dom;
	e->seen = true;
	log_state(e);
	notify(disc, e->dom.name, e->dom.managed ? DISCOVER_NEWS_UP : DISCOVER_NEWS_DOWN);
}

static void domain_gone(struct discover *disc, struct entry *e, const char *why)
{
	log_info("libvirt: domain \"%s\" %s%s", e->dom.name, why,
		 e->dom.managed ? ": no longer managed" : "");
	disc->changed |= e->dom.managed;
	e->present = false;
	notify(disc, e->dom.name, DISCOVER_NEWS_DOWN);
}

static void fail_pending(struct discover *disc, int err, const char *why)
{
	for (size_t i = 0; i < PEND_MAX; i++) {
		struct pending p = disc->pend[i];

		if (!p.fn)
			continue;
		disc->pend[i].fn = NULL;
		p.fn(p.ctx, err, why, NULL);
	}
}

static void on_down(struct discover *disc, const char *why)
{
	if (disc->up)
		log_warnx("libvirt: connection to %s lost: %s; reconnecting", disc->uri, why);
	else
		log_debug("libvirt: cannot connect to %s: %s", disc->uri, why);
	disc->up = false;
	for (size_t i = 0; i < disc->n_watchers; i++)
		if (disc->watchers[i].fn)
			notify(disc, disc->watchers[i].name, DISCOVER_NEWS_DOWN);
	fail_pending(disc, -ENOTCONN, why);
}

static void on_done(struct discover *disc, const struct lv_msg *m)
{
	for (size_t i = 0; i < PEND_MAX; i++) {
		struct pending p = disc->pend[i];

		if (!p.fn || p.token != m->token)
			continue;
		disc->pend[i].fn = NULL;
		p.fn(p.ctx, m->err, m->text, m->err == 0 ? &m->dom : NULL);
		return;
	}
}

static void on_size_event(struct discover *disc, const struct lv_msg *m)
{
	struct entry *e = entry_find(disc, m->dom.name);

	if (!e)
		return;
	if (m->kind == MSG_VMEM) {
		if (strcmp(e->dom.vmem_alias, m->dom.vmem_alias) != 0)
			return;
		e->dom.vmem_current_bytes = m->dom.vmem_current_bytes;
	} else {
		e->dom.balloon_actual_bytes = m->dom.balloon_actual_bytes;
	}
	notify(disc, e->dom.name, m->kind == MSG_VMEM ? DISCOVER_NEWS_VMEM : DISCOVER_NEWS_BALLOON);
}

static void handle(struct discover *disc, const struct lv_msg *m)
{
	switch (m->kind) {
	case MSG_UP:
		disc->up = true;
		disc->connects++;
		log_info("libvirt: connected to %s", disc->uri);
		break;
	case MSG_DOWN:
		on_down(disc, m->text);
		break;
	case MSG_LIST_BEGIN:
		for (size_t i = 0; i < disc->n_doms; i++)
			disc->doms[i].seen = false;
		break;
	case MSG_LIST_END:
		for (size_t i = 0; i < disc->n_doms; i++)
			if (disc->doms[i].present && !disc->doms[i].seen)
				domain_gone(disc, &disc->doms[i], "no longer runs");
		break;
	case MSG_DOMAIN:
		domain_seen(disc, m);
		break;
	case MSG_GONE: {
		struct entry *e = entry_find(disc, m->dom.name);

		if (e)
			domain_gone(disc, e, m->text);
		break;
	}
	case MSG_DONE:
		on_done(disc, m);
		break;
	case MSG_VMEM:
	case MSG_BALLOON:
		on_size_event(disc, m);
		break;
	}
}

static void on_event(struct loop_watch *w, uint32_t events)
{
	struct discover *disc = LOOP_OWNER(w, struct discover, ev);
	uint64_t count;
	size_t n;

	(void)!read(w->fd, &count, sizeof(count));
	pthread_mutex_lock(&disc->mu);
	n = disc->nmsg;
	memcpy(disc->inbox, disc->msgs, n * sizeof(disc->msgs[0]));
	disc->nmsg = 0;
	pthread_mutex_unlock(&disc->mu);
	for (size_t i = 0; i < n; i++)
		handle(disc, &disc->inbox[i]);
	if (disc->changed) {
		disc->changed = false;
		disc->ops->changed(disc->ctx);
	}
}

/* Queue a command for the thread and wake it; fn gets the answer. */
static int submit(struct discover *disc, const struct lv_cmd *c, discover_done_fn *fn, void *ctx)
{
	struct pending *p = NULL;
	int r = 0;

	if (!disc->up)
		return -ENOTCONN;
	for (size_t i = 0; i < PEND_MAX && !p; i++)
		if (!disc->pend[i].fn)
			p = &disc->pend[i];
	if (!p)
		return -ENOBUFS;
	pthread_mutex_lock(&disc->mu);
	if (disc->ncmd == CMD_MAX) {
		r = -ENOBUFS;
	} else {
		disc->cmds[disc->ncmd] = *c;
		disc->cmds[disc->ncmd++].token = ++disc->next_token;
	}
	pthread_mutex_unlock(&disc->mu);
	if (r < 0)
		return r;
	*p = (struct pending){ .token = disc->next_token, .fn = fn, .ctx = ctx };
	discover_lv_wake(disc);
	return 0;
}

static int command(struct discover *disc, enum cmd_kind kind, const char *name, const char *alias,
		   uint64_t bytes, discover_done_fn *fn, void *ctx)
{
	struct lv_cmd c = { .kind = kind, .bytes = bytes };

	snprintf(c.dom, sizeof(c.dom), "%s", name);
	snprintf(c.alias, sizeof(c.alias), "%s", alias ? alias : "");
	return submit(disc, &c, fn, ctx);
}

int discover_refresh(struct discover *disc, const char *name, discover_done_fn *fn, void *ctx)
{
	return command(disc, CMD_REFRESH, name, NULL, 0, fn, ctx);
}

int discover_set_vmem(struct discover *disc, const char *name, const char *alias, uint64_t bytes,
		      discover_done_fn *fn, void *ctx)
{
	return command(disc, CMD_VMEM, name, alias, bytes, fn, ctx);
}

int discover_set_balloon(struct discover *disc, const char *name, uint64_t bytes,
			 discover_done_fn *fn, void *ctx)
{
	return command(disc, CMD_BALLOON, name, NULL, bytes, fn, ctx);
}

int discover_watch(struct discover *disc, const char *name, discover_watch_fn *fn, void *ctx)
{
	struct watcher *w = NULL;

	if (watcher_find(disc, name))
		return -EEXIST;
	for (size_t i = 0; i < disc->n_watchers && !w; i++)
		if (!disc->watchers[i].fn)
			w = &disc->watchers[i];
	if (!w && ARRAY_GROW(disc->watchers, disc->watchers_cap, disc->n_watchers + 1) < 0)
		return -ENOMEM;
	if (!w)
		w = &disc->watchers[disc->n_watchers++];
	*w = (struct watcher){ .fn = fn, .ctx = ctx };
	snprintf(w->name, sizeof(w->name), "%s", name);
	if (disc->up)
		notify(disc, name, DISCOVER_NEWS_UP);
	return 0;
}

void discover_unwatch(struct discover *disc, const char *name, void *ctx)
{
	struct watcher *w = watcher_find(disc, name);

	if (w && w->ctx == ctx)
		w->fn = NULL;
	for (size_t i = 0; i < PEND_MAX; i++)
		if (disc->pend[i].ctx == ctx)
			disc->pend[i].fn = NULL;
}

void discover_config(struct discover *disc, struct config *cfg)
{
	for (size_t i = 0; i < disc->n_doms; i++) {
		const struct discover_dom *d = &disc->doms[i].dom;
		struct config_vm *vm;
		bool taken = false;

		if (!disc->doms[i].present || !d->managed)
			continue;
		for (size_t k = 0; k < cfg->n_vms; k++)
			taken |= strcmp(cfg->vms[k].name, d->name) == 0;
		vm = taken ? NULL : config_push_vm(cfg);
		if (!vm) {
			log_warnx("libvirt: domain \"%s\" not managed: %s", d->name,
				  taken ? "a configured VM has that name" : "out of memory");
			continue;
		}
		*vm = (struct config_vm){ .driver = CONFIG_DRIVER_LIBVIRT, .min_bytes = d->min_bytes,
					  .max_bytes = d->max_bytes, .weight = d->weight,
					  .has_min = true, .has_max = true };
		/* A managed domain's name is a valid VM name: it fits. */
		snprintf(vm->name, sizeof(vm->name), "%.*s", (int)sizeof(vm->name) - 1, d->name);
		snprintf(vm->channel_path, sizeof(vm->channel_path), "%s", d->channel_path);
		snprintf(vm->vmem_id, sizeof(vm->vmem_id), "%s", d->vmem_alias);
		snprintf(vm->balloon_id, sizeof(vm->balloon_id), "%s", d->balloon_alias);
		snprintf(vm->origin, sizeof(vm->origin), "libvirt %s", disc->uri);
	}
}

const char *discover_link_word(const struct discover *disc)
{
	return disc->up ? "ready" : "down";
}

unsigned discover_connects(const struct discover *disc)
{
	return disc->connects;
}

int discover_open(struct loop *loop, const char *uri, const struct discover_ops *ops, void *ctx,
		  struct discover **ret)
{
	struct discover *disc = calloc(1, sizeof(*disc));
	int r = -ENOMEM;

	if (!disc)
		return r;
	snprintf(disc->uri, sizeof(disc->uri), "%s", uri);
	pthread_mutex_init(&disc->mu, NULL);
	backoff_init(&disc->backoff, LV_BACKOFF_MIN_USEC, LV_BACKOFF_MAX_USEC);
	disc->loop = loop;
	disc->ops = ops;
	disc->ctx = ctx;
	loop_watch_init(&disc->ev, on_event);
	/* libvirt's own event loop, run by the thread; registered before any connection. */
	r = -EIO;
	if (discover_lv_init(disc) < 0)
		goto out;
	disc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	disc->ev.fd = disc->efd;
	if (disc->efd < 0 || (r = loop_add(loop, &disc->ev, EPOLLIN)) < 0 ||
	    (r = worker_new(discover_lv_thread, disc, &disc->w)) < 0 || (r = worker_start(disc->w)) < 0)
		goto out;
	*ret = disc;
	return 0;
out:
	if (r == -EIO)
		r = disc->efd < 0 ? -errno : -EIO;
	worker_stop(disc->w, UINT64_MAX);
	if (disc->ev.fd >= 0)
		loop_watch_close(loop, &disc->ev);
	free(disc);
	return r;
}

void discover_close(struct discover *disc)
{
	if (!disc)
		return;
	loop_del(disc->loop, &disc->ev);
	worker_cancel(disc->w);
	discover_lv_wake(disc);
	/* A thread stuck in a libvirt call past the wait keeps disc: it is left, not freed. */
	if (worker_stop(disc->w, LV_STOP_WAIT_USEC) < 0) {
		log_warnx("libvirt: the libvirt thread did not stop in time; leaving it");
		return;
	}
	discover_lv_fini(disc);
	close(disc->efd);
	free(disc->doms);
	free(disc->watchers);
	free(disc);
}
