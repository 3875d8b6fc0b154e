/* SPDX-License-Identifier: MIT */
/*
 * Steering hot-plugged memory into the zone a grow is for.  The policy
 * says whether a grow is for the kernel zones (unmovable memory: slab,
 * page tables, buffers) or for ZONE_MOVABLE.  Backends that online memory
 * themselves (sysfs) get the zone with the request; for memory the kernel
 * onlines on its own (virtio-mem behind the host backend) vmrd switches
 * auto_online_blocks to online_kernel while such a grow is in flight and
 * back to online_movable, its resting state, when it ends.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/fileio.h"
#include "common/log.h"
#include "sensors/memblock.h"
#include "vmrd/daemon.h"

static void read_block_size(struct daemon *d)
{
	char buf[64];
	size_t len;

	d->steer.memory_block_bytes = 0;
	if (fileio_read_at(d->rootfd, "sys/devices/system/memory/block_size_bytes", buf, sizeof(buf),
			   &len) == 0)
		(void)memblock_parse_block_size(buf, len, &d->steer.memory_block_bytes);
}

/* Why kernel-zone growth is unavailable, said once at start (and after a reload). */
static void say_no_mechanism(const struct daemon *d, const char *why)
{
	log_warnx("zones: %s; vmrd cannot grow the kernel zones, so a shortage of them (slab, page "
		  "tables, buffers) is reported as one growth cannot help, and nothing grows for it", why);
}

void daemon_steer_setup(struct daemon *d)
{
	struct daemon_steer *st = &d->steer;
	int r;

	read_block_size(d);
	st->own_onlining = strcmp(d->cfg.backend, "sysfs") == 0;
	st->kernel_growth = POLICY_KGROW_NO_MECHANISM;
	if (!d->cfg.policy.zones)
		return;
	if (st->own_onlining) {
		st->kernel_growth = POLICY_KGROW_YES;
		return;
	}
	r = placement_probe(d->rootfd, &st->placement);
	st->probed = r == 0;
	if (r < 0) {
		say_no_mechanism(d, "no sys/devices/system/memory/auto_online_blocks (no memory hotplug)");
		return;
	}
	if (!st->placement.writable) {
		say_no_mechanism(d, "auto_online_blocks is not writable (vmrd runs without CAP_SYS_ADMIN or "
				    "with a read-only /sys)");
		return;
	}
	st->kernel_growth = POLICY_KGROW_YES;
	if (st->placement.mode == PLACEMENT_ONLINE_MOVABLE || d->dry_run)
		return;
	/* Memory onlined elsewhere cannot be given back reliably: take over the setting. */
	r = placement_set(d->rootfd, PLACEMENT_ONLINE_MOVABLE);
	if (r < 0) {
		st->kernel_growth = POLICY_KGROW_NO_MECHANISM;
		log_warnc(r, "zones: cannot set auto_online_blocks to online_movable");
		return;
	}
	log_info("zones: auto_online_blocks was %s%s; set to online_movable so that plugged memory "
		 "can be given back (vmrd switches to online_kernel only for a kernel-zone grow)",
		 placement_mode_name(st->placement.mode),
		 st->placement.auto_movable ? " (online_policy auto-movable)" : "");
	st->placement.mode = PLACEMENT_ONLINE_MOVABLE;
}

void daemon_steer_grow(struct daemon *d, enum policy_zone zone)
{
	struct daemon_steer *st = &d->steer;
	int r;

	if (zone != POLICY_ZONE_KERNEL || st->own_onlining || st->kernel_growth != POLICY_KGROW_YES)
		return;
	r = placement_set(d->rootfd, PLACEMENT_ONLINE_KERNEL);
	if (r < 0) {
		/* The grow still goes out: memory is memory, even in the wrong zone. */
		log_warnc(r, "zones: cannot set auto_online_blocks to online_kernel; the grow lands in "
			     "ZONE_MOVABLE and kernel-zone growth is off from now on");
		st->kernel_growth = POLICY_KGROW_NO_MECHANISM;
		return;
	}
	st->kernel_active = true;
}

void daemon_steer_done(struct daemon *d, int status, uint64_t latency_usec)
{
	struct daemon_steer *st = &d->steer;
	int r;

	if (status == 0 && latency_usec > 0) {
		/* Up at once, down slowly: plan with the slow plugs in mind. */
		st->plug_latency_usec = latency_usec > st->plug_latency_usec ?
						latency_usec :
						(7 * st->plug_latency_usec + latency_usec) / 8;
	}
	if (!st->kernel_active)
		return;
	st->kernel_active = false;
	r = placement_set(d->rootfd, PLACEMENT_ONLINE_MOVABLE);
	if (r < 0)
		log_warnc(r, "zones: cannot set auto_online_blocks back to online_movable");
}
