/* SPDX-License-Identifier: MIT */
#include "fleet_demand.h"

#include <errno.h>
#include <string.h>

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define PPM UINT64_C(1000000)

static const char *const kind_names[FLEET_KIND__MAX] = {
	[FLEET_KIND_BURSTY] = "bursty",
	[FLEET_KIND_DIURNAL] = "diurnal",
	[FLEET_KIND_CACHE] = "cache",
	[FLEET_KIND_UNMOVABLE] = "unmovable",
	[FLEET_KIND_TRACE] = "trace",
};

const char *fleet_kind_name(enum fleet_kind kind)
{
	return (unsigned)kind < FLEET_KIND__MAX ? kind_names[kind] : "unknown";
}

int fleet_kind_parse(const char *name, enum fleet_kind *ret)
{
	for (int k = 0; k < FLEET_KIND__MAX; k++)
		if (strcmp(name, kind_names[k]) == 0) {
			*ret = (enum fleet_kind)k;
			return 0;
		}
	return -EINVAL;
}

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (the modulo bias is far below what matters here). */
static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + rng_next(s) % (hi - lo + 1);
}

/* Sizes in whole MiB, so that traces print cleanly. */
static uint64_t rng_size(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return rng_range(s, lo / MIB, hi / MIB) * MIB;
}

/* An event with mean interval mean_usec happens within one step (a Poisson process). */
static bool rng_chance(uint64_t *s, uint64_t step_usec, uint64_t mean_usec)
{
	return rng_next(s) % mean_usec < step_usec;
}

/*
 * (1 + cos(2 pi x / period)) / 2 in millionths, by Bhaskara I's sine
 * approximation (within 0.2 %): integer-only, so every machine agrees.
 */
static uint64_t half_cos_ppm(uint64_t x, uint64_t period)
{
	/* The angle in thousandths of a degree, shifted by 90 so that sin gives cos. */
	uint64_t a = (x % period) * 360000 / period + 90000;
	bool neg;
	uint64_t p, s;

	a %= 360000;
	neg = a >= 180000;
	if (neg)
		a -= 180000;
	p = a * (180000 - a);
	s = 4 * p * (PPM / 1000) / ((UINT64_C(40500) * 1000000 - p) / 1000);
	if (s > PPM)
		s = PPM;
	return neg ? (PPM - s) / 2 : (PPM + s) / 2;
}

void fleet_demand_init(struct fleet_demand *g, enum fleet_kind kind, uint64_t seed, uint64_t index,
		       const struct fleet_trace *trace, uint64_t day_usec)
{
	memset(g, 0, sizeof(*g));
	g->kind = kind;
	g->rng = seed ^ (index * UINT64_C(0xd1b54a32d192ed03));
	rng_next(&g->rng);
	g->trace = trace;
	g->day_usec = day_usec;
	switch (kind) {
	case FLEET_KIND_BURSTY:
		g->base_bytes = rng_size(&g->rng, 300 * MIB, 900 * MIB);
		break;
	case FLEET_KIND_DIURNAL:
		g->base_bytes = rng_size(&g->rng, 300 * MIB, 700 * MIB);
		g->amp_bytes = rng_size(&g->rng, 512 * MIB, 3 * GIB);
		/* 14:00 +- 3 h of the run's day. */
		g->peak_usec = day_usec / 24 * 11 + rng_range(&g->rng, 0, day_usec / 4);
		break;
	case FLEET_KIND_CACHE:
		g->base_bytes = rng_size(&g->rng, 400 * MIB, 900 * MIB);
		g->cache_bytes = rng_size(&g->rng, 2 * GIB, 6 * GIB);
		g->hot_bytes = rng_size(&g->rng, 256 * MIB, 1536 * MIB);
		g->next_usec = rng_range(&g->rng, 30 * MIN, 3 * HOUR);
		break;
	case FLEET_KIND_UNMOVABLE:
		g->base_bytes = rng_size(&g->rng, 400 * MIB, 900 * MIB);
		break;
	case FLEET_KIND_TRACE:
	case FLEET_KIND__MAX:
		break;
	}
}

