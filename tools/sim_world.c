/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "sim_world.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000ull
/* PSI averages are kept in thousandths of a centi so the decay reaches 0. */
#define PSI_SCALE 1000

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
}

uint64_t sim_world_releasable(const struct sim_world *w)
{
	/* Offlining needs free memory to migrate into, and keeps a little. */
	uint64_t spare = sub0(sub0(w->current, w->used), w->p.low_mark_bytes / 2);

	return min3(w->movable + w->kernel_plugged, spare, UINT64_MAX);
}

/* Unplugging takes ZONE_MOVABLE first; growth lands where it was asked to. */
int sim_world_resize(struct sim_world *w, uint64_t target_bytes, enum policy_zone zone)
{
	if (target_bytes < w->current) {
		uint64_t delta = w->current - target_bytes;
		uint64_t from_movable = min3(delta, w->movable, UINT64_MAX);

		if (delta > sim_world_releasable(w))
			return -EBUSY;
		w->movable -= from_movable;
		w->kernel_plugged -= delta - from_movable;
	} else if (zone == POLICY_ZONE_KERNEL) {
		w->kernel_plugged += target_bytes - w->current;
	} else {
		w->movable += target_bytes - w->current;
	}
	w->current = target_bytes;
	return 0;
}

void sim_world_done(struct sim_world *w, int status, uint64_t retry_after_usec)
{
	w->busy = false;
	/* A deny is the host's answer, not a failure of the backend. */
	if (status < 0 && status != -EAGAIN)
		w->stats.failures++;
	policy_backend_done(&w->st, &w->cfg, w->now_usec, status, retry_after_usec, w->current);
}

/* The world's own backend: the change lands plug_latency after the request, all at once. */
static void local_progress(struct sim_world *w, void *ctx)
{
	int status;

	if (!w->busy || w->now_usec < w->done_at_usec)
		return;
	if (w->requests <= w->p.fail_requests)
		status = -EIO;
	else
		status = sim_world_resize(w, w->pending_target, w->pending_zone);
	sim_world_done(w, status, 0);
}

static void local_request(struct sim_world *w, void *ctx)
{
	w->busy = true;
	w->done_at_usec = w->now_usec + w->p.plug_latency_usec;
	w->pending_target = w->d.target_bytes;
	w->pending_zone = w->d.zone;
	w->requests++;
}

static const struct sim_backend_ops local_backend = {
	.progress = local_progress,
	.request = local_request,
};

void sim_world_set_backend(struct sim_world *w, const struct sim_backend_ops *ops, void *ctx)
{
	w->backend = ops;
	w->backend_ctx = ctx;
}

void sim_params_defaults(struct sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->step_usec = 1 * SEC;
	p->boot_bytes = 2 * GIB;
	p->start_bytes = 2 * GIB;
	p->min_bytes = 2 * GIB;
	p->max_bytes = 8 * GIB;
	p->block_bytes = 128 * MIB;
	p->plug_latency_usec = 1 * SEC;
	p->kernel_bytes = 200 * MIB;
	p->cache_want_bytes = 512 * MIB;
	p->cache_hot_bytes = 128 * MIB;
	p->cache_fill_bytes = 32 * MIB;
	p->trim_rate_bytes = 16 * MIB;
	p->low_mark_bytes = 96 * MIB;
	p->memmap_centi = 160;
	p->kernel_growth = true;
}

void sim_world_init(struct sim_world *w, const struct sim_params *p,
		    const struct policy_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->p = *p;
	w->cfg = *cfg;
	policy_init(&w->st);
	w->current = p->start_bytes;
	w->movable = sub0(p->start_bytes, p->boot_bytes);
	/* The cache starts warm; workload() squeezes it to what fits. */
	w->cache = p->cache_want_bytes;
	w->stats.min_avail_bytes = UINT64_MAX;
	w->backend = &local_backend;
}

static uint64_t kernel_size(const struct sim_world *w)
{
	return w->p.boot_bytes + w->kernel_plugged;
}

/* The OOM killer ends a process of 256 MiB plus the excess. */
static void oom_kill(struct sim_world *w, uint64_t excess)
{
	w->oom_kill++;
	w->stats.oom_kills++;
	w->oom_freed += excess + 256 * MIB;
}

/*
 * Place the demand: unmovable memory in the kernel zones (allocations fail
 * past them, and the OOM killer runs); user pages in ZONE_MOVABLE first and
 * the rest in the kernel zones.
 */
