/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the backend: opening it (again, with backoff, while
 * it fails), and turning its events into the owner's callbacks.  A backend
 * that fails is reported and retried; the daemon keeps running.
 */
#include "vmrd/daemon_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "backends/backend.h"
#include "common/clock.h"
#include "common/log.h"

#define MIB(x) ((x) >> 20)
/* Events taken from the backend per loop turn. */
#define DRAIN_EVENTS_MAX 32
/* The provider's asks to shrink are said at most this often; the others are counted. */
#define RECLAIM_LOG_USEC 1000000ull

static void on_readable(struct loop_watch *w, uint32_t events)
{
	daemon_backend_drain(LOOP_OWNER(w, struct daemon_backend, watch), clock_now_usec());
}

void daemon_backend_init(struct daemon_backend *b, struct loop *loop,
			 const struct daemon_backend_owner *owner, void *ctx)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->owner = owner;
	b->ctx = ctx;
	loop_watch_init(&b->watch, on_readable);
	backoff_init(&b->reopen, 0, 0);
}

void daemon_backend_configure(struct daemon_backend *b, const char *name, uint64_t backoff_min_usec,
			      uint64_t backoff_max_usec)
{
	snprintf(b->name, sizeof(b->name), "%s", name);
	backoff_set_limits(&b->reopen, backoff_min_usec, backoff_max_usec);
}

bool daemon_backend_due(const struct daemon_backend *b, uint64_t now_usec)
{
	return !b->up && !backoff_waiting(&b->reopen, now_usec);
}

void daemon_backend_retry_now(struct daemon_backend *b)
{
	b->reopen.retry_at_usec = 0;
}

void daemon_backend_close(struct daemon_backend *b)
{
	if (!b->up)
		return;
	/* The backend owns the descriptor: only take it out of the loop. */
	loop_del(b->loop, &b->watch);
	b->watch.fd = -1;
	b->ops->close(b->state);
	b->state = NULL;
	b->up = false;
	b->pending = false;
}

static void open_failed(struct daemon_backend *b, int r, uint64_t now)
{
	uint64_t delay = backoff_failed(&b->reopen, now);
	const char *why;

	b->state = NULL;
	/* Say it the first time and then only as the delay grows, not every retry. */
	if (b->reopen.failures != 1 && delay >= b->reopen.max_usec)
		return;
	why = backend_last_error();
	if (why)
		log_warnx("backend %s: %s; retrying in %" PRIu64 " s", b->name, why, delay / 1000000);
	else
		log_warnc(r, "backend %s: cannot open; retrying in %" PRIu64 " s", b->name,
			  delay / 1000000);
}

int daemon_backend_open(struct daemon_backend *b, const struct vmrd_backend_env *env, uint64_t now)
{
	int fd, r;

	b->ops = backend_lookup(b->name);
	if (!b->ops) {
		r = -ENOENT;
		goto fail;
	}
	r = b->ops->open(env, &b->state);
	if (r < 0)
		goto fail;
	r = b->ops->query(b->state, &b->info);
	if (r < 0)
		goto fail_close;
	fd = b->ops->fd(b->state);
	b->watch.fd = fd;
	if (fd >= 0 && (r = loop_add(b->loop, &b->watch, EPOLLIN)) < 0) {
		b->watch.fd = -1;
		goto fail_close;
	}
	b->up = true;
	backoff_succeeded(&b->reopen);
	log_info("backend %s: current %" PRIu64 " MiB, min %" PRIu64 " MiB, max %" PRIu64
		 " MiB, block %" PRIu64 " MiB",
		 b->name, MIB(b->info.current_bytes), MIB(b->info.min_bytes), MIB(b->info.max_bytes),
		 MIB(b->info.block_bytes));
	return 0;
fail_close:
	b->ops->close(b->state);
fail:
	open_failed(b, r, now);
	return r;
}

void daemon_backend_query(struct daemon_backend *b)
{
	if (b->up && b->ops->query(b->state, &b->info) < 0)
		b->stats.failures++;
}

int daemon_backend_request(struct daemon_backend *b, uint64_t target_bytes, uint32_t urgency,
			   enum vmrd_zone zone, const char *reason, uint64_t now)
{
	struct vmrd_backend_request *req = &b->req;
	int r;

	if (!b->up)
		return -ENOTCONN;
	memset(req, 0, sizeof(*req));
	req->seq = ++b->seq;
	req->target_bytes = target_bytes;
	req->urgency = urgency;
	req->zone = zone;
	snprintf(req->reason, sizeof(req->reason), "%s", reason);
	r = b->ops->request(b->state, req);
	if (r < 0) {
		b->stats.failures++;
		log_warnc(r, "backend %s: request %" PRIu64 " refused", b->name, req->seq);
		b->owner->done(b->ctx, r, 0, b->info.current_bytes, now);
		return r;
	}
	b->pending = true;
	b->sent_usec = now;
	daemon_backend_drain(b, now); /* synchronous backends complete at once */
	return 0;
}