static void bursty(struct fleet_demand *g, uint64_t now, uint64_t step, struct fleet_sample *s)
{
	if (!g->on && rng_chance(&g->rng, step, 30 * MIN)) {
		g->on = true;
		g->level_bytes = 0;
		g->height_bytes = rng_size(&g->rng, 512 * MIB, 3 * GIB);
		g->rate_bytes = rng_size(&g->rng, 16 * MIB, 128 * MIB);
		g->end_usec = now + rng_range(&g->rng, 1 * MIN, 15 * MIN);
	}
	if (g->on && now >= g->end_usec)
		g->on = false;
	if (g->on) {
		g->level_bytes += g->rate_bytes * step / SEC;
		if (g->level_bytes > g->height_bytes)
			g->level_bytes = g->height_bytes;
	}
	s->demand_bytes = g->base_bytes + (g->on ? g->level_bytes : 0);
}

static void diurnal(struct fleet_demand *g, uint64_t now, struct fleet_sample *s)
{
	uint64_t swing = g->amp_bytes / MIB * half_cos_ppm(now + g->day_usec - g->peak_usec, g->day_usec)
			 / PPM * MIB;

	/* A random walk within a tenth of the swing, a hundredth of it per minute at most. */
	if (now >= g->next_usec) {
		uint64_t stepb = g->amp_bytes / 100, up = rng_size(&g->rng, 0, 2 * stepb);

		g->noise_bytes = g->noise_bytes + up > stepb ? g->noise_bytes + up - stepb : 0;
		if (g->noise_bytes > g->amp_bytes / 10)
			g->noise_bytes = g->amp_bytes / 10;
		g->next_usec = now + MIN;
	}
	s->demand_bytes = g->base_bytes + swing + g->noise_bytes;
}

static void cache(struct fleet_demand *g, uint64_t now, struct fleet_sample *s)
{
	if (now >= g->next_usec) {
		g->hot_bytes = rng_size(&g->rng, 256 * MIB, 1536 * MIB);
		g->next_usec = now + rng_range(&g->rng, 30 * MIN, 3 * HOUR);
	}
	s->demand_bytes = g->base_bytes;
	s->cache_bytes = g->cache_bytes;
	s->hot_bytes = g->hot_bytes < g->cache_bytes ? g->hot_bytes : g->cache_bytes;
}

/* Slab grows to its height, holds there (end_usec counts the hold once it is reached), is freed. */
static void unmovable(struct fleet_demand *g, uint64_t now, uint64_t step, struct fleet_sample *s)
{
	if (!g->on && rng_chance(&g->rng, step, 2 * HOUR)) {
		g->on = true;
		g->level_bytes = 0;
		g->height_bytes = rng_size(&g->rng, 256 * MIB, 1536 * MIB);
		g->rate_bytes = rng_size(&g->rng, 4 * MIB, 24 * MIB);
		g->end_usec = rng_range(&g->rng, 10 * MIN, 60 * MIN);
	}
	if (g->on && g->level_bytes < g->height_bytes) {
		g->level_bytes += g->rate_bytes * step / SEC;
		if (g->level_bytes >= g->height_bytes) {
			g->level_bytes = g->height_bytes;
			g->end_usec += now;
		}
	} else if (g->on && now >= g->end_usec) {
		g->on = false;
		g->level_bytes = 0;
	}
	s->unmovable_bytes = g->level_bytes;
	s->demand_bytes = g->base_bytes + g->level_bytes;
}

static void replay(struct fleet_demand *g, uint64_t now, struct fleet_sample *s)
{
	const struct fleet_trace_row *r = fleet_trace_at(g->trace, &g->cursor, now);

	s->demand_bytes = r->demand_bytes;
	s->unmovable_bytes = r->unmovable_bytes;
	if (g->trace->has_cache) {
		s->cache_bytes = r->cache_bytes;
		/* Without a hot column a quarter of the cache is working set. */
		s->hot_bytes = g->trace->has_hot ? r->hot_bytes : r->cache_bytes / 4;
	}
}

void fleet_demand_next(struct fleet_demand *g, uint64_t now_usec, uint64_t step_usec,
		       struct fleet_sample *ret)
{
	memset(ret, 0, sizeof(*ret));
	switch (g->kind) {
	case FLEET_KIND_BURSTY:
		bursty(g, now_usec, step_usec, ret);
		break;
	case FLEET_KIND_DIURNAL:
		diurnal(g, now_usec, ret);
		break;
	case FLEET_KIND_CACHE:
		cache(g, now_usec, ret);
		break;
	case FLEET_KIND_UNMOVABLE:
		unmovable(g, now_usec, step_usec, ret);
		break;
	case FLEET_KIND_TRACE:
		replay(g, now_usec, ret);
		break;
	case FLEET_KIND__MAX:
		break;
	}
}
