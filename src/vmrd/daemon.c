/* SPDX-License-Identifier: MIT */
/*
 * The event loop of vmrd.  Growing is never queued behind anything slow:
 * the loop only reads small /proc files, talks to the backend through
 * non-blocking descriptors and hands page-cache trimming to its own thread.
 */
#include "common/clock.h"
#include "vmrd/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sdnotify.h"

enum {
	TAG_SIGNAL = DAEMON_TAG_BACKEND + 1,
	TAG_TIMER,
	TAG_PSI_SOME,
	TAG_PSI_FULL,
	TAG_RECLAIM,
	TAG_CTL = 100, /* and up: the control socket and its clients */
};

#define MIB(x) ((x) >> 20)

int daemon_watch(struct daemon *d, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void daemon_unwatch(struct daemon *d, int fd)
{
	if (fd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int timer_arm(struct daemon *d, uint64_t period_usec)
{
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(period_usec / 1000000),
				 .tv_nsec = (long)(period_usec % 1000000) * 1000 },
	};

	if (period_usec == d->timer_period_usec)
		return 0;
	its.it_value = its.it_interval;
	if (timerfd_settime(d->timerfd, 0, &its, NULL) < 0)
		return -errno;
	d->timer_period_usec = period_usec;
	return 0;
}

/* ---- PSI triggers ---- */

static void psi_close(struct daemon *d)
{
	daemon_unwatch(d, d->trig_some.fd);
	daemon_unwatch(d, d->trig_full.fd);
	psi_trigger_close(&d->trig_some);
	psi_trigger_close(&d->trig_full);
}

static void psi_open_one(struct daemon *d, enum psi_kind kind, uint64_t stall, struct psi_trigger *t,
			 uint64_t tag)
{
	const char *name = kind == PSI_SOME ? "some" : "full";
	int r;

	t->fd = -1;
	if (stall == 0)
		return;
	r = psi_trigger_open(d->rootfd, d->cfg.psi_path, kind, stall, d->cfg.psi_window_usec, t);
	if (r == -ENOTTY) {
		log_info("psi: %s is not a kernel pressure file (a captured tree?); no %s trigger",
			 d->cfg.psi_path, name);
		t->fd = -1;
		return;
	}
	if (r < 0) {
		log_warnc(r, "psi: cannot register a %s trigger on %s; sampling every %" PRIu64 " ms instead",
			  name, d->cfg.psi_path, d->cfg.interval_usec / 1000);
		t->fd = -1;
		return;
	}
	if (t->adjusted)
		log_info("psi: the kernel refused a %" PRIu64 " ms window; using %" PRIu64 " ms with a %" PRIu64
			 " ms %s stall (unprivileged rule: multiples of 2 s)",
			 d->cfg.psi_window_usec / 1000, t->window_usec / 1000, t->stall_usec / 1000, name);
	if (daemon_watch(d, t->fd, EPOLLPRI, tag) < 0) {
		log_warn("psi: epoll");
		psi_trigger_close(t);
	}
}

static void psi_open(struct daemon *d)
{
	struct psi_stats st;
	int r;

	d->trig_some.fd = d->trig_full.fd = -1;
	r = psi_read(d->rootfd, d->cfg.psi_path, &st);
	d->psi_available = r >= 0;
	if (!d->psi_available) {
		log_warnc(r, "psi: %s unavailable; running on headroom and its trend alone", d->cfg.psi_path);
		return;
	}
	if (d->once)
		return;
	psi_open_one(d, PSI_SOME, d->cfg.psi_some_stall_usec, &d->trig_some, TAG_PSI_SOME);
	psi_open_one(d, PSI_FULL, d->cfg.psi_full_stall_usec, &d->trig_full, TAG_PSI_FULL);
}

/* ---- decisions ---- */

static void remember(struct daemon *d, const struct policy_decision *dec)
{
	uint32_t i = (d->log_head + d->log_len) % DECISION_LOG;

	d->log[i] = *dec;
	if (d->log_len < DECISION_LOG)
		d->log_len++;
	else
		d->log_head = (d->log_head + 1) % DECISION_LOG;
}

/* Once per decision: with its reason and numbers.  Repeated holds are said once. */
static void log_decision(struct daemon *d, const struct policy_decision *dec)
{
	char why[256];

	if (dec->action == POLICY_HOLD) {
		if (dec->reason == d->last_logged_hold)
			return;
		d->last_logged_hold = dec->reason;
	} else {
		d->last_logged_hold = POLICY_R__MAX;
	}
	remember(d, dec);
	policy_decision_explain(dec, why, sizeof(why));
	log_info("%s%s: %s: current %" PRIu64 " MiB, target %" PRIu64 " MiB, available %" PRIu64
		 " MiB (want %" PRIu64 "), psi some %u.%02u%% full %u.%02u%%: %s",
		 d->dry_run && dec->action != POLICY_HOLD ? "dry-run: " : "", policy_action_name(dec->action),
		 policy_reason_name(dec->reason), MIB(dec->current_bytes), MIB(dec->target_bytes),
		 MIB(dec->available_bytes), MIB(dec->headroom_target_bytes), dec->psi_some_avg10 / 100,
		 dec->psi_some_avg10 % 100, dec->psi_full_avg10 / 100, dec->psi_full_avg10 % 100, why);
}

static void act(struct daemon *d, const struct policy_decision *dec, uint64_t now)
{
	struct vmrd_backend_request *req = &d->pending;
	int r;

	switch (dec->action) {
	case POLICY_GROW:
		/* Any grow stops a running trim: growing and trimming at once would fight. */
		if (reclaim_busy(&d->rc))
			reclaim_abort(&d->rc);
		/* fall through */
	case POLICY_SHRINK:
		if (d->dry_run || !d->backend_up)
			return;
		memset(req, 0, sizeof(*req));
		req->seq = ++d->seq;
		req->target_bytes = dec->target_bytes;
		req->urgency = dec->urgency;
		snprintf(req->reason, sizeof(req->reason), "%s", policy_reason_name(dec->reason));
		r = d->ops->request(d->bstate, req);
		if (r < 0) {
			d->m.backend_failures++;
			policy_backend_done(&d->pst, &d->cfg.policy, now, r, d->binfo.current_bytes);
			log_warnc(r, "backend %s: request %" PRIu64 " refused", d->cfg.backend, req->seq);
			return;
		}
		d->request_pending = true;
		d->request_sent_usec = now;
		if (dec->action == POLICY_GROW) {
			d->m.grows++;
			d->m.grown_bytes += dec->target_bytes - dec->current_bytes;
		} else {
			d->m.shrinks++;
			d->m.shrunk_bytes += dec->current_bytes - dec->target_bytes;
			if (dec->reason == POLICY_R_HOST_RECLAIM)
				d->host_reclaim_target_bytes = 0;
		}
		daemon_backend_drain(d, now); /* synchronous backends complete at once */
		break;
	case POLICY_RECLAIM:
		if (d->dry_run || !d->reclaim_available)
			return;
		r = reclaim_submit(&d->rc, dec->reclaim_bytes, d->cfg.policy.reclaim_step_bytes);
		if (r < 0)
			log_warnc(r, "reclaim: cannot start");
		else
			d->m.reclaims++;
		break;
	case POLICY_RECLAIM_STOP:
		reclaim_abort(&d->rc);
		break;
	case POLICY_HOLD:
		break;
	}
}

static void maybe_report(struct daemon *d, uint64_t now)
{
	struct vmrd_backend_report rep;

	if (!d->backend_up || !d->ops->report || now - d->last_report_usec < d->cfg.report_interval_usec)
		return;
	d->last_report_usec = now;
	memset(&rep, 0, sizeof(rep));
	rep.now_usec = now;
	rep.mem_total_bytes = d->mi.mem_total_bytes;
	rep.mem_available_bytes = d->mi.mem_available_bytes;
	rep.psi_some_avg10 = d->psi.some.avg10;
	rep.psi_full_avg10 = d->psi.full.avg10;
	rep.swap_total_bytes = d->mi.swap_total_bytes;
	rep.swap_free_bytes = d->mi.swap_free_bytes;
	rep.oom_kill = d->vs.oom_kill;
	d->ops->report(d->bstate, &rep);
}

static void evaluate(struct daemon *d)
{
	uint64_t now = clock_now_usec();
	struct policy_decision dec;
	int r;

	if (!d->backend_up && !d->dry_run && now >= d->reopen_at_usec)
		daemon_backend_open(d, now);
	if (d->backend_up && d->ops->query(d->bstate, &d->binfo) < 0)
		d->m.backend_failures++;
	r = daemon_sample(d, now);
	if (r < 0) {
		log_warnc(r, "cannot read meminfo");
		return;
	}
	d->trigger_events = 0;
	d->m.evaluations++;
	policy_evaluate(&d->pst, &d->cfg.policy, &d->in, &dec);
	d->last = dec;
	log_decision(d, &dec);
	act(d, &dec, now);
	maybe_report(d, now);

	/* Sample fast while anything is moving; slow down when calm. */
	d->fast = dec.action == POLICY_GROW || d->request_pending || dec.velocity_bytes_per_sec < 0 ||
		  d->psi.some.avg10 > d->cfg.policy.calm_some_avg10_centi;
	timer_arm(d, d->fast ? d->cfg.fast_interval_usec : d->cfg.interval_usec);

	if (d->watchdog_usec && now - d->last_watchdog_usec >= d->watchdog_usec / 2) {
		sdnotify("WATCHDOG=1");
		d->last_watchdog_usec = now;
	}
}

static void reclaim_done(struct daemon *d)
{
	struct reclaim_result res;

	if (reclaim_collect(&d->rc, &res) <= 0)
		return;
	d->m.reclaimed_bytes += res.reclaimed_bytes;
	d->m.reclaim_usec += res.elapsed_usec;
	if (res.status == -ECANCELED)
		d->m.reclaim_aborts++;
	log_info("reclaim: trimmed %" PRIu64 " of %" PRIu64 " MiB of page cache in %" PRIu64 " ms%s%s",
		 MIB(res.reclaimed_bytes), MIB(res.asked_bytes), res.elapsed_usec / 1000,
		 res.status == -ECANCELED ? " (stopped: pressure rose)" :
		 res.status == -EAGAIN	   ? " (the kernel found no more)" : "",
		 res.status < 0 && res.status != -ECANCELED && res.status != -EAGAIN ? " (failed)" : "");
}

/* ---- SIGHUP ---- */

static void reload(struct daemon *d)
{
	struct vmrd_config next;
	bool backend_changed;

	if (!d->config_path) {
		log_info("reload: no config file; nothing to do");
		return;
	}
	config_defaults(&next);
	if (config_load(d->config_path, &next, stderr) < 0 ||
	    config_validate(&next, d->config_path, stderr) < 0) {
		log_warnx("reload: %s has errors; keeping the running configuration", d->config_path);
		return;
	}
	backend_changed = strcmp(next.backend, d->cfg.backend) != 0 ||
			  next.n_backend_kv != d->cfg.n_backend_kv ||
			  memcmp(next.backend_kv, d->cfg.backend_kv, sizeof(next.backend_kv)) != 0;
	if (backend_changed)
		daemon_backend_close(d);
	psi_close(d);
	d->cfg = next;
	psi_open(d);
	d->timer_period_usec = 0;
	timer_arm(d, d->cfg.interval_usec);
	d->reopen_at_usec = 0;
	log_info("reload: %s applied%s", d->config_path, backend_changed ? " (backend reopened)" : "");
}

/* ---- setup and loop ---- */

static int control(void *ctx, const char *cmd, char *out, size_t size)
{
	return status_render(ctx, cmd, out, size);
}

int daemon_setup(struct daemon *d)
{
	sigset_t mask;
	int r;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		fatal(EX_OSERR, "epoll_create1");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0)
		fatal(EX_OSERR, "signalfd/timerfd");
	daemon_watch(d, d->sigfd, EPOLLIN, TAG_SIGNAL);
	daemon_watch(d, d->timerfd, EPOLLIN, TAG_TIMER);
	d->backend_fd = -1;
	d->last_logged_hold = POLICY_R__MAX;
	policy_init(&d->pst);
	psi_open(d);

	r = reclaim_start(&d->rc, d->rootfd, d->cfg.cgroup_path);
	d->reclaim_available = r >= 0;
	if (r < 0 && d->cfg.policy.reclaim_enabled)
		log_warnc(r, "reclaim: %s/memory.reclaim unusable; page cache is left to the kernel",
			  d->cfg.cgroup_path);
	if (!d->reclaim_available)
		d->cfg.policy.reclaim_enabled = false;
	else
		daemon_watch(d, reclaim_fd(&d->rc), EPOLLIN, TAG_RECLAIM);

	r = ctlsrv_open(&d->ctl, d->cfg.control_path, d->epfd, TAG_CTL, control, d);
	if (r < 0)
		log_warnc(r, "control socket %s", d->cfg.control_path);
	d->started_usec = clock_now_usec();
	d->watchdog_usec = sdnotify_watchdog_usec();
	return 0;
}