static void request_done(struct daemon_backend *b, const struct vmrd_backend_event *ev, uint64_t now)
{
	if (!b->pending || ev->seq != b->req.seq) {
		log_warnx("backend: completion for unknown request %" PRIu64 " ignored", ev->seq);
		return;
	}
	b->pending = false;
	if (ev->status < 0 && ev->retry_after_usec > 0) {
		/* A hold, not a failure: the provider says when to ask again. */
		log_info("backend: request %" PRIu64 " for %" PRIu64 " MiB denied (%s), retry in %" PRIu64
			 " ms", ev->seq, MIB(b->req.target_bytes), ev->reason, ev->retry_after_usec / 1000);
		b->stats.denies++;
		b->owner->done(b->ctx, ev->status, ev->retry_after_usec, ev->current_bytes, now);
		return;
	}
	if (ev->status < 0) {
		b->stats.failures++;
		log_warnc(ev->status, "backend: request %" PRIu64 " for %" PRIu64 " MiB failed (%s)",
			  ev->seq, MIB(b->req.target_bytes), ev->reason);
		b->owner->done(b->ctx, ev->status, 0, ev->current_bytes, now);
		return;
	}
	if (ev->current_bytes > b->info.current_bytes) {
		b->stats.grow_latency_usec_last = now - b->sent_usec;
		b->stats.grow_latency_usec_sum += b->stats.grow_latency_usec_last;
		b->stats.grow_latency_count++;
	}
	log_info("backend: request %" PRIu64 " done: asked %" PRIu64 " MiB, now %" PRIu64
		 " MiB after %" PRIu64 " ms (%s)",
		 ev->seq, MIB(b->req.target_bytes), MIB(ev->current_bytes), (now - b->sent_usec) / 1000,
		 ev->reason);
	b->info.current_bytes = ev->current_bytes;
	b->owner->done(b->ctx, 0, 0, ev->current_bytes, now);
}

/* Said once per RECLAIM_LOG_USEC at most, with the asks that came in between. */
static void reclaim_asked(struct daemon_backend *b, const struct vmrd_backend_event *ev, uint64_t now)
{
	if (b->reclaim_logged_usec && now - b->reclaim_logged_usec < RECLAIM_LOG_USEC) {
		b->reclaim_unsaid++;
		return;
	}
	if (b->reclaim_unsaid)
		log_info("backend: host asks to shrink to %" PRIu64 " MiB (urgency %u, %s); %" PRIu64
			 " more asks in the last %" PRIu64 " ms",
			 MIB(ev->target_bytes), ev->urgency, ev->reason, b->reclaim_unsaid,
			 (now - b->reclaim_logged_usec) / 1000);
	else
		log_info("backend: host asks to shrink to %" PRIu64 " MiB (urgency %u, %s)",
			 MIB(ev->target_bytes), ev->urgency, ev->reason);
	b->reclaim_logged_usec = now;
	b->reclaim_unsaid = 0;
}

static void handle_event(struct daemon_backend *b, const struct vmrd_backend_event *ev, uint64_t now)
{
	switch (ev->type) {
	case VMRD_BACKEND_EV_DONE:
		request_done(b, ev, now);
		break;
	case VMRD_BACKEND_EV_LIMITS:
		log_info("backend: limits now min %" PRIu64 " MiB, max %" PRIu64 " MiB",
			 MIB(ev->min_bytes), MIB(ev->max_bytes));
		b->info.min_bytes = ev->min_bytes;
		b->info.max_bytes = ev->max_bytes;
		break;
	case VMRD_BACKEND_EV_RECLAIM:
		reclaim_asked(b, ev, now);
		b->owner->reclaim(b->ctx, ev->target_bytes, now);
		break;
	case VMRD_BACKEND_EV_LINK:
		log_info("backend: link %s%s%s", ev->status ? "up" : "down", ev->reason[0] ? ": " : "",
			 ev->reason);
		if (!ev->status)
			b->pending = false;
		break;
	default:
		log_warnx("backend: unknown event type %u ignored", ev->type);
	}
}

void daemon_backend_drain(struct daemon_backend *b, uint64_t now)
{
	struct vmrd_backend_event ev;
	int r;

	for (unsigned n = 0; b->up; n++) {
		/*
		 * A provider that floods us is served in slices: the rest of
		 * the loop (sampling, reports, vmrctl, the watchdog) runs
		 * between them.
		 */
		if (n == DRAIN_EVENTS_MAX) {
			if (b->watch.fd >= 0)
				loop_again(b->loop, &b->watch);
			return;
		}
		memset(&ev, 0, sizeof(ev));
		r = b->ops->next_event(b->state, &ev);
		if (r == 0)
			return;
		if (r < 0) {
			/* It opened before, so the backoff allows the reopen at once. */
			log_warnc(r, "backend %s: failed; reopening", b->name);
			daemon_backend_close(b);
			return;
		}
		ev.reason[sizeof(ev.reason) - 1] = '\0';
		handle_event(b, &ev, now);
	}
}
