/* SPDX-License-Identifier: MIT */
/*
 * libvirt discovery and the one libvirt connection (see discover.h).  Two
 * halves: the libvirt thread (lv_*: everything that calls libvirt) and
 * the loop side (the domain table, the watchers, the answers).  They share
 * only the command and message queues under one mutex, and an eventfd.
 */
#include "host/discover.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/worker.h"

#define CMD_MAX 64
#define MSG_MAX 256
#define PEND_MAX 64
#define DOMS_MAX (2 * CONFIG_MAX_VMS)
#define LV_TICK_MS 250               /* the libvirt thread looks at its flags this often */
#define LV_BACKOFF_MIN_USEC (500 * 1000ull)
#define LV_BACKOFF_MAX_USEC (30 * 1000000ull)
#define LV_KEEPALIVE_SEC 5
#define LV_STOP_WAIT_USEC (2 * 1000000ull)

enum cmd_kind { CMD_REFRESH, CMD_VMEM, CMD_BALLOON };

struct lv_cmd {
	enum cmd_kind kind;
	uint32_t token;
	char dom[2 * DISCOVER_NAME_MAX];
	char alias[CONFIG_ID_MAX];
	uint64_t bytes;
};

enum msg_kind {
	MSG_UP, MSG_DOWN, MSG_LIST_BEGIN, MSG_LIST_END, MSG_DOMAIN, MSG_GONE, MSG_DONE, MSG_VMEM,
	MSG_BALLOON,
};

struct lv_msg {
	enum msg_kind kind;
	uint32_t token;
	int err;
	char text[160];
	struct discover_dom dom;  /* DOMAIN, DONE of a refresh; name only for the others */
};

struct entry {
	struct discover_dom dom;
	bool present;
	bool seen;                /* in the listing under way */
	char logged[200];         /* the last state logged for this domain */
};

struct watcher {
	char name[2 * DISCOVER_NAME_MAX];
	discover_watch_fn *fn;
	void *ctx;
	bool up;
};

struct pending {
	uint32_t token;
	discover_done_fn *fn;
	void *ctx;
};

struct discover {
	char uri[CONFIG_PATH_MAX];
	struct worker *w;

	/* Shared, under mu. */
	pthread_mutex_t mu;
	struct lv_cmd cmds[CMD_MAX];
	size_t ncmd;
	struct lv_msg msgs[MSG_MAX];
	size_t nmsg;
	bool relist;              /* a message was dropped: list again */
	int efd;                  /* the loop's wakeup */
	int wake_timer;           /* libvirt timer that wakes the thread for commands */

	/* The libvirt thread's. */
	virConnectPtr conn;
	bool conn_closed;
	struct backoff backoff;
	int cb[6];
	char last_error[160];

	/* The loop's. */
	struct loop *loop;
	struct loop_watch ev;
	const struct discover_ops *ops;
	void *ctx;
	bool up;
	unsigned connects;
	struct lv_msg inbox[MSG_MAX];
	struct entry doms[DOMS_MAX];
	struct watcher watchers[CONFIG_MAX_VMS];
	struct pending pend[PEND_MAX];
	uint32_t next_token;
	bool changed;
};

/* ======== the libvirt thread ======== */

static void lv_post(struct discover *disc, const struct lv_msg *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&disc->mu);
	if (disc->nmsg < MSG_MAX)
		disc->msgs[disc->nmsg++] = *m;
	else
		disc->relist = true;
	pthread_mutex_unlock(&disc->mu);
	(void)!write(disc->efd, &one, sizeof(one));
}

static void lv_post_simple(struct discover *disc, enum msg_kind kind, const char *name, const char *text)
{
	struct lv_msg m = { .kind = kind };

	snprintf(m.dom.name, sizeof(m.dom.name), "%s", name ? name : "");
	snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
	lv_post(disc, &m);
}

static const char *lv_error(void)
{
	const char *e = virGetLastErrorMessage();

	return e ? e : "unknown error";
}