static void handle_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d);
		else
			d->quit = true;
	}
}

int daemon_run(struct daemon *d)
{
	struct epoll_event evs[16];

	timer_arm(d, d->cfg.interval_usec);
	evaluate(d);
	sdnotify("READY=1\nSTATUS=watching memory pressure");
	while (!d->quit) {
		int n = epoll_wait(d->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return EX_OSERR;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64, ticks;

			switch (tag) {
			case TAG_SIGNAL:
				handle_signal(d);
				break;
			case TAG_TIMER:
				if (read(d->timerfd, &ticks, sizeof(ticks)) == sizeof(ticks))
					evaluate(d);
				break;
			case TAG_PSI_SOME:
			case TAG_PSI_FULL:
				d->trigger_events++;
				d->m.psi_events++;
				evaluate(d);
				break;
			case DAEMON_TAG_BACKEND:
				daemon_backend_drain(d, clock_now_usec());
				break;
			case TAG_RECLAIM:
				reclaim_done(d);
				break;
			default:
				if (ctlsrv_owns(&d->ctl, tag))
					ctlsrv_event(&d->ctl, tag, evs[i].events);
			}
		}
	}
	sdnotify("STOPPING=1");
	log_info("exiting; the guest keeps the memory it has");
	return 0;
}

void daemon_teardown(struct daemon *d)
{
	reclaim_stop(&d->rc);
	daemon_backend_close(d);
	psi_close(d);
	ctlsrv_close(&d->ctl, d->cfg.control_path);
}

