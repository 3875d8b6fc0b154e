/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor-independent half of a VM's driver: the sizes and their
 * arithmetic, what was applied, reconciliation, and the news for the
 * broker.  The hypervisor is behind d->ops (driver_qmp.c).
 */
#include "host/driver.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"

#define DRIVER_DEFAULT_BLOCK (2ull << 20)
/* A balloon never takes the guest below this. */
#define DRIVER_BALLOON_FLOOR (1ull << 20)
/* Retries of a refused resize: soon at first, at most every 30 s. */
#define DRIVER_RETRY_MIN_USEC (500 * 1000ull)
#define DRIVER_RETRY_MAX_USEC (30 * 1000000ull)
/* Size refreshes a guest's `done` may cause: a few at once, then two per second. */
#define DRIVER_REFRESH_BURST 2
#define DRIVER_REFRESH_USEC (500 * 1000ull)

int driver_init(struct driver *d, const struct driver_env *env, const struct driver_ops *ops,
		const struct config_vm *cfg)
{
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	d->env = env;
	d->ops = ops;
	backoff_init(&d->retry, DRIVER_RETRY_MIN_USEC, DRIVER_RETRY_MAX_USEC);
	backoff_init(&d->reconcile_retry, DRIVER_RETRY_MIN_USEC, DRIVER_RETRY_MAX_USEC);
	ratelimit_init(&d->refresh_rl, DRIVER_REFRESH_BURST, DRIVER_REFRESH_USEC);
	if (cfg->vmem_id[0] && cfg->balloon_id[0])
		log_info("vm %s: gives memory back through the %s first (host memory back per MiB "
			 "given up: balloon %u.%02u%%, virtio-mem %u.%02u%%)", cfg->name,
			 driver_prefers_balloon(cfg) ? "balloon" : "virtio-mem",
			 cfg->balloon_efficiency_centi / 100, cfg->balloon_efficiency_centi % 100,
			 cfg->vmem_efficiency_centi / 100, cfg->vmem_efficiency_centi % 100);
	return ops->open(d);
}

void driver_stop(struct driver *d)
{
	if (d->ops)
		d->ops->stop(d);
	d->reconciled = false;
	d->link_up = false;
}

void driver_close(struct driver *d)
{
	if (d->ops)
		d->ops->close(d);
	d->ops = NULL;
}

void driver_set_limits(struct driver *d, uint64_t min_bytes, uint64_t max_bytes)
{
	d->cfg.min_bytes = min_bytes;
	d->cfg.max_bytes = max_bytes;
}

/* Ask for all the sizes again, on the link that is still up. */
static void reconcile_retry(struct driver *d, uint64_t now_usec)
{
	int r;

	d->reconcile_again = false;
	log_info("vm %s: asking %s for the sizes again (attempt %u)", d->cfg.name, d->ops->name,
		 d->reconcile_retry.failures + 1);
	r = d->ops->query(d, true, now_usec);
	if (r < 0)
		driver_reconcile_done(d, false);
}

void driver_tick(struct driver *d, uint64_t now_usec)
{
	d->ops->tick(d, now_usec);
	if (d->reconcile_again && d->link_up && !d->reconciled &&
	    !backoff_waiting(&d->reconcile_retry, now_usec))
		reconcile_retry(d, now_usec);
	if (d->refresh_again && ratelimit_wait_usec(&d->refresh_rl, now_usec) == 0)
		driver_refresh(d, now_usec);
	if (d->apply_failed && d->reconciled && !d->apply_inflight &&
	    !backoff_waiting(&d->retry, now_usec)) {
		log_info("vm %s: retrying the resize to %llu (attempt %u)", d->cfg.name,
			 (unsigned long long)d->wanted_bytes, d->retry.failures + 1);
		driver_apply(d, d->wanted_bytes, now_usec);
	}
}

unsigned driver_take_news(struct driver *d)
{
	unsigned news = d->news;

	d->news = 0;
	return news;
}

const char *driver_link_word(const struct driver *d)
{
	return d->ops->link_word(d);
}

unsigned driver_connects(const struct driver *d)
{
	return d->ops->connects(d);
}