static void place(struct sim_world *w, uint64_t demand, uint64_t unmovable)
{
	uint64_t memmap = sub0(w->current, w->p.boot_bytes) * w->p.memmap_centi / 10000;
	uint64_t kcap = kernel_size(w), reserve = w->p.low_mark_bytes / 4;
	uint64_t unmov = w->p.kernel_bytes + unmovable + memmap, user, um, uk;

	if (unmov + reserve > kcap) {
		oom_kill(w, 0);
		unmov = sub0(kcap, reserve);
	}
	user = sub0(sub0(demand, unmovable), w->oom_freed);
	um = min3(user, sub0(w->movable, reserve), UINT64_MAX);
	uk = user - um;
	if (unmov + uk + reserve > kcap) {
		oom_kill(w, unmov + uk + reserve - kcap);
		user = sub0(sub0(demand, unmovable), w->oom_freed);
		um = min3(user, sub0(w->movable, reserve), UINT64_MAX);
		uk = user - um;
	}
	w->unmovable = unmov;
	w->user_kernel = uk;
	w->used = unmov + user;
}

/*
 * The workload re-reads its working set (cache_hot) all the time: what is
 * missing of it refaults every step.  The cold rest is filled slowly, and
 * in streaming mode never comes back.
 */
static void workload(struct sim_world *w, uint64_t demand, uint64_t unmovable)
{
	uint64_t room;

	place(w, demand, unmovable);
	room = sub0(w->current, w->used);
	if (w->cache > room)
		w->cache = room;
	if (w->cache < w->p.cache_hot_bytes)
		w->refault_file += (w->p.cache_hot_bytes - w->cache) / 4096;
	if (w->cache < w->p.cache_want_bytes) {
		uint64_t fill = w->cache < w->p.cache_hot_bytes ? w->p.cache_fill_bytes :
				w->p.cache_fill_bytes / 8;

		/* A full guest evicts cold cache to read more: the cache stays at room. */
		w->cache = min3(w->cache + fill, w->p.cache_want_bytes, room);
	}
}

static void trim_progress(struct sim_world *w)
{
	uint64_t t = min3(w->p.trim_rate_bytes, w->trim_left, w->cache);

	w->cache -= t;
	w->trim_left = w->cache == 0 ? 0 : w->trim_left - t;
}

static int32_t ema(int32_t avg, int64_t sample, uint64_t step, uint64_t tau)
{
	return (int32_t)(avg + (sample * PSI_SCALE - avg) * (int64_t)step / (int64_t)tau);
}

/* Page cache in the kernel zones: it goes to ZONE_MOVABLE first. */
static uint64_t kernel_cache(const struct sim_world *w)
{
	uint64_t mfree = sub0(w->movable, sub0(w->used, w->unmovable + w->user_kernel));

	return sub0(w->cache, mfree);
}

/* What a kernel allocation finds in the kernel zones: free pages and cache to reclaim. */
static uint64_t kernel_avail(const struct sim_world *w)
{
	return sub0(kernel_size(w), w->unmovable + w->user_kernel);
}

/* A stall estimate: below a low mark, the deeper the worse; refaults add a little. */
static uint32_t psi_update(struct sim_world *w)
{
	uint64_t avail = sub0(w->current, w->used), low = w->p.low_mark_bytes, step = w->p.step_usec;
	uint64_t kfree = kernel_avail(w), klow = low / 2;
	uint64_t p = 0, pf = 0;

	if (avail < low) {
		p = (low - avail) * 10000 / low;
		w->allocstall++;
	}
	if (kfree < klow) {
		p += (klow - kfree) * 10000 / klow;
		w->allocstall++;
	}
	if (w->cache < w->p.cache_hot_bytes)
		p += (w->p.cache_hot_bytes - w->cache) * 1000 / w->p.cache_hot_bytes;
	if (p > 10000)
		p = 10000;
	if (avail < low / 2 || kfree < klow / 2)
		pf = p / 2;
	w->some10 = ema(w->some10, (int64_t)p, step, 10 * SEC);
	w->some60 = ema(w->some60, (int64_t)p, step, 60 * SEC);
	w->full10 = ema(w->full10, (int64_t)pf, step, 10 * SEC);
	w->some_total_usec += p * step / 10000;
	w->full_total_usec += pf * step / 10000;
	w->stats.stall_usec += p * step / 10000;
	return (uint32_t)p;
}

