/* SPDX-License-Identifier: MIT */
#include "backends/sysfs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "common/worker.h"

#define SYSFS_INITIAL_BLOCKS 256u
/* 2^20 blocks of 128 MiB is 128 TiB: far beyond any guest. */
#define SYSFS_MAX_BLOCKS (1u << 20)

struct sysfs_backend {
	int rootfd;
	uint64_t cfg_min_bytes;
	uint64_t cfg_max_bytes; /* 0: none */
	int (*write_state)(int rootfd, uint32_t id, const char *state, void *ctx);
	void *write_ctx;

	/* Owned by the daemon's thread (query, releasable). */
	struct memblock_set scan;
	/*
	 * What the last query() found.  The daemon asks releasable() right
	 * after query() on every evaluation; answering from this survey
	 * saves a second walk of every block's sysfs files.
	 */
	struct sysfs_survey survey;
	bool survey_valid;

	/* Owned by the worker while a job runs, by the daemon's thread otherwise. */
	struct worker *worker;
	struct memblock_set job_set;
	uint64_t job_seq;
	uint64_t job_target_bytes;
	uint32_t job_zone;
	int job_status;
	uint64_t job_current_bytes;
	char job_reason[VMRD_BACKEND_REASON_MAX];
};

static void sysfs_job(void *arg);

static int sysfs_default_writer(int rootfd, uint32_t id, const char *state, void *ctx)
{
	return memblock_set_state(rootfd, id, state);
}

/* Scan into set, growing its array when the machine has more blocks than it holds. */
static int sysfs_scan(int rootfd, struct memblock_set *set)
{
	for (;;) {
		struct memblock *bigger;
		size_t cap;
		int r;

		if (set->cap > 0) {
			r = memblock_scan(rootfd, set);
			if (r != -ENOSPC)
				return r;
			if (set->cap >= SYSFS_MAX_BLOCKS)
				return -ENOSPC;
		}
		cap = set->cap ? set->cap * 2 : SYSFS_INITIAL_BLOCKS;
		bigger = realloc(set->blocks, cap * sizeof(*bigger));
		if (!bigger)
			return -ENOMEM;
		set->blocks = bigger;
		set->cap = cap;
	}
}

int sysfs_block_offlinable(const struct memblock *b)
{
	return b->state == MEMBLOCK_ONLINE && b->removable &&
	       b->valid_zones == MEMBLOCK_ZONE_MOVABLE;
}

static uint64_t round_up(uint64_t v, uint64_t block)
{
	if (block == 0 || v % block == 0)
		return v;
	return v > UINT64_MAX - block ? v - v % block : v + (block - v % block);
}

void sysfs_survey_compute(const struct memblock_set *set, uint64_t cfg_min_bytes,
			  uint64_t cfg_max_bytes, struct sysfs_survey *ret)
{
	uint64_t block = set->block_size_bytes;
	uint64_t online = 0, fixed = 0, movable = 0;
	struct sysfs_survey s;

	for (size_t i = 0; i < set->n; i++) {
		const struct memblock *b = &set->blocks[i];

		if (b->state != MEMBLOCK_ONLINE)
			continue;
		online++;
		if (sysfs_block_offlinable(b))
			movable++;
		else
			fixed++;
	}
	s.block_bytes = block;
	s.current_bytes = online * block;
	s.max_bytes = (uint64_t)set->n * block;
	if (cfg_max_bytes && cfg_max_bytes < s.max_bytes)
		s.max_bytes = cfg_max_bytes - cfg_max_bytes % (block ? block : 1);
	s.min_bytes = fixed * block;
	if (round_up(cfg_min_bytes, block) > s.min_bytes)
		s.min_bytes = round_up(cfg_min_bytes, block);
	/* An inconsistent config must not make the range empty. */
	if (s.max_bytes < s.min_bytes)
		s.max_bytes = s.min_bytes;
	s.releasable_bytes = movable * block;
	if (s.current_bytes <= s.min_bytes)
		s.releasable_bytes = 0;
	else if (s.releasable_bytes > s.current_bytes - s.min_bytes)
		s.releasable_bytes = s.current_bytes - s.min_bytes;
	*ret = s;
}