/* Read and parse a domain's XML into m->dom; -errno with the reason in m->text. */
static int lv_read_domain(virDomainPtr dom, struct lv_msg *m)
{
	char *xml = virDomainGetXMLDesc(dom, 0);
	int r;

	snprintf(m->dom.name, sizeof(m->dom.name), "%s", virDomainGetName(dom));
	if (!xml) {
		snprintf(m->text, sizeof(m->text), "cannot read its XML: %s", lv_error());
		return -EIO;
	}
	r = discover_parse_xml(xml, strlen(xml), &m->dom);
	if (r < 0)
		snprintf(m->text, sizeof(m->text), "its XML is not a domain's (%s)", strerror(-r));
	free(xml);
	return r;
}

static void lv_post_domain(struct discover *disc, virDomainPtr dom)
{
	struct lv_msg m = { .kind = MSG_DOMAIN };

	m.err = lv_read_domain(dom, &m);
	lv_post(disc, &m);
}

static void lv_list(struct discover *disc)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(disc->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0)
		return lv_post_simple(disc, MSG_DOWN, NULL, lv_error());
	lv_post_simple(disc, MSG_LIST_BEGIN, NULL, NULL);
	for (int i = 0; i < n; i++) {
		lv_post_domain(disc, doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
	lv_post_simple(disc, MSG_LIST_END, NULL, NULL);
}

static int lv_on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct discover *disc = opaque;

	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_DEFINED:
		/* A definition changed under a running domain: its XML may say something new. */
		if (virDomainIsActive(dom) == 1)
			lv_post_domain(disc, dom);
		break;
	case VIR_DOMAIN_EVENT_UNDEFINED:
		/* Undefined while running, it runs on as a transient domain. */
		if (virDomainIsActive(dom) == 1)
			lv_post_domain(disc, dom);
		else
			lv_post_simple(disc, MSG_GONE, virDomainGetName(dom), "undefined");
		break;
	case VIR_DOMAIN_EVENT_STOPPED:
		lv_post_simple(disc, MSG_GONE, virDomainGetName(dom), "stopped");
		break;
	case VIR_DOMAIN_EVENT_CRASHED:
		lv_post_simple(disc, MSG_GONE, virDomainGetName(dom), "crashed");
		break;
	default:
		break;
	}
	return 0;
}

static void lv_on_reread(virConnectPtr c, virDomainPtr dom, const char *what, void *opaque)
{
	lv_post_domain(opaque, dom);
}

static void lv_on_metadata(virConnectPtr c, virDomainPtr dom, int type, const char *nsuri, void *opaque)
{
	lv_post_domain(opaque, dom);
}

static void lv_on_vmem(virConnectPtr c, virDomainPtr dom, const char *alias, unsigned long long kib,
		       void *opaque)
{
	struct lv_msg m = { .kind = MSG_VMEM };

	snprintf(m.dom.name, sizeof(m.dom.name), "%s", virDomainGetName(dom));
	snprintf(m.dom.vmem_alias, sizeof(m.dom.vmem_alias), "%s", alias ? alias : "");
	m.dom.vmem_current_bytes = (uint64_t)kib * 1024;
	lv_post(opaque, &m);
}

static void lv_on_balloon(virConnectPtr c, virDomainPtr dom, unsigned long long kib, void *opaque)
{
	struct lv_msg m = { .kind = MSG_BALLOON };

	snprintf(m.dom.name, sizeof(m.dom.name), "%s", virDomainGetName(dom));
	m.dom.balloon_actual_bytes = (uint64_t)kib * 1024;
	lv_post(opaque, &m);
}

static void lv_on_close(virConnectPtr c, int reason, void *opaque)
{
	struct discover *disc = opaque;

	disc->conn_closed = true;
}

static void lv_register(struct discover *disc)
{
	static const struct { int id; virConnectDomainEventGenericCallback fn; } events[] = {
		{ VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(lv_on_lifecycle) },
		{ VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(lv_on_vmem) },
		{ VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(lv_on_balloon) },
		{ VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(lv_on_metadata) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(lv_on_reread) },
		{ VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(lv_on_reread) },
	};

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		disc->cb[i] = virConnectDomainEventRegisterAny(disc->conn, NULL, events[i].id,
							       events[i].fn, disc, NULL);
}