/* Without --dry-run, --once also acts and waits (boundedly) for the backend's answer. */
static int once_act(struct daemon *d, const struct policy_decision *dec)
{
	uint64_t deadline;

	if (!d->backend_up) {
		log_warnx("backend %s is not available; nothing done", d->cfg.backend);
		return EX_UNAVAILABLE;
	}
	act(d, dec, clock_now_usec());
	deadline = clock_now_usec() + 30000000;
	while (d->request_pending && d->backend_up) {
		struct epoll_event ev;
		uint64_t now = clock_now_usec();

		if (now >= deadline) {
			log_warnx("backend %s: no answer to request %" PRIu64 " within 30 s", d->cfg.backend,
				  d->pending.seq);
			return EX_TEMPFAIL;
		}
		if (epoll_wait(d->epfd, &ev, 1, (int)((deadline - now) / 1000) + 1) > 0)
			daemon_backend_drain(d, clock_now_usec());
	}
	return 0;
}

int daemon_once(struct daemon *d)
{
	static char out[8192];
	struct policy_decision dec;
	int r, status = 0;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		fatal(EX_OSERR, "epoll_create1");
	d->backend_fd = -1;
	policy_init(&d->pst);
	psi_open(d);
	if (!d->dry_run)
		daemon_backend_open(d, clock_now_usec());
	r = daemon_sample(d, clock_now_usec());
	if (r < 0) {
		log_warnc(r, "cannot read meminfo under %s", d->root_dir ? d->root_dir : "/");
		return EX_NOINPUT;
	}
	policy_evaluate(&d->pst, &d->cfg.policy, &d->in, &dec);
	d->last = dec;
	if (!d->dry_run)
		status = once_act(d, &dec);
	r = status_decision_json(d, out, sizeof(out));
	if (r < 0)
		return EX_SOFTWARE;
	fputs(out, stdout);
	daemon_backend_close(d);
	return status;
}