uint64_t driver_current_bytes(const struct driver *d)
{
	const struct driver_sizes *s = &d->sizes;
	uint64_t boot = s->boot_bytes;

	/*
	 * The balloon's "actual" is the boot memory minus what the balloon
	 * holds, and it is the guest that says so (the balloon driver writes it):
	 * a guest claiming to hold less than the target it was given would make
	 * room for others that it never gave up.  So it is believed down to the
	 * target, no further: a guest can only make itself look larger.
	 */
	if (d->cfg.balloon_id[0] && s->balloon_actual_bytes <= s->boot_bytes) {
		boot = s->balloon_actual_bytes;
		if (s->balloon_target_bytes && boot < s->balloon_target_bytes)
			boot = s->balloon_target_bytes < s->boot_bytes ? s->balloon_target_bytes
								     : s->boot_bytes;
	}
	return boot + (d->cfg.vmem_id[0] ? s->vmem_size_bytes : 0);
}

uint64_t driver_block_bytes(const struct driver *d)
{
	if (d->cfg.vmem_id[0] && d->reconciled)
		return d->sizes.vmem_block_bytes;
	/*
	 * A balloon takes 4 KiB pages, but the arbiter aligns targets to 2 MiB,
	 * and a guest plans its steps in blocks (vmrd at most 1024 of them: 4 MiB
	 * per step in 4 KiB blocks, measured in the balloon e2e test).
	 */
	return DRIVER_DEFAULT_BLOCK;
}

uint64_t driver_confirmed_bytes(const struct driver *d)
{
	const struct driver_sizes *s = &d->sizes;
	uint64_t target = s->boot_bytes;

	if (d->cfg.vmem_id[0])
		target += s->vmem_requested_bytes;
	/* A balloon target of 0 is none set: the guest has its whole boot memory. */
	if (d->cfg.balloon_id[0] && s->balloon_target_bytes && s->balloon_target_bytes < s->boot_bytes)
		target -= s->boot_bytes - s->balloon_target_bytes;
	return target;
}

