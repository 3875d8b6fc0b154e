/* SPDX-License-Identifier: MIT */
/*
 * The libvirt driver: one domain, through the shared connection of
 * discover.c (struct driver_env's libvirt).  libvirt owns the domain's QMP
 * monitor, so everything goes through its API:
 *   sizes    the live XML: <memory> less the memory devices (boot),
 *            <currentMemory> (balloon), the virtio-mem device's <target>
 *            size, block, requested and current
 *   virtio-mem   virDomainUpdateDeviceFlags() with the device's XML and a
 *            new <requested> (as virsh update-memory-device does)
 *   balloon  virDomainSetMemoryFlags(VIR_DOMAIN_AFFECT_LIVE)
 *   events   memory-device-size-change and balloon-change
 * The link is up while the connection is and the domain runs.
 */
#include "host/driver_libvirt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "host/discover.h"

struct driver_libvirt {
	struct driver *d;
	struct discover *disc;
	bool watching;
	bool up;
	bool reconciling;
	unsigned connects;
};

static struct driver_libvirt *impl(const struct driver *d)
{
	return d->impl;
}

/* What the domain's XML says, into the driver's sizes. */
static void take_sizes(struct driver *d, const struct discover_dom *dom)
{
	struct driver_sizes *s = &d->sizes;

	s->boot_bytes = dom->boot_bytes;
	s->balloon_actual_bytes = dom->balloon_actual_bytes;
	s->vmem_size_bytes = dom->vmem_current_bytes;
	s->vmem_requested_bytes = dom->vmem_requested_bytes;
	s->vmem_max_bytes = dom->vmem_max_bytes;
	s->vmem_block_bytes = dom->vmem_block_bytes;
}

static void on_refreshed(void *ctx, int err, const char *msg, const struct discover_dom *dom)
{
	struct driver_libvirt *dl = ctx;
	bool reconcile = dl->reconciling;

	dl->reconciling = false;
	if (err < 0) {
		driver_failed(dl->d, "reading the domain XML", "libvirt", msg);
		if (reconcile)
			driver_reconcile_done(dl->d, false);
		return;
	}
	take_sizes(dl->d, dom);
	driver_sizes_changed(dl->d);
	if (reconcile)
		driver_reconcile_done(dl->d, true);
}

static int lv_query(struct driver *d, bool reconcile, uint64_t now_usec)
{
	struct driver_libvirt *dl = impl(d);

	dl->reconciling |= reconcile;
	return discover_refresh(dl->disc, d->cfg.name, on_refreshed, dl);
}

static void on_news(void *ctx, enum discover_news what, const struct discover_dom *dom)
{
	struct driver_libvirt *dl = ctx;
	struct driver *d = dl->d;

	switch (what) {
	case DISCOVER_NEWS_UP:
		dl->up = true;
		dl->connects++;
		log_info("vm %s: libvirt domain runs", d->cfg.name);
		driver_link_up(d, clock_now_usec());
		break;
	case DISCOVER_NEWS_DOWN:
		if (!dl->up)
			break;
		dl->up = false;
		dl->reconciling = false;
		driver_link_down(d, -ENOTCONN);
		break;
	case DISCOVER_NEWS_VMEM:
		d->sizes.vmem_size_bytes = dom->vmem_current_bytes;
		driver_sizes_changed(d);
		break;
	case DISCOVER_NEWS_BALLOON:
		d->sizes.balloon_actual_bytes = dom->balloon_actual_bytes < d->sizes.boot_bytes ?
							dom->balloon_actual_bytes : d->sizes.boot_bytes;
		driver_sizes_changed(d);
		break;
	}
}

static void resized(struct driver_libvirt *dl, enum driver_device dev, int err, const char *msg)
{
	if (err < 0)
		driver_failed(dl->d, "resize", "libvirt", msg);
	driver_resize_done(dl->d, dev, err, clock_now_usec());
}

static void on_vmem_resized(void *ctx, int err, const char *msg, const struct discover_dom *dom)
{
	resized(ctx, DRIVER_VMEM, err, msg);
}

static void on_balloon_resized(void *ctx, int err, const char *msg, const struct discover_dom *dom)
{
	resized(ctx, DRIVER_BALLOON, err, msg);
}

static int lv_set_vmem(struct driver *d, uint64_t requested_bytes, uint64_t now_usec)
{
	return discover_set_vmem(impl(d)->disc, d->cfg.name, d->cfg.vmem_id, requested_bytes,
				 on_vmem_resized, impl(d));
}

static int lv_set_balloon(struct driver *d, uint64_t target_bytes, uint64_t now_usec)
{
	return discover_set_balloon(impl(d)->disc, d->cfg.name, target_bytes, on_balloon_resized,
				    impl(d));
}

static int lv_open(struct driver *d)
{
	struct driver_libvirt *dl;

	if (!d->env->libvirt)
		return -ENOTCONN;
	dl = calloc(1, sizeof(*dl));
	if (!dl)
		return -ENOMEM;
	dl->d = d;
	dl->disc = d->env->libvirt;
	d->impl = dl;
	return 0;
}

/* Watching starts on the first tick: news may call back into the driver, which must be whole. */
static void lv_tick(struct driver *d, uint64_t now_usec)
{
	struct driver_libvirt *dl = impl(d);
	int r;

	if (dl->watching)
		return;
	r = discover_watch(dl->disc, d->cfg.name, on_news, dl);
	if (r < 0)
		log_warnc(r, "vm %s: cannot follow the libvirt domain", d->cfg.name);
	dl->watching = r == 0;
}

static void lv_stop(struct driver *d)
{
	struct driver_libvirt *dl = impl(d);

	if (dl->watching)
		discover_unwatch(dl->disc, d->cfg.name, dl);
	dl->watching = false;
	dl->up = false;
}

static void lv_close(struct driver *d)
{
	struct driver_libvirt *dl = impl(d);

	if (!dl)
		return;
	lv_stop(d);
	free(dl);
	d->impl = NULL;
}

static const char *lv_link_word(const struct driver *d)
{
	return impl(d)->up ? "ready" : discover_link_word(impl(d)->disc);
}

static unsigned lv_connects(const struct driver *d)
{
	return impl(d)->connects;
}

const struct driver_ops driver_libvirt_ops = {
	.name = "libvirt",
	.open = lv_open,
	.stop = lv_stop,
	.close = lv_close,
	.tick = lv_tick,
	.query = lv_query,
	.set_vmem = lv_set_vmem,
	.set_balloon = lv_set_balloon,
	.link_word = lv_link_word,
	.connects = lv_connects,
};
