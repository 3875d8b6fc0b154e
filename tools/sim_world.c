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
}

static uint64_t kernel_size(const struct sim_world *w)
{
	return w->p.boot_bytes + w->kernel_plugged;
}

/* Unplugging takes ZONE_MOVABLE first; offlining needs somewhere to migrate to. */
static int backend_shrink(struct sim_world *w, uint64_t delta)
{
	uint64_t from_movable = min3(delta, w->movable, UINT64_MAX);

	if (delta > w->movable + w->kernel_plugged ||
	    sub0(w->current, w->used) < delta + w->p.low_mark_bytes / 2)
		return -EBUSY;
	w->movable -= from_movable;
	w->kernel_plugged -= delta - from_movable;
	w->current -= delta;
	return 0;
}

static void backend_progress(struct sim_world *w)
{
	int status = 0;

	if (!w->busy || w->now_usec < w->done_at_usec)
		return;
	w->busy = false;
	if (w->requests <= w->p.fail_requests) {
		status = -EIO;
	} else if (w->pending_target < w->current) {
		status = backend_shrink(w, w->current - w->pending_target);
	} else {
		if (w->pending_zone == POLICY_ZONE_KERNEL)
			w->kernel_plugged += w->pending_target - w->current;
		else
			w->movable += w->pending_target - w->current;
		w->current = w->pending_target;
	}
	if (status < 0)
		w->stats.failures++;
	policy_backend_done(&w->st, &w->cfg, w->now_usec, status, 0, w->current);
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
		w->busy = true;
		w->done_at_usec = w->now_usec + w->p.plug_latency_usec;
		w->pending_target = d->target_bytes;
		w->pending_zone = d->zone;
		w->requests++;
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

	backend_progress(w);
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

void sim_scenario_step(const struct sim_scenario *sc, struct sim_world *w)
{
	uint64_t t = w->now_usec;

	sim_world_step(w, sc->demand(t), sc->unmovable ? sc->unmovable(t) : 0);
}

/* Demand curves, in bytes of workload memory at time t. */

static uint64_t ramp_to(uint64_t t, uint64_t start_sec, uint64_t from, uint64_t rate, uint64_t to)
{
	uint64_t s = t / SEC, v;

	if (s <= start_sec)
		return from;
	v = from + (s - start_sec) * rate;
	return v < to ? v : to;
}

static uint64_t demand_ramp(uint64_t t)
{
	return ramp_to(t, 10, 600 * MIB, 100 * MIB, 5 * GIB);
}

static uint64_t demand_burst(uint64_t t)
{
	return t < 20 * SEC ? 600 * MIB : 1790 * MIB;
}

static uint64_t demand_plateau(uint64_t t)
{
	return ramp_to(t, 10, 600 * MIB, 50 * MIB, 3 * GIB);
}

static uint64_t demand_decay(uint64_t t)
{
	uint64_t drop = t / SEC * 2 * MIB;

	return drop >= 3900 * MIB ? 600 * MIB : 4500 * MIB - drop;
}

static uint64_t demand_sawtooth(uint64_t t)
{
	return (t / SEC) % 60 >= 30 && (t / SEC) % 60 < 50 ? 1664 * MIB : 800 * MIB;
}

static uint64_t demand_oom(uint64_t t)
{
	return ramp_to(t, 10, 600 * MIB, 200 * MIB, 4 * GIB);
}

static uint64_t demand_idle(uint64_t t)
{
	return 800 * MIB;
}

static uint64_t demand_thrash(uint64_t t)
{
	return 600 * MIB;
}

static uint64_t demand_host(uint64_t t)
{
	return 1536 * MIB;
}

static void setup_none(struct sim_params *p)
{
}

static void setup_decay(struct sim_params *p)
{
	p->start_bytes = 6 * GIB;
}

static void setup_oom(struct sim_params *p)
{
	p->max_bytes = 3 * GIB;
}

static void setup_idle(struct sim_params *p)
{
	p->start_bytes = 6 * GIB;
	p->cache_want_bytes = 2 * GIB;
	p->cache_hot_bytes = 256 * MIB;
}

static void setup_thrash(struct sim_params *p)
{
	p->start_bytes = 4 * GIB;
	p->cache_want_bytes = 2560 * MIB;
	p->cache_hot_bytes = 2500 * MIB;
}

static void setup_host(struct sim_params *p)
{
	p->start_bytes = 4 * GIB;
	p->host_target_bytes = 2 * GIB;
	p->host_from_usec = 10 * SEC;
}

static void setup_fail(struct sim_params *p)
{
	p->fail_requests = 3;
}

/* Slab grows 20 MiB/s to 2 GiB from t = 10 s; user pages stay at 600 MiB. */
static uint64_t unmovable_slab(uint64_t t)
{
	return ramp_to(t, 10, 0, 20 * MIB, 2 * GIB);
}

static uint64_t demand_slab(uint64_t t)
{
	return 600 * MIB + unmovable_slab(t);
}

/* Memory already plugged into ZONE_MOVABLE, free: the trap of zone-blind growth. */
static void setup_unmovable(struct sim_params *p)
{
	p->start_bytes = 3 * GIB;
}

/* No way to grow the kernel zones: say so instead of growing in vain. */
static void setup_unmovable_stuck(struct sim_params *p)
{
	p->start_bytes = 3 * GIB;
	p->kernel_growth = false;
}

/* A cache of 6 GiB read once: nothing refaults. */
static void setup_stream(struct sim_params *p)
{
	p->cache_want_bytes = 6 * GIB;
	p->cache_hot_bytes = 64 * MIB;
	p->cache_fill_bytes = 128 * MIB;
}

/* A 3 GiB working set of files in a 2 GiB guest: it refaults until it fits. */
static void setup_hotset(struct sim_params *p)
{
	p->cache_want_bytes = 3 * GIB;
	p->cache_hot_bytes = 3 * GIB;
	p->cache_fill_bytes = 128 * MIB;
}

static const struct sim_scenario scenarios[] = {
	{ "ramp", "demand rises 100 MiB/s from 600 MiB to 5 GiB", 120 * SEC, setup_none, demand_ramp, NULL },
	{ "burst", "demand jumps by 1190 MiB at once", 120 * SEC, setup_none, demand_burst, NULL },
	{ "plateau", "demand rises 50 MiB/s to 3 GiB and stays", 600 * SEC, setup_none, demand_plateau, NULL },
	{ "decay", "6 GiB guest, demand falls 2 MiB/s from 4.5 GiB", 2400 * SEC, setup_decay, demand_decay, NULL },
	{ "sawtooth", "1.6 GiB from 30 s to 50 s of every minute, else 800 MiB", 600 * SEC, setup_none, demand_sawtooth, NULL },
	{ "oom", "demand outgrows a 3 GiB maximum", 60 * SEC, setup_oom, demand_oom, NULL },
	{ "idle", "6 GiB guest with 800 MiB demand and a big cold cache", 900 * SEC, setup_idle, demand_idle, NULL },
	{ "thrash", "4 GiB guest whose page cache is nearly all working set", 300 * SEC, setup_thrash, demand_thrash, NULL },
	{ "host", "the host asks a 4 GiB guest for 2 GiB", 300 * SEC, setup_host, demand_host, NULL },
	{ "fail", "ramp with the first three backend requests failing", 120 * SEC, setup_fail, demand_ramp, NULL },
	{ "unmovable", "3 GiB guest, 1 GiB of it free in ZONE_MOVABLE; slab grows 20 MiB/s to 2 GiB",
	  180 * SEC, setup_unmovable, demand_slab, unmovable_slab },
	{ "unmovable-stuck", "as unmovable, but the kernel zones cannot grow", 180 * SEC,
	  setup_unmovable_stuck, demand_slab, unmovable_slab },
	{ "stream", "a 6 GiB file read once, 800 MiB of user pages", 300 * SEC, setup_stream, demand_idle, NULL },
	{ "hotset", "a 3 GiB working set of files in a 2 GiB guest", 300 * SEC, setup_hotset, demand_thrash, NULL },
};

const struct sim_scenario *sim_scenario_at(unsigned i)
{
	return i < sizeof(scenarios) / sizeof(scenarios[0]) ? &scenarios[i] : NULL;
}

const struct sim_scenario *sim_scenario_find(const char *name)
{
	for (unsigned i = 0; sim_scenario_at(i); i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return &scenarios[i];
	return NULL;
}