static int sysfs_open(const struct vmrd_backend_env *env, void **ret_state)
{
	struct sysfs_backend *s;
	int r;

	backend_set_last_error(NULL);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rootfd = env->rootfd;
	s->write_state = sysfs_default_writer;
	if ((r = backend_config_size(env, "sysfs", "min", &s->cfg_min_bytes)) < 0 ||
	    (r = backend_config_size(env, "sysfs", "max", &s->cfg_max_bytes)) < 0)
		goto fail;
	/* Fail at start-up, not at the first request, when there is nothing to drive. */
	r = sysfs_scan(s->rootfd, &s->scan);
	if (r < 0) {
		backend_set_last_error("sysfs: cannot scan sys/devices/system/memory: %s",
				       strerror(-r));
		goto fail;
	}
	if (s->scan.block_size_bytes == 0) {
		r = -EINVAL;
		backend_set_last_error("sysfs: block_size_bytes is 0");
		goto fail;
	}
	r = worker_new(sysfs_job, s, &s->worker);
	if (r < 0)
		goto fail;
	*ret_state = s;
	return 0;
fail:
	free(s->scan.blocks);
	free(s);
	return r;
}

static int sysfs_query(void *state, struct vmrd_backend_info *ret_info)
{
	struct sysfs_backend *s = state;
	struct sysfs_survey sv;
	int r;

	s->survey_valid = false;
	r = sysfs_scan(s->rootfd, &s->scan);
	if (r < 0)
		return r;
	sysfs_survey_compute(&s->scan, s->cfg_min_bytes, s->cfg_max_bytes, &sv);
	s->survey = sv;
	s->survey_valid = true;
	ret_info->current_bytes = sv.current_bytes;
	ret_info->min_bytes = sv.min_bytes;
	ret_info->max_bytes = sv.max_bytes;
	ret_info->block_bytes = sv.block_bytes;
	return 0;
}

static int sysfs_releasable(void *state, uint64_t *ret_bytes)
{
	struct sysfs_backend *s = state;
	int r;

	if (!s->survey_valid) {
		r = sysfs_scan(s->rootfd, &s->scan);
		if (r < 0)
			return r;
		sysfs_survey_compute(&s->scan, s->cfg_min_bytes, s->cfg_max_bytes, &s->survey);
		s->survey_valid = true;
	}
	s->survey_valid = false; /* the next evaluation's query scans afresh */
	*ret_bytes = s->survey.releasable_bytes;
	return 0;
}

/*
 * Online up to need blocks, lowest id first, in the zone asked for (a
 * kernel that cannot put a block there onlines it where it can); returns
 * how many came online.
 */
static uint64_t sysfs_grow(struct sysfs_backend *s, uint64_t need, int *first_err)
{
	const char *state = s->job_zone == VMRD_ZONE_KERNEL ? "online_kernel" : "online_movable";
	uint64_t done = 0;

	for (size_t i = 0; i < s->job_set.n && done < need; i++) {
		const struct memblock *b = &s->job_set.blocks[i];
		int r;

		if (b->state != MEMBLOCK_OFFLINE)
			continue;
		r = s->write_state(s->rootfd, b->id, state, s->write_ctx);
		if (r < 0)
			r = s->write_state(s->rootfd, b->id, "online", s->write_ctx);
		if (r == 0)
			done++;
		else if (*first_err == 0)
			*first_err = r;
	}
	return done;
}

/* Offline up to need ZONE_MOVABLE blocks, highest id first; returns how many went. */
static uint64_t sysfs_shrink(struct sysfs_backend *s, uint64_t need, int *first_err)
{
	uint64_t done = 0;

	for (size_t i = s->job_set.n; i-- > 0 && done < need;) {
		const struct memblock *b = &s->job_set.blocks[i];
		int r;

		if (!sysfs_block_offlinable(b))
			continue;
		r = s->write_state(s->rootfd, b->id, "offline", s->write_ctx);
		if (r == 0)
			done++;
		else if (*first_err == 0)
			*first_err = r;
	}
	return done;
}

static void sysfs_job_finish(struct sysfs_backend *s, int status, const char *reason)
{
	s->job_status = status;
	snprintf(s->job_reason, sizeof(s->job_reason), "%s", reason);
}