static void lv_disconnect(struct discover *disc, const char *why)
{
	for (size_t i = 0; i < sizeof(disc->cb) / sizeof(disc->cb[0]); i++)
		if (disc->cb[i] >= 0)
			virConnectDomainEventDeregisterAny(disc->conn, disc->cb[i]);
	virConnectUnregisterCloseCallback(disc->conn, lv_on_close);
	virConnectClose(disc->conn);
	disc->conn = NULL;
	disc->conn_closed = false;
	backoff_failed(&disc->backoff, clock_now_usec());
	if (why)
		lv_post_simple(disc, MSG_DOWN, NULL, why);
}

static void lv_connect(struct discover *disc)
{
	disc->conn = virConnectOpen(disc->uri);
	if (!disc->conn) {
		backoff_failed(&disc->backoff, clock_now_usec());
		lv_post_simple(disc, MSG_DOWN, NULL, lv_error());
		return;
	}
	backoff_succeeded(&disc->backoff);
	memset(disc->cb, -1, sizeof(disc->cb));
	virConnectRegisterCloseCallback(disc->conn, lv_on_close, disc, NULL);
	/* A libvirtd that stops answering is noticed like one that closed the socket. */
	virConnectSetKeepAlive(disc->conn, LV_KEEPALIVE_SEC, 3);
	lv_register(disc);
	lv_post_simple(disc, MSG_UP, NULL, NULL);
	lv_list(disc);
}

