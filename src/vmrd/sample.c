/* SPDX-License-Identifier: MIT */
/*
 * One sample of the guest: /proc/meminfo, /proc/vmstat and PSI, turned
 * into the policy's input together with the backend's view.  No
 * allocation: the sensors read into fixed buffers.
 */
#include <errno.h>
#include <string.h>

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
	in->backend_busy = d->backend.pending;
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

	memset(in, 0, sizeof(*in));
	in->now_usec = now_usec;
	in->mem_total_bytes = d->mi.mem_total_bytes;
	in->mem_available_bytes = d->mi.mem_available_bytes;
	in->mem_free_bytes = d->mi.mem_free_bytes;
	in->file_cache_bytes = d->mi.active_file_bytes + d->mi.inactive_file_bytes;
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
	in->refault_file = d->vs.workingset_refault_file;
	in->refault_anon = d->vs.workingset_refault_anon;

	backend_view(d, in);
	in->reclaim_busy = reclaim_busy(&d->rc);
	in->host_reclaim_target_bytes = d->host_reclaim_target_bytes;
	return 0;
}
