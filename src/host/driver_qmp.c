/* SPDX-License-Identifier: MIT */
/*
 * The QMP driver: virtio-mem (qom-set requested-size, query-memory-devices)
 * and virtio-balloon (balloon, query-balloon) through the QMP client,
 * reconciliation of the VM's sizes whenever QMP (re)connects, and QEMU's
 * size-change events.  It only talks QMP; the arithmetic is driver.c's.
 */
#include "host/driver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "host/qmp.h"

struct driver_qmp {
	struct qmp qmp;
	struct driver *d;
	unsigned reconcile_waiting; /* replies still expected */
	bool reconcile_failed;
};

static struct driver_qmp *impl(const struct driver *d)
{
	return d->impl;
}

static void failed(struct driver *d, int err, const struct qmp_msg *m, const char *what)
{
	/* Commands cut off by a lost connection: the loss was said once, not once per command. */
	if (err == -ECONNRESET)
		return;
	driver_failed(d, what, m && m->name ? m->name : err == -ETIMEDOUT ? "timeout" : "disconnected",
		      m ? m->desc : NULL);
}

static void reconcile_step_done(struct driver_qmp *dq)
{
	if (dq->reconcile_waiting == 0 || --dq->reconcile_waiting > 0)
		return;
	driver_reconcile_done(dq->d, !dq->reconcile_failed);
}

/* A query failed during reconciliation: it fails; later it is only logged. */
static void query_failed(struct driver_qmp *dq, int err, const struct qmp_msg *m, const char *what)
{
	failed(dq->d, err, m, what);
	if (dq->reconcile_waiting)
		dq->reconcile_failed = true;
}

static void on_summary(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct driver_qmp *dq = arg;

	if (err < 0 || qmp_parse_size_summary(m->value, &dq->d->sizes.boot_bytes) < 0)
		query_failed(dq, err, m, "query-memory-size-summary");
	reconcile_step_done(dq);
}

static void on_memdevs(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct driver_qmp *dq = arg;
	struct driver *d = dq->d;
	struct qmp_vmem vmem;
	int r = err;

	if (err == 0)
		r = qmp_parse_memory_devices(m->value, d->cfg.vmem_id, &vmem);
	if (r < 0) {
		query_failed(dq, err, m, r == -ENOENT ? "finding the virtio-mem device" :
						       "query-memory-devices");
	} else {
		d->sizes.vmem_size_bytes = vmem.size_bytes;
		d->sizes.vmem_requested_bytes = vmem.requested_bytes;
		d->sizes.vmem_max_bytes = vmem.max_bytes;
		d->sizes.vmem_block_bytes = vmem.block_bytes;
		driver_sizes_changed(d);
	}
	reconcile_step_done(dq);
}

static void on_balloon(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct driver_qmp *dq = arg;

	if (err < 0 || qmp_parse_balloon(m->value, &dq->d->sizes.balloon_actual_bytes) < 0)
		query_failed(dq, err, m, "query-balloon");
	else
		driver_sizes_changed(dq->d);
	reconcile_step_done(dq);
}

static int query(struct driver_qmp *dq, const char *cmd,
		 void (*fn)(struct qmp *, int, const struct qmp_msg *, void *), uint64_t now_usec)
{
	int r = qmp_execute(&dq->qmp, cmd, NULL, fn, dq, now_usec);

	dq->d->commands_total += r == 0;
	if (r < 0)
		log_warnc(r, "vm %s: cannot send %s", dq->d->cfg.name, cmd);
	return r;
}

/* Replies come in order; when reconciling, the step counter finishes after the last. */
static int qmp_query(struct driver *d, bool reconcile, uint64_t now_usec)
{
	struct driver_qmp *dq = impl(d);

	if (reconcile) {
		dq->reconcile_failed = false;
		dq->reconcile_waiting = 1 + !!d->cfg.vmem_id[0] + !!d->cfg.balloon_id[0];
		query(dq, "query-memory-size-summary", on_summary, now_usec);
	}
	if (d->cfg.vmem_id[0])
		query(dq, "query-memory-devices", on_memdevs, now_usec);
	if (d->cfg.balloon_id[0])
		query(dq, "query-balloon", on_balloon, now_usec);
	return 0;
}

static void on_ready(struct qmp *q, void *ctx)
{
	struct driver_qmp *dq = ctx;

	log_info("vm %s: QMP connected to %s (QEMU pid %d)", dq->d->cfg.name, dq->d->cfg.qmp_path,
		 q->peer_pid);
	driver_set_pid(dq->d, q->peer_pid);
	driver_link_up(dq->d, clock_now_usec());
}

