/* SPDX-License-Identifier: MIT */
/* The measured scenarios in the page model; the timeline is pagemodel_scenario.h's. */
#include "pagemodel_scenario.h"

#define MIB (1ull << 20)
#define SEC 1000000ull
#define FILL_BYTES (320 * MIB)
#define GIVE_BYTES (256 * MIB)
#define HOLD_USEC (2 * SEC)
#define SETTLE_SEC 8

const struct pagemodel_case pagemodel_cases[] = {
	{ "balloon-nofpr-burst", "balloon inflate, FPR off", "burst", PAGEMODEL_ACT_BALLOON, false, false },
	{ "balloon-nofpr-cache", "balloon inflate, FPR off", "cache", PAGEMODEL_ACT_BALLOON, false, false },
	{ "balloon-fpr-burst", "balloon inflate, FPR on", "burst", PAGEMODEL_ACT_BALLOON, true, false },
	{ "balloon-fpr-cache", "balloon inflate, FPR on", "cache", PAGEMODEL_ACT_BALLOON, true, false },
	{ "vmem-burst", "virtio-mem unplug (FPR off)", "burst", PAGEMODEL_ACT_UNPLUG, false, true },
	{ "vmem-cache", "virtio-mem unplug (FPR off)", "cache", PAGEMODEL_ACT_UNPLUG, false, true },
	{ "trim-fpr-cache", "cache trim, FPR on", "cache", PAGEMODEL_ACT_TRIM, true, false },
	{ "trim-nofpr-cache", "cache trim, FPR off", "cache", PAGEMODEL_ACT_TRIM, false, false },
};

const size_t pagemodel_n_cases = sizeof(pagemodel_cases) / sizeof(pagemodel_cases[0]);

/* One report pass a second for SETTLE_SEC seconds from *now. */
static void settle(struct pagemodel *m, uint64_t *now)
{
	for (int s = 0; s < SETTLE_SEC; s++) {
		*now += SEC;
		pagemodel_report(m, *now);
	}
}

static uint64_t fill(struct pagemodel *m, const struct pagemodel_case *c, uint64_t *now)
{
	uint64_t peak;

	if (c->prep[0] == 'c') {
		pagemodel_alloc(m, PAGEMODEL_CACHE, FILL_BYTES, *now);
		return pagemodel_rss_bytes(m);
	}
	pagemodel_alloc(m, PAGEMODEL_ANON, FILL_BYTES, *now);
	peak = pagemodel_rss_bytes(m);
	*now += HOLD_USEC;
	pagemodel_release(m, FILL_BYTES, *now);
	return peak;
}

static uint64_t give_back(struct pagemodel *m, const struct pagemodel_case *c, uint64_t now)
{
	switch (c->action) {
	case PAGEMODEL_ACT_BALLOON:
		return pagemodel_balloon(m, GIVE_BYTES, now);
	case PAGEMODEL_ACT_UNPLUG:
		return pagemodel_unplug(m, GIVE_BYTES, now);
	default:
		return pagemodel_trim(m, now);
	}
}

int pagemodel_run(const struct pagemodel_case *c, const struct pagemodel_params *base,
		  struct pagemodel_result *ret)
{
	struct pagemodel_params p = *base;
	struct pagemodel m;
	struct pagemodel_result r;
	uint64_t now = 0;
	int err;

	p.fpr = c->fpr;
	p.movable_bytes = c->vmem ? GIVE_BYTES : 0;
	err = pagemodel_init(&m, &p);
	if (err < 0)
		return err;
	r.peak_bytes = fill(&m, c, &now);
	settle(&m, &now);
	r.before_bytes = pagemodel_rss_bytes(&m);
	r.given_bytes = give_back(&m, c, now);
	settle(&m, &now);
	r.after_bytes = pagemodel_rss_bytes(&m);
	pagemodel_free(&m);
	*ret = r;
	return 0;
}

int64_t pagemodel_per_mille(const struct pagemodel_result *r)
{
	if (r->given_bytes == 0)
		return 0;
	return ((int64_t)r->before_bytes - (int64_t)r->after_bytes) * 1000 / (int64_t)r->given_bytes;
}