static void fill_zones(struct sim_world *w, struct policy_input *in)
{
	uint64_t kcap = kernel_size(w), kcache = kernel_cache(w);
	uint64_t kfree = sub0(kernel_avail(w), kcache);
	uint64_t mused = sub0(w->used, w->unmovable + w->user_kernel);

	in->zones_available = true;
	/* kswapd keeps free memory near the high watermark while there is cache to reclaim. */
	in->kernel_high_bytes = kcap / 200;
	in->kernel_low_bytes = kcap / 250;
	in->kernel_free_bytes = kfree > in->kernel_high_bytes ? kfree :
				min3(in->kernel_high_bytes, kcache, UINT64_MAX) + kfree;
	in->kernel_managed_bytes = kcap;
	in->kernel_file_bytes = sub0(kcache, in->kernel_free_bytes - kfree);
	in->movable_free_bytes = sub0(w->movable, mused + sub0(w->cache, kcache));
	in->movable_high_bytes = w->movable / 200;
	in->movable_managed_bytes = w->movable;
	in->movable_present_bytes = w->movable;
	in->unmovable_bytes = w->unmovable;
	in->kernel_growth = w->p.kernel_growth ? POLICY_KGROW_YES : POLICY_KGROW_NO_MECHANISM;
	in->memory_block_bytes = w->p.block_bytes;
	in->releasable_bytes = w->movable;
}

static void fill_input(struct sim_world *w, uint32_t stall_centi)
{
	struct policy_input *in = &w->in;

	memset(in, 0, sizeof(*in));
	in->now_usec = w->now_usec;
	in->mem_total_bytes = w->current;
	in->mem_available_bytes = sub0(w->current, w->used);
	in->mem_free_bytes = sub0(w->current, w->used + w->cache);
	in->file_cache_bytes = w->cache;
	in->active_file_bytes = min3(w->cache, w->p.cache_hot_bytes, UINT64_MAX);
	in->psi_available = true;
	in->psi_some_avg10 = (uint32_t)(w->some10 / PSI_SCALE);
	in->psi_some_avg60 = (uint32_t)(w->some60 / PSI_SCALE);
	in->psi_full_avg10 = (uint32_t)(w->full10 / PSI_SCALE);
	in->psi_some_total_usec = w->some_total_usec;
	in->psi_full_total_usec = w->full_total_usec;
	/* A kernel trigger of 150 ms per 2 s window fires at 7.5 %. */
	in->trigger_events = stall_centi >= 750;
	in->oom_kill = w->oom_kill;
	in->allocstall = w->allocstall;
	in->refault_file = w->refault_file;
	in->page_bytes = 4096;
	in->current_bytes = w->current;
	in->min_bytes = w->p.min_bytes;
	in->max_bytes = w->p.max_bytes;
	in->block_bytes = w->p.block_bytes;
	fill_zones(w, in);
	in->backend_busy = w->busy;
	in->reclaim_busy = w->trim_left > 0;
	if (w->p.host_target_bytes && w->now_usec >= w->p.host_from_usec)
		in->host_reclaim_target_bytes = w->p.host_target_bytes;
	else
		in->host_reclaim_target_bytes = w->host_ask_bytes;
}

static void apply(struct sim_world *w)
{
	const struct policy_decision *d = &w->d;

	switch (d->action) {
	case POLICY_GROW:
	case POLICY_SHRINK:
		if (d->action == POLICY_GROW) {
			w->stats.grows++;
			w->stats.kernel_grows += d->zone == POLICY_ZONE_KERNEL;
			w->trim_left = 0; /* the daemon stops a trim on any grow */
		} else {
			w->stats.shrinks++;
		}
		w->backend->request(w, w->backend_ctx);
		break;
	case POLICY_RECLAIM:
		w->stats.trims++;
		w->trim_left = d->reclaim_bytes;
		break;
	case POLICY_RECLAIM_STOP:
		w->stats.trim_stops++;
		w->trim_left = 0;
		break;
	default:
		w->stats.holds++;
		w->stats.cant_help += d->reason == POLICY_R_CANT_HELP;
		break;
	}
}

void sim_world_step(struct sim_world *w, uint64_t demand_bytes, uint64_t unmovable_bytes)
{
	uint32_t stall;

	w->backend->progress(w, w->backend_ctx);
	workload(w, demand_bytes, unmovable_bytes);
	trim_progress(w);
	stall = psi_update(w);
	fill_input(w, stall);
	policy_evaluate(&w->st, &w->cfg, &w->in, &w->d);
	apply(w);

	if (w->in.trigger_events)
		w->stats.trigger_steps++;
	if (w->in.mem_available_bytes < w->stats.min_avail_bytes)
		w->stats.min_avail_bytes = w->in.mem_available_bytes;
	if (w->current > w->stats.max_current_bytes)
		w->stats.max_current_bytes = w->current;
	if (w->d.pingpong_level > w->stats.max_pingpong)
		w->stats.max_pingpong = w->d.pingpong_level;
	w->now_usec += w->p.step_usec;
}