static void on_down(struct qmp *q, int err, void *ctx)
{
	struct driver_qmp *dq = ctx;

	dq->reconcile_waiting = 0;
	/* Whoever serves the socket next is known when it does (QEMU may be gone for good). */
	driver_set_pid(dq->d, 0);
	driver_link_down(dq->d, err);
}

static void on_unreachable(struct qmp *q, int err, void *ctx)
{
	struct driver_qmp *dq = ctx;

	driver_link_failed(dq->d, err);
}

static void on_event(struct qmp *q, const struct qmp_msg *m, void *ctx)
{
	struct driver_qmp *dq = ctx;
	struct driver *d = dq->d;
	const char *id;
	uint64_t size;

	if (strcmp(m->name, "MEMORY_DEVICE_SIZE_CHANGE") == 0) {
		if (qmp_parse_vmem_event(m->value, &id, &size) < 0 || !id ||
		    strcmp(id, d->cfg.vmem_id) != 0)
			return;
		d->sizes.vmem_size_bytes = size;
	} else if (strcmp(m->name, "BALLOON_CHANGE") == 0) {
		if (!d->cfg.balloon_id[0] || qmp_parse_balloon_event(m->value, &size) < 0)
			return;
		d->sizes.balloon_actual_bytes = size;
	} else if (strcmp(m->name, "SHUTDOWN") == 0) {
		log_info("vm %s: QEMU reports SHUTDOWN", d->cfg.name);
		return;
	} else {
		return;
	}
	if (d->reconciled)
		log_debug("vm %s: %s, current %llu (balloon %llu, virtio-mem %llu)", d->cfg.name,
			  m->name, (unsigned long long)driver_current_bytes(d),
			  (unsigned long long)d->sizes.balloon_actual_bytes,
			  (unsigned long long)d->sizes.vmem_size_bytes);
	driver_sizes_changed(d);
}

static const struct qmp_ops qmp_ops = {
	.ready = on_ready,
	.down = on_down,
	.unreachable = on_unreachable,
	.event = on_event,
};

static void resized(struct driver_qmp *dq, enum driver_device dev, int err,
		    const struct qmp_msg *m, const char *what)
{
	if (err < 0)
		failed(dq->d, err, m, what);
	driver_resize_done(dq->d, dev, err, clock_now_usec());
}

static void on_vmem_set(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	resized(arg, DRIVER_VMEM, err, m, "qom-set requested-size");
}

static void on_balloon_set(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	resized(arg, DRIVER_BALLOON, err, m, "balloon");
}

static int qmp_set_vmem(struct driver *d, uint64_t requested_bytes, uint64_t now_usec)
{
	d->commands_total++;
	return qmp_execute(&impl(d)->qmp, "qom-set",
			   json_pack("{s:s, s:s, s:I}", "path", d->cfg.vmem_id, "property",
				     "requested-size", "value", (json_int_t)requested_bytes),
			   on_vmem_set, impl(d), now_usec);
}

static int qmp_set_balloon(struct driver *d, uint64_t target_bytes, uint64_t now_usec)
{
	d->commands_total++;
	return qmp_execute(&impl(d)->qmp, "balloon",
			   json_pack("{s:I}", "value", (json_int_t)target_bytes), on_balloon_set,
			   impl(d), now_usec);
}

static int qmp_open(struct driver *d)
{
	struct driver_qmp *dq = calloc(1, sizeof(*dq));

	if (!dq)
		return -ENOMEM;
	dq->d = d;
	qmp_init(&dq->qmp, d->env->loop, d->cfg.qmp_path, &qmp_ops, dq);
	d->impl = dq;
	return 0;
}

static void qmp_stop(struct driver *d)
{
	qmp_destroy(&impl(d)->qmp);
}

static void qmp_close(struct driver *d)
{
	struct driver_qmp *dq = impl(d);

	if (!dq)
		return;
	qmp_destroy(&dq->qmp);
	free(dq);
	d->impl = NULL;
}

static void qmp_tick_driver(struct driver *d, uint64_t now_usec)
{
	qmp_tick(&impl(d)->qmp, now_usec);
}

static const char *qmp_link_word(const struct driver *d)
{
	switch (impl(d)->qmp.state) {
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

static unsigned qmp_connects(const struct driver *d)
{
	return impl(d)->qmp.connects;
}

const struct driver_ops driver_qmp_ops = {
	.name = "QMP",
	.open = qmp_open,
	.stop = qmp_stop,
	.close = qmp_close,
	.tick = qmp_tick_driver,
	.query = qmp_query,
	.set_vmem = qmp_set_vmem,
	.set_balloon = qmp_set_balloon,
	.link_word = qmp_link_word,
	.connects = qmp_connects,
};
