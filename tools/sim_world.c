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
}

void sim_world_init(struct sim_world *w, const struct sim_params *p,
		    const struct policy_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->p = *p;
	w->cfg = *cfg;
	policy_init(&w->st);
	w->current = p->start_bytes;
	/* The cache starts warm; workload() squeezes it to what fits. */
	w->cache = p->cache_want_bytes;
	w->stats.min_avail_bytes = UINT64_MAX;
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
		uint64_t delta = w->current - w->pending_target;

		/* Offlining fails on boot memory or with nowhere to migrate to. */
		if (delta > sub0(w->current, w->p.boot_bytes) ||
		    sub0(w->current, w->used) < delta + w->p.low_mark_bytes / 2)
			status = -EBUSY;
		else
			w->current = w->pending_target;
	} else {
		w->current = w->pending_target;
	}
	if (status < 0)
		w->stats.failures++;
	policy_backend_done(&w->st, &w->cfg, w->now_usec, status, w->current);
}

static void workload(struct sim_world *w, uint64_t demand)
{
	uint64_t memmap = sub0(w->current, w->p.boot_bytes) * w->p.memmap_centi / 10000;
	uint64_t want = sub0(demand, w->oom_freed) + w->p.kernel_bytes + memmap;
	uint64_t room;

	if (want + w->p.low_mark_bytes / 4 > w->current) {
		/* The OOM killer ends a process of 256 MiB plus the excess. */
		uint64_t freed = want + w->p.low_mark_bytes / 4 - w->current + 256 * MIB;

		w->oom_kill++;
		w->stats.oom_kills++;
		w->oom_freed += freed;
		want = sub0(want, freed);
	}
	w->used = want;
	room = sub0(w->current, w->used);
	if (w->cache > room)
		w->cache = room;
	/* The working set comes back at once (refaults), cold data slowly. */
	if (w->cache < w->p.cache_want_bytes && w->cache + w->p.low_mark_bytes < room) {
		uint64_t fill = w->cache < w->p.cache_hot_bytes ? w->p.cache_fill_bytes :
				w->p.cache_fill_bytes / 8;

		w->cache = min3(w->cache + fill, w->p.cache_want_bytes, room - w->p.low_mark_bytes);
	}
}

static void trim_progress(struct sim_world *w)
{
	uint64_t t = min3(w->p.trim_rate_bytes, w->trim_left, w->cache);

	w->cache -= t;
	w->trim_left = w->cache == 0 ? 0 : w->trim_left - t;
	/* Every missing page of the working set comes back once per step. */
	if (w->cache < w->p.cache_hot_bytes)
		w->refault_file += (w->p.cache_hot_bytes - w->cache) / 4096;
}

static int32_t ema(int32_t avg, int64_t sample, uint64_t step, uint64_t tau)
{
	return (int32_t)(avg + (sample * PSI_SCALE - avg) * (int64_t)step / (int64_t)tau);
}

/* A stall estimate: below the low mark, the deeper the worse; refaults add a little. */
static uint32_t psi_update(struct sim_world *w)
{
	uint64_t avail = sub0(w->current, w->used), low = w->p.low_mark_bytes, step = w->p.step_usec;
	uint64_t p = 0, pf = 0;

	if (avail < low) {
		p = (low - avail) * 10000 / low;
		w->allocstall++;
	}
	if (w->cache < w->p.cache_hot_bytes)
		p += (w->p.cache_hot_bytes - w->cache) * 1000 / w->p.cache_hot_bytes;
	if (p > 10000)
		p = 10000;
	if (avail < low / 2)
		pf = p / 2;
	w->some10 = ema(w->some10, (int64_t)p, step, 10 * SEC);
	w->some60 = ema(w->some60, (int64_t)p, step, 60 * SEC);
	w->full10 = ema(w->full10, (int64_t)pf, step, 10 * SEC);
	w->some_total_usec += p * step / 10000;
	w->full_total_usec += pf * step / 10000;
	w->stats.stall_usec += p * step / 10000;
	return (uint32_t)p;
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
	in->current_bytes = w->current;
	in->min_bytes = w->p.min_bytes;
	in->max_bytes = w->p.max_bytes;
	in->block_bytes = w->p.block_bytes;
	in->releasable_bytes = sub0(w->current, w->p.boot_bytes);
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
			w->trim_left = 0; /* the daemon stops a trim on any grow */
		} else {
			w->stats.shrinks++;
		}
		w->busy = true;
		w->done_at_usec = w->now_usec + w->p.plug_latency_usec;
		w->pending_target = d->target_bytes;
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
		break;
	}
}

void sim_world_step(struct sim_world *w, uint64_t demand_bytes)
{
	uint32_t stall;

	backend_progress(w);
	workload(w, demand_bytes);
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
	return (t / SEC) % 150 < 20 ? 2560 * MIB : 800 * MIB;
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

static const struct sim_scenario scenarios[] = {
	{ "ramp", "demand rises 100 MiB/s from 600 MiB to 5 GiB", 120 * SEC, setup_none, demand_ramp },
	{ "burst", "demand jumps by 1190 MiB at once", 120 * SEC, setup_none, demand_burst },
	{ "plateau", "demand rises 50 MiB/s to 3 GiB and stays", 600 * SEC, setup_none, demand_plateau },
	{ "decay", "6 GiB guest, demand falls 2 MiB/s from 4.5 GiB", 2400 * SEC, setup_decay, demand_decay },
	{ "sawtooth", "2.5 GiB for 20 s every 150 s, else 800 MiB", 1500 * SEC, setup_none, demand_sawtooth },
	{ "oom", "demand outgrows a 3 GiB maximum", 60 * SEC, setup_oom, demand_oom },
	{ "idle", "6 GiB guest with 800 MiB demand and a big cold cache", 900 * SEC, setup_idle, demand_idle },
	{ "thrash", "4 GiB guest whose page cache is nearly all working set", 300 * SEC, setup_thrash, demand_thrash },
	{ "host", "the host asks a 4 GiB guest for 2 GiB", 300 * SEC, setup_host, demand_host },
	{ "fail", "ramp with the first three backend requests failing", 120 * SEC, setup_fail, demand_ramp },
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