uint64_t driver_reconciled_target(struct driver *d, uint64_t saved_bytes)
{
	struct driver_sizes *s = &d->sizes;

	if (d->cfg.balloon_id[0] && !s->balloon_target_bytes)
		s->balloon_target_bytes = saved_bytes && saved_bytes < s->boot_bytes ?
						  saved_bytes : s->balloon_actual_bytes;
	d->applied_bytes = driver_confirmed_bytes(d);
	/* The hypervisor's own view is the truth again; an old refusal is forgotten. */
	d->apply_failed = false;
	backoff_succeeded(&d->retry);
	return d->applied_bytes;
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

bool driver_prefers_balloon(const struct config_vm *cfg)
{
	return cfg->vmem_id[0] && cfg->balloon_id[0] &&
	       cfg->balloon_efficiency_centi > cfg->vmem_efficiency_centi;
}

/*
 * The balloon first: virtio-mem keeps what it holds and the balloon takes
 * the difference, down to its floor; only below that does virtio-mem
 * unplug.  Growth deflates the balloon before virtio-mem plugs more.
 */
static void split_balloon_first(const struct driver_sizes *s, uint64_t total, uint64_t *ret_vmem,
				uint64_t *ret_balloon)
{
	uint64_t held = s->vmem_requested_bytes;

	if (total >= s->boot_bytes + held) {
		uint64_t above = clamp(total - s->boot_bytes, 0, s->vmem_max_bytes);

		*ret_vmem = above - above % s->vmem_block_bytes;
		*ret_balloon = s->boot_bytes;
		return;
	}
	if (total < held + DRIVER_BALLOON_FLOOR) {
		held = total > DRIVER_BALLOON_FLOOR ? total - DRIVER_BALLOON_FLOOR : 0;
		held -= held % s->vmem_block_bytes;
	}
	*ret_vmem = held;
	*ret_balloon = clamp(total - held, DRIVER_BALLOON_FLOOR, s->boot_bytes);
}

void driver_split(const struct config_vm *cfg, const struct driver_sizes *s, uint64_t total,
		  uint64_t *ret_vmem, uint64_t *ret_balloon)
{
	uint64_t above = total > s->boot_bytes ? total - s->boot_bytes : 0;

	*ret_vmem = 0;
	*ret_balloon = 0;
	if (driver_prefers_balloon(cfg) && s->vmem_block_bytes) {
		split_balloon_first(s, total, ret_vmem, ret_balloon);
		return;
	}
	if (cfg->vmem_id[0] && s->vmem_block_bytes) {
		above = clamp(above, 0, s->vmem_max_bytes);
		*ret_vmem = above - above % s->vmem_block_bytes;
	}
	if (cfg->balloon_id[0])
		*ret_balloon = clamp(total, DRIVER_BALLOON_FLOOR, s->boot_bytes);
}

/* A resize could not be sent or was refused: roll back (nothing recorded) and back off. */
static void resize_failed(struct driver *d, uint64_t now_usec)
{
	uint64_t delay = backoff_failed(&d->retry, now_usec);

	d->apply_failed = true;
	d->batch_failed = true;
	log_warnx("vm %s: resize to %llu not applied; QEMU keeps %llu; retry in %llu ms", d->cfg.name,
		  (unsigned long long)d->wanted_bytes, (unsigned long long)d->applied_bytes,
		  (unsigned long long)(delay / 1000));
}

/* Send one device's new value; a command accepted is in flight until driver_resize_done(). */
static int send_resize(struct driver *d, enum driver_device dev, uint64_t value, uint64_t now_usec)
{
	int r = dev == DRIVER_VMEM ? d->ops->set_vmem(d, value, now_usec)
				   : d->ops->set_balloon(d, value, now_usec);

	if (r < 0) {
		log_warnc(r, "vm %s: cannot send resize to %s", d->cfg.name, d->ops->name);
		return r;
	}
	d->apply_inflight++;
	d->pending_bytes[dev] = value;
	return 0;
}

int driver_apply(struct driver *d, uint64_t target_bytes, uint64_t now_usec)
{
	struct driver_sizes *s = &d->sizes;
	uint64_t total, vmem, balloon;
	int r = 0;

	d->wanted_bytes = target_bytes;
	if (!d->reconciled)
		return -ENOTCONN;
	if (d->apply_inflight) {
		d->apply_again = true;
		return 0;
	}
	if (d->apply_failed && backoff_waiting(&d->retry, now_usec))
		return -EAGAIN;
	/* Never trust anything, not even the arbiter: clamp right before the hypervisor sees it. */
	total = clamp(target_bytes, d->cfg.min_bytes, d->cfg.max_bytes);
	driver_split(&d->cfg, s, total, &vmem, &balloon);
	if (d->env->dry_run) {
		log_info("vm %s: dry run: would set total %llu (virtio-mem %llu, balloon %llu)",
			 d->cfg.name, (unsigned long long)total, (unsigned long long)vmem,
			 (unsigned long long)balloon);
		d->applied_bytes = total;
		return 0;
	}
	d->batch_failed = false;
	d->apply_again = false;
	if (d->cfg.vmem_id[0] && vmem != s->vmem_requested_bytes)
		r = send_resize(d, DRIVER_VMEM, vmem, now_usec);
	/* The balloon is left alone while the guest has its whole boot memory and nothing was set. */
	if (r == 0 && d->cfg.balloon_id[0] && balloon != s->balloon_target_bytes &&
	    !(s->balloon_target_bytes == 0 && balloon == s->boot_bytes))
		r = send_resize(d, DRIVER_BALLOON, balloon, now_usec);
	if (r < 0)
		resize_failed(d, now_usec);
	else if (!d->apply_inflight)
		d->apply_failed = false; /* the hypervisor holds it already */
	return r;
}

void driver_refresh(struct driver *d, uint64_t now_usec)
{
	int r;

	d->refresh_again = false;
	if (!d->reconciled)
		return;
	if (!ratelimit_take(&d->refresh_rl, now_usec)) {
		d->refresh_again = true; /* the last one asked for is sent when the budget allows */
		return;
	}
	r = d->ops->query(d, false, now_usec);
	if (r < 0)
		log_warnc(r, "vm %s: cannot ask %s for the sizes", d->cfg.name, d->ops->name);
}

/* ---- for implementations ---- */

void driver_link_up(struct driver *d, uint64_t now_usec)
{
	int r;

	d->reconciled = false;
	d->link_up = true;
	d->unreachable_err = 0;
	d->reconcile_again = false;
	d->apply_inflight = 0;
	r = d->ops->query(d, true, now_usec);
	if (r < 0) {
		log_warnc(r, "vm %s: cannot ask %s for the sizes", d->cfg.name, d->ops->name);
		driver_reconcile_done(d, false);
	}
}

void driver_link_down(struct driver *d, int err)
{
	log_warnc(err, "vm %s: %s connection lost (VM gone?); reconnecting with backoff; its size "
		  "still counts", d->cfg.name, d->ops->name);
	snprintf(d->error, sizeof(d->error), "connection lost: %s", strerror(err < 0 ? -err : err));
	d->link_up = false;
	d->reconciled = false;
	d->reconcile_again = false;
	d->apply_inflight = 0;
	d->news |= DRIVER_NEWS_DOWN;
}

void driver_link_failed(struct driver *d, int err)
{
	d->link_up = false;
	d->reconciled = false;
	d->reconcile_again = false;
	if (err == d->unreachable_err)
		return;
	d->unreachable_err = err;
	snprintf(d->error, sizeof(d->error), "unreachable: %s", strerror(err < 0 ? -err : err));
	log_warnc(err, "vm %s: %s unreachable; retrying with backoff (said once until the error "
		  "changes); its size still counts", d->cfg.name, d->ops->name);
}

void driver_reconcile_done(struct driver *d, bool ok)
{
	uint64_t delay;

	if (ok) {
		backoff_succeeded(&d->reconcile_retry);
		d->reconcile_again = false;
		d->reconciled = true;
		d->news |= DRIVER_NEWS_RECONCILED;
		return;
	}
	if (!d->link_up)
		return; /* the link is down: coming up again reconciles */
	delay = backoff_failed(&d->reconcile_retry, clock_now_usec());
	d->reconcile_again = true;
	log_warnx("vm %s: reconciliation with %s failed; asking again in %llu ms", d->cfg.name,
		  d->ops->name, (unsigned long long)(delay / 1000));
}

void driver_sizes_changed(struct driver *d)
{
	if (!d->reconciled)
		return;
	d->news |= DRIVER_NEWS_SIZE;
	/* Between resizes, what the hypervisor reports holding is what it confirmed. */
	if (!d->apply_inflight && driver_confirmed_bytes(d) != d->applied_bytes) {
		d->applied_bytes = driver_confirmed_bytes(d);
		d->news |= DRIVER_NEWS_APPLIED;
	}
}

void driver_resize_done(struct driver *d, enum driver_device dev, int err, uint64_t now_usec)
{
	if (err == 0 && dev == DRIVER_VMEM)
		d->sizes.vmem_requested_bytes = d->pending_bytes[dev];
	else if (err == 0)
		d->sizes.balloon_target_bytes = d->pending_bytes[dev];
	else
		resize_failed(d, now_usec);
	d->applied_bytes = driver_confirmed_bytes(d);
	d->news |= DRIVER_NEWS_APPLIED;
	if (!d->apply_inflight || --d->apply_inflight > 0)
		return;
	if (!d->batch_failed) {
		d->apply_failed = false;
		backoff_succeeded(&d->retry);
	}
	/* A newer target waits for the batch; after a refusal, for the backoff (driver_tick()). */
	if (d->apply_again && !d->apply_failed) {
		d->apply_again = false;
		driver_apply(d, d->wanted_bytes, now_usec);
	}
}

void driver_set_pid(struct driver *d, int pid)
{
	if (pid == d->pid)
		return;
	d->pid = pid;
	d->news |= DRIVER_NEWS_PID;
}

void driver_failed(struct driver *d, const char *what, const char *error_class, const char *desc)
{
	d->errors++;
	snprintf(d->error, sizeof(d->error), "%s", error_class);
	log_warnx("vm %s: %s failed: %s%s%s", d->cfg.name, what, d->error, desc ? ": " : "",
		  desc ? desc : "");
}
