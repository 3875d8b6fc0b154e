/* SPDX-License-Identifier: MIT */
/*
 * The named workloads of vmrd-sim and the policy scenario tests: a demand
 * curve (and its unmovable part) over time, and the world's parameters.
 */
#include <string.h>

#include "sim_scenario.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000ull

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
