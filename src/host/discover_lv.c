/* SPDX-License-Identifier: MIT */
/*
 * The libvirt thread of discovery (see discover.h and discover_impl.h):
 * the connection, its events and the drivers' commands.  Everything it
 * learns goes to the loop as a message; it never touches the loop's half.
 */
#include "host/discover_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "common/clock.h"

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

void discover_lv_thread(void *arg)
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

int discover_lv_init(struct discover *disc)
{
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		return -EIO;
	disc->wake_timer = virEventAddTimeout(-1, lv_on_wake, disc, NULL);
	return disc->wake_timer < 0 ? -EIO : 0;
}

void discover_lv_wake(struct discover *disc)
{
	virEventUpdateTimeout(disc->wake_timer, 0);
}

void discover_lv_fini(struct discover *disc)
{
	virEventRemoveTimeout(disc->wake_timer);
}
