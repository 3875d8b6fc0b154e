/* SPDX-License-Identifier: MIT */
/*
 * One sample of the guest: /proc/meminfo, /proc/vmstat, /proc/zoneinfo and PSI, turned
 * into the policy's input together with the backend's view.  No
 * allocation: the sensors read into fixed buffers.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vmrd/daemon.h"

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The backend's bounds intersected with the guest-side ones from the config. */
static void backend_view(const struct daemon *d, struct policy_input *in)
{
	const struct vmrd_config *c = &d->cfg;

	if (d->backend.up) {
		in->current_bytes = d->backend.info.current_bytes;
		in->min_bytes = d->backend.info.min_bytes;
		in->max_bytes = d->backend.info.max_bytes;
		in->block_bytes = d->backend.info.block_bytes;
	} else {
		/* No backend (dry run, or not up yet): the guest as it is. */
		in->current_bytes = d->mi.mem_total_bytes;
		in->min_bytes = 0;
		in->max_bytes = UINT64_MAX;
		in->block_bytes = 2 << 20;
	}
	if (c->min_bytes)
		in->min_bytes = max_u64(in->min_bytes, c->min_bytes);
	if (c->max_bytes && c->max_bytes < in->max_bytes)
		in->max_bytes = c->max_bytes;
	if (in->block_bytes == 0)
		in->block_bytes = 2 << 20;
	in->releasable_bytes = UINT64_MAX;
	if (d->backend.up && d->backend.ops->releasable &&
	    d->backend.ops->releasable(d->backend.state, &in->releasable_bytes) < 0)
		in->releasable_bytes = UINT64_MAX;
	/*
	 * Memory the kernel onlined for us is given back from ZONE_MOVABLE
	 * (virtio-mem unplugs there first); what went into the kernel zones
	 * stays.
	 */
	if (in->releasable_bytes == UINT64_MAX && d->zones_available && d->cfg.policy.zones)
		in->releasable_bytes = d->zi.movable.managed_bytes;
	in->backend_busy = d->backend.pending;
}

static uint64_t page_bytes(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (uint64_t)p : 4096;
}

/* The two zone groups of /proc/zoneinfo, and what the daemon can do about them. */
static void zone_view(const struct daemon *d, struct policy_input *in)
{
	const struct zoneinfo *zi = &d->zi;

	in->zones_available = d->zones_available;
	in->kernel_growth = d->steer.kernel_growth;
	in->memory_block_bytes = d->steer.memory_block_bytes;
	in->plug_latency_usec = d->steer.plug_latency_usec;
	if (!d->zones_available)
		return;
	in->kernel_free_bytes = zi->kernel.free_bytes;
	in->kernel_high_bytes = zi->kernel.high_bytes;
	in->kernel_low_bytes = zi->kernel.low_bytes;
	in->kernel_managed_bytes = zi->kernel.managed_bytes;
	in->kernel_file_bytes = zi->kernel.file_bytes;
	in->movable_free_bytes = zi->movable.free_bytes;
	in->movable_high_bytes = zi->movable.high_bytes;
	in->movable_managed_bytes = zi->movable.managed_bytes;
	in->movable_present_bytes = zi->movable.present_bytes;
}

int daemon_sample(struct daemon *d, uint64_t now_usec)
{
	struct policy_input *in = &d->in;
	int r;

	r = meminfo_read(d->rootfd, &d->mi);
	if (r < 0)
		return r;
	/* vmstat and PSI are optional: old kernels, containers, fixture trees. */
	if (vmstat_read(d->rootfd, &d->vs) < 0)
		memset(&d->vs, 0, sizeof(d->vs));
	if (d->psi_available && psi_read(d->rootfd, d->cfg.psi_path, &d->psi) < 0)
		memset(&d->psi, 0, sizeof(d->psi));
	d->zones_available = zoneinfo_read(d->rootfd, &d->zi) == 0;

	memset(in, 0, sizeof(*in));
	in->now_usec = now_usec;
	in->mem_total_bytes = d->mi.mem_total_bytes;
	in->mem_available_bytes = d->mi.mem_available_bytes;
	in->mem_free_bytes = d->mi.mem_free_bytes;
	in->file_cache_bytes = d->mi.active_file_bytes + d->mi.inactive_file_bytes;
	in->active_file_bytes = d->mi.active_file_bytes;
	in->slab_reclaimable_bytes = d->mi.slab_reclaimable_bytes;
	in->buffers_bytes = d->mi.buffers_bytes;
	/* Block-device buffers are page cache the kernel keeps out of ZONE_MOVABLE. */
	in->unmovable_bytes = d->mi.slab_unreclaimable_bytes + d->mi.page_tables_bytes +
			      d->mi.kernel_stack_bytes + d->mi.buffers_bytes;
	in->swap_total_bytes = d->mi.swap_total_bytes;
	in->swap_free_bytes = d->mi.swap_free_bytes;

	in->psi_available = d->psi_available;
	in->psi_some_avg10 = d->psi.some.avg10;
	in->psi_some_avg60 = d->psi.some.avg60;
	in->psi_full_avg10 = d->psi.full.avg10;
	in->psi_some_total_usec = d->psi.some.total_usec;
	in->psi_full_total_usec = d->psi.full.total_usec;
	in->trigger_events = d->trigger_events;

	in->oom_kill = d->vs.oom_kill;
	in->allocstall = d->vs.allocstall;
	in->allocstall_kernel = d->vs.allocstall_kernel;
	in->refault_file = d->vs.workingset_refault_file;
	in->refault_anon = d->vs.workingset_refault_anon;
	in->page_bytes = page_bytes();

	zone_view(d, in);
	backend_view(d, in);
	in->reclaim_busy = reclaim_busy(&d->rc);
	in->host_reclaim_target_bytes = d->host_reclaim_target_bytes;
	return 0;
}