/* Runs on the worker thread. */
static void sysfs_job(void *arg)
{
	struct sysfs_backend *s = arg;
	uint64_t target, need, done, before;
	struct sysfs_survey sv;
	int first_err = 0, r;
	bool grow;

	r = sysfs_scan(s->rootfd, &s->job_set);
	if (r < 0) {
		s->job_current_bytes = 0;
		backend_errno_reason(r, s->job_reason, sizeof(s->job_reason));
		s->job_status = r;
		return;
	}
	sysfs_survey_compute(&s->job_set, s->cfg_min_bytes, s->cfg_max_bytes, &sv);
	before = sv.current_bytes;
	/* The daemon clamps too; this keeps a stray request from crossing the bounds. */
	target = s->job_target_bytes;
	if (target < sv.min_bytes)
		target = sv.min_bytes;
	if (target > sv.max_bytes)
		target = sv.max_bytes;
	grow = target > before;
	/* Grow to at least the target, shrink to no less than it. */
	need = grow ? (target - before + sv.block_bytes - 1) / sv.block_bytes
		    : (before - target) / sv.block_bytes;
	done = 0;
	if (need > 0)
		done = grow ? sysfs_grow(s, need, &first_err) : sysfs_shrink(s, need, &first_err);

	/* The files are the truth: rescan rather than add up what we think happened. */
	s->job_current_bytes = grow ? before + done * sv.block_bytes : before - done * sv.block_bytes;
	if (sysfs_scan(s->rootfd, &s->job_set) == 0) {
		sysfs_survey_compute(&s->job_set, s->cfg_min_bytes, s->cfg_max_bytes, &sv);
		s->job_current_bytes = sv.current_bytes;
	}

	if (need == 0)
		sysfs_job_finish(s, 0, "noop");
	else if (done == need)
		sysfs_job_finish(s, 0, "ok");
	else if (done > 0)
		sysfs_job_finish(s, 0, "partial");
	else if (first_err == 0)
		sysfs_job_finish(s, -ENOSPC, "no_blocks");
	else if (first_err == -EBUSY || first_err == -EAGAIN)
		sysfs_job_finish(s, -EBUSY, "ebusy");
	else {
		s->job_status = first_err;
		backend_errno_reason(first_err, s->job_reason, sizeof(s->job_reason));
	}
}

static int sysfs_request(void *state, const struct vmrd_backend_request *req)
{
	struct sysfs_backend *s = state;

	if (worker_busy(s->worker))
		return -EBUSY;
	s->job_seq = req->seq;
	s->job_target_bytes = req->target_bytes;
	s->job_zone = req->zone;
	return worker_start(s->worker);
}

static int sysfs_fd(void *state)
{
	struct sysfs_backend *s = state;

	return worker_fd(s->worker);
}

static int sysfs_next_event(void *state, struct vmrd_backend_event *ret_event)
{
	struct sysfs_backend *s = state;
	struct vmrd_backend_event ev;

	if (worker_collect(s->worker) == 0)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = VMRD_BACKEND_EV_DONE;
	ev.status = s->job_status;
	ev.seq = s->job_seq;
	ev.current_bytes = s->job_current_bytes;
	/* What was granted is what came online: the kernel is the only provider here. */
	ev.target_bytes = s->job_current_bytes;
	snprintf(ev.reason, sizeof(ev.reason), "%s", s->job_reason);
	*ret_event = ev;
	return 1;
}

static void sysfs_close(void *state)
{
	struct sysfs_backend *s = state;

	if (!s)
		return;
	worker_stop(s->worker, UINT64_MAX);
	free(s->scan.blocks);
	free(s->job_set.blocks);
	free(s);
}

void sysfs_backend_set_writer(void *backend_state,
			      int (*fn)(int rootfd, uint32_t id, const char *state, void *ctx),
			      void *ctx)
{
	struct sysfs_backend *s = backend_state;

	s->write_state = fn ? fn : sysfs_default_writer;
	s->write_ctx = ctx;
}

const struct vmrd_backend_ops backend_sysfs_ops = {
	.abi_version = VMRD_BACKEND_ABI_VERSION,
	.name = "sysfs",
	.open = sysfs_open,
	.query = sysfs_query,
	.request = sysfs_request,
	.fd = sysfs_fd,
	.next_event = sysfs_next_event,
	.close = sysfs_close,
	.releasable = sysfs_releasable,
};
