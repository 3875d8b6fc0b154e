/* SPDX-License-Identifier: MIT */
/*
 * The daemon's side of the backend: opening it (again, with backoff, while
 * it fails), and turning its events into the daemon's state.  A backend
 * that fails is reported and retried; the daemon keeps running.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/epoll.h>

#include "backends/backend.h"
#include "common/log.h"
#include "vmrd/daemon.h"

#define MIB(x) ((x) >> 20)

void daemon_backend_close(struct daemon *d)
{
	if (!d->backend_up)
		return;
	daemon_unwatch(d, d->backend_fd);
	d->ops->close(d->bstate);
	d->bstate = NULL;
	d->backend_up = false;
	d->request_pending = false;
}

void daemon_backend_open(struct daemon *d, uint64_t now)
{
	struct vmrd_backend_env env = {
		.abi_version = VMRD_BACKEND_ABI_VERSION,
		.rootfd = d->rootfd,
		/* A plugin's keys, its path among them, live in [plugin]. */
		.config_get = strcmp(d->cfg.backend, "plugin") == 0 ? config_plugin_get : config_backend_get,
		.config_ctx = &d->cfg,
	};
	uint64_t delay;
	int r;

	d->ops = backend_lookup(d->cfg.backend);
	if (!d->ops) {
		r = -ENOENT;
		goto fail;
	}
	r = d->ops->open(&env, &d->bstate);
	if (r < 0)
		goto fail;
	r = d->ops->query(d->bstate, &d->binfo);
	if (r < 0) {
		d->ops->close(d->bstate);
		goto fail;
	}
	d->backend_fd = d->ops->fd(d->bstate);
	if (d->backend_fd >= 0 && daemon_watch(d, d->backend_fd, EPOLLIN, DAEMON_TAG_BACKEND) < 0) {
		r = -errno;
		d->ops->close(d->bstate);
		goto fail;
	}
	d->backend_up = true;
	d->open_failures = 0;
	log_info("backend %s: current %" PRIu64 " MiB, min %" PRIu64 " MiB, max %" PRIu64
		 " MiB, block %" PRIu64 " MiB",
		 d->cfg.backend, MIB(d->binfo.current_bytes), MIB(d->binfo.min_bytes),
		 MIB(d->binfo.max_bytes), MIB(d->binfo.block_bytes));
	return;
fail:
	d->bstate = NULL;
	d->open_failures++;
	delay = d->cfg.policy.backoff_min_usec << (d->open_failures > 16 ? 16 : d->open_failures - 1);
	if (delay > d->cfg.policy.backoff_max_usec)
		delay = d->cfg.policy.backoff_max_usec;
	d->reopen_at_usec = now + delay;
	/* Say it the first time and then only as the delay grows, not every retry. */
	if (d->open_failures == 1 || delay < d->cfg.policy.backoff_max_usec) {
		const char *why = backend_last_error();

		if (why)
			log_warnx("backend %s: %s; retrying in %" PRIu64 " s", d->cfg.backend, why,
				  delay / 1000000);
		else
			log_warnc(r, "backend %s: cannot open; retrying in %" PRIu64 " s", d->cfg.backend,
				  delay / 1000000);
	}
}

static void backend_handle_event(struct daemon *d, const struct vmrd_backend_event *ev, uint64_t now)
{
	switch (ev->type) {
	case VMRD_BACKEND_EV_DONE:
		if (!d->request_pending || ev->seq != d->pending.seq) {
			log_warnx("backend: completion for unknown request %" PRIu64 " ignored", ev->seq);
			return;
		}
		d->request_pending = false;
		policy_backend_done(&d->pst, &d->cfg.policy, now, ev->status, ev->current_bytes);
		if (ev->status < 0) {
			d->m.backend_failures++;
			log_warnc(ev->status, "backend: request %" PRIu64 " for %" PRIu64 " MiB failed (%s)",
				  ev->seq, MIB(d->pending.target_bytes), ev->reason);
			return;
		}
		if (ev->current_bytes > d->binfo.current_bytes) {
			d->m.grow_latency_usec_last = now - d->request_sent_usec;
			d->m.grow_latency_usec_sum += d->m.grow_latency_usec_last;
			d->m.grow_latency_count++;
		}
		log_info("backend: request %" PRIu64 " done: asked %" PRIu64 " MiB, now %" PRIu64
			 " MiB after %" PRIu64 " ms (%s)",
			 ev->seq, MIB(d->pending.target_bytes), MIB(ev->current_bytes),
			 (now - d->request_sent_usec) / 1000, ev->reason);
		d->binfo.current_bytes = ev->current_bytes;
		break;
	case VMRD_BACKEND_EV_LIMITS:
		log_info("backend: limits now min %" PRIu64 " MiB, max %" PRIu64 " MiB",
			 MIB(ev->min_bytes), MIB(ev->max_bytes));
		d->binfo.min_bytes = ev->min_bytes;
		d->binfo.max_bytes = ev->max_bytes;
		break;
	case VMRD_BACKEND_EV_RECLAIM:
		log_info("backend: host asks to shrink to %" PRIu64 " MiB (urgency %u)",
			 MIB(ev->target_bytes), ev->urgency);
		d->host_reclaim_target_bytes = ev->target_bytes;
		break;
	case VMRD_BACKEND_EV_LINK:
		log_info("backend: link %s%s%s", ev->status ? "up" : "down", ev->reason[0] ? ": " : "",
			 ev->reason);
		if (!ev->status)
			d->request_pending = false;
		break;
	default:
		log_warnx("backend: unknown event type %u ignored", ev->type);
	}
}

void daemon_backend_drain(struct daemon *d, uint64_t now)
{
	struct vmrd_backend_event ev;
	int r;

	while (d->backend_up) {
		memset(&ev, 0, sizeof(ev));
		r = d->ops->next_event(d->bstate, &ev);
		if (r == 0)
			return;
		if (r < 0) {
			log_warnc(r, "backend %s: failed; reopening", d->cfg.backend);
			daemon_backend_close(d);
			d->reopen_at_usec = now;
			return;
		}
		ev.reason[sizeof(ev.reason) - 1] = '\0';
		backend_handle_event(d, &ev, now);
	}
}