/* One command; its answer goes back as MSG_DONE. */
static void lv_command(struct discover *disc, const struct lv_cmd *c)
{
	struct lv_msg m = { .kind = MSG_DONE, .token = c->token };
	virDomainPtr dom = disc->conn ? virDomainLookupByName(disc->conn, c->dom) : NULL;
	char *xml = NULL, *dev = NULL;

	if (!dom) {
		m.err = disc->conn ? -ENOENT : -ENOTCONN;
		snprintf(m.text, sizeof(m.text), "%s", disc->conn ? lv_error() : "not connected");
		return lv_post(disc, &m);
	}
	if (c->kind == CMD_REFRESH) {
		m.err = lv_read_domain(dom, &m);
	} else if (c->kind == CMD_BALLOON) {
		if (virDomainSetMemoryFlags(dom, c->bytes / 1024, VIR_DOMAIN_AFFECT_LIVE) < 0)
			m.err = -EIO;
	} else if (!(xml = virDomainGetXMLDesc(dom, 0))) {
		m.err = -EIO;
	} else if ((m.err = discover_vmem_update_xml(xml, strlen(xml), c->alias, c->bytes, &dev)) < 0) {
		snprintf(m.text, sizeof(m.text), "no virtio-mem device with alias %s", c->alias);
	} else if (virDomainUpdateDeviceFlags(dom, dev, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		m.err = -EIO;
	}
	if (m.err == -EIO && !m.text[0])
		snprintf(m.text, sizeof(m.text), "%s", lv_error());
	free(xml);
	free(dev);
	virDomainFree(dom);
	lv_post(disc, &m);
}

static void lv_run_commands(struct discover *disc)
{
	struct lv_cmd cmds[CMD_MAX];
	size_t n;

	pthread_mutex_lock(&disc->mu);
	n = disc->ncmd;
	memcpy(cmds, disc->cmds, n * sizeof(cmds[0]));
	disc->ncmd = 0;
	pthread_mutex_unlock(&disc->mu);
	for (size_t i = 0; i < n; i++)
		lv_command(disc, &cmds[i]);
}

static void lv_on_wake(int timer, void *opaque)
{
	virEventUpdateTimeout(timer, -1);
}

static void lv_on_tick(int timer, void *opaque)
{
}

static void lv_silence(void *data, virErrorPtr err)
{
	/* libvirt would print every error to stderr; the daemon logs what matters itself. */
}

static void lv_thread(void *arg)
{
	struct discover *disc = arg;
	int tick = virEventAddTimeout(LV_TICK_MS, lv_on_tick, disc, NULL);
	bool relist;

	virSetErrorFunc(NULL, lv_silence);
	while (!worker_cancelled(disc->w)) {
		if (disc->conn && disc->conn_closed)
			lv_disconnect(disc, "libvirtd closed the connection");
		if (!disc->conn && !backoff_waiting(&disc->backoff, clock_now_usec()))
			lv_connect(disc);
		pthread_mutex_lock(&disc->mu);
		relist = disc->relist && disc->nmsg == 0;
		disc->relist &= !relist;
		pthread_mutex_unlock(&disc->mu);
		if (relist && disc->conn)
			lv_list(disc);
		lv_run_commands(disc);
		virEventRunDefaultImpl();
	}
	if (disc->conn)
		lv_disconnect(disc, NULL);
	virEventRemoveTimeout(tick);
}

/* ======== the loop side ======== */

static struct entry *entry_find(struct discover *disc, const char *name)
{
	for (size_t i = 0; i < DOMS_MAX; i++)
		if (disc->doms[i].present && strcmp(disc->doms[i].dom.name, name) == 0)
			return &disc->doms[i];
	return NULL;
}

static struct watcher *watcher_find(struct discover *disc, const char *name)
{
	for (size_t i = 0; i < CONFIG_MAX_VMS; i++)
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

static void domain_seen(struct discover *disc, const struct lv_msg *m)
{
	struct entry *e = entry_find(disc, m->dom.name);

	if (m->err < 0) {
		log_warnx("libvirt: domain \"%s\": %s; not managed", m->dom.name, m->text);
		return;
	}
	if (!e) {
		for (size_t i = 0; i < DOMS_MAX && !e; i++)
			if (!disc->doms[i].present)
				e = &disc->doms[i];
		if (!e) {
			log_warnx("libvirt: domain \"%s\": too many domains (%d)", m->dom.name, DOMS_MAX);
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
	for (size_t i = 0; i < CONFIG_MAX_VMS; i++)
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
		for (size_t i = 0; i < DOMS_MAX; i++)
			disc->doms[i].seen = false;
		break;
	case MSG_LIST_END:
		for (size_t i = 0; i < DOMS_MAX; i++)
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
	virEventUpdateTimeout(disc->wake_timer, 0);
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
	for (size_t i = 0; i < CONFIG_MAX_VMS && !w; i++)
		if (!disc->watchers[i].fn)
			w = &disc->watchers[i];
	if (!w)
		return -ENOSPC;
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
	for (size_t i = 0; i < DOMS_MAX; i++) {
		const struct discover_dom *d = &disc->doms[i].dom;
		struct config_vm *vm;
		bool taken = false;

		if (!disc->doms[i].present || !d->managed)
			continue;
		for (size_t k = 0; k < cfg->n_vms; k++)
			taken |= strcmp(cfg->vms[k].name, d->name) == 0;
		if (taken || cfg->n_vms == CONFIG_MAX_VMS) {
			log_warnx("libvirt: domain \"%s\" not managed: %s", d->name,
				  taken ? "a configured VM has that name" : "too many VMs");
			continue;
		}
		vm = &cfg->vms[cfg->n_vms++];
		*vm = (struct config_vm){ .driver = CONFIG_DRIVER_LIBVIRT, .min_bytes = d->min_bytes,
					  .max_bytes = d->max_bytes, .weight = d->weight,
					  .has_min = true, .has_max = true };
		snprintf(vm->name, sizeof(vm->name), "%s", d->name);
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
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0 ||
	    (disc->wake_timer = virEventAddTimeout(-1, lv_on_wake, disc, NULL)) < 0)
		goto out;
	disc->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	disc->ev.fd = disc->efd;
	if (disc->efd < 0 || (r = loop_add(loop, &disc->ev, EPOLLIN)) < 0 ||
	    (r = worker_new(lv_thread, disc, &disc->w)) < 0 || (r = worker_start(disc->w)) < 0)
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
	virEventUpdateTimeout(disc->wake_timer, 0);
	/* A thread stuck in a libvirt call past the wait keeps disc: it is left, not freed. */
	if (worker_stop(disc->w, LV_STOP_WAIT_USEC) < 0) {
		log_warnx("libvirt: the libvirt thread did not stop in time; leaving it");
		return;
	}
	virEventRemoveTimeout(disc->wake_timer);
	close(disc->efd);
	free(disc);
}
