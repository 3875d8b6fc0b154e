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
#include <sysexits.h>
#include <unistd.h>

#include "backends/backend.h"
#include "common/log.h"
#include "common/sdnotify.h"

#define MIB(x) ((x) >> 20)

static int timer_arm(struct daemon *d, uint64_t period_usec)
{
	int r;

	if (period_usec == d->timer_period_usec)
		return 0;
	r = loop_timer_set(&d->timer, period_usec, period_usec);
	if (r == 0)
		d->timer_period_usec = period_usec;
	return r;
}

/* ---- PSI triggers ---- */

static void psi_close(struct daemon *d)
{
	/* The trigger owns the descriptor: only take it out of the loop. */
	loop_del(&d->loop, &d->psi_some_watch);
	loop_del(&d->loop, &d->psi_full_watch);
	d->psi_some_watch.fd = d->psi_full_watch.fd = -1;
	psi_trigger_close(&d->trig_some);
	psi_trigger_close(&d->trig_full);
}

static void psi_open_one(struct daemon *d, enum psi_kind kind, uint64_t stall, struct psi_trigger *t,
			 struct loop_watch *w)
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
	w->fd = t->fd;
	r = loop_add(&d->loop, w, EPOLLPRI);
	if (r < 0) {
		log_warnc(r, "psi: epoll");
		w->fd = -1;
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
	psi_open_one(d, PSI_SOME, d->cfg.psi_some_stall_usec, &d->trig_some, &d->psi_some_watch);
	psi_open_one(d, PSI_FULL, d->cfg.psi_full_stall_usec, &d->trig_full, &d->psi_full_watch);
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

/*
 * A hold is said when its reason changes, but not again within
 * HOLD_LOG_QUIET_USEC: two holds taking turns (at_min, cache_turnover)
 * would otherwise fill the log with the same two lines.
 */
#define HOLD_LOG_QUIET_USEC 10000000ull

static bool hold_worth_saying(struct daemon *d, const struct policy_decision *dec)
{
	uint64_t *last = &d->hold_logged_usec[dec->reason];

	if (dec->reason == d->last_logged_hold)
		return false;
	if (*last != 0 && dec->now_usec - *last < HOLD_LOG_QUIET_USEC)
		return false;
	*last = dec->now_usec;
	d->last_logged_hold = dec->reason;
	return true;
}

/* Once per decision: with its reason and numbers.  Repeated holds are said once. */
static void log_decision(struct daemon *d, const struct policy_decision *dec)
{
	char why[512];

	/* Cold-cache trims go out every second while calm: said like a hold. */
	if (dec->action == POLICY_HOLD || dec->reason == POLICY_R_TRIM_COLD) {
		if (!hold_worth_saying(d, dec))
			return;
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

/* ---- the backend's news ---- */

static void backend_done(void *ctx, int status, uint64_t retry_after_usec, uint64_t current_bytes,
			 uint64_t now)
{
	struct daemon *d = ctx;
	bool grow = d->backend.req.target_bytes > d->in.current_bytes;

	daemon_steer_done(d, status, grow ? now - d->backend.sent_usec : 0);
	policy_backend_done(&d->pst, &d->cfg.policy, now, status, retry_after_usec, current_bytes);
}

static void backend_reclaim(void *ctx, uint64_t target_bytes, uint64_t now)
{
	struct daemon *d = ctx;

	d->host_reclaim_target_bytes = target_bytes;
}

static const struct daemon_backend_owner backend_owner = {
	.done = backend_done,
	.reclaim = backend_reclaim,
};

static void backend_open(struct daemon *d, uint64_t now)
{
	struct vmrd_backend_env env = {
		.abi_version = VMRD_BACKEND_ABI_VERSION,
		.rootfd = d->rootfd,
		/* A plugin's keys, its path among them, live in [plugin]. */
		.config_get = strcmp(d->cfg.backend, "plugin") == 0 ? config_plugin_get : config_backend_get,
		.config_ctx = &d->cfg,
	};

	daemon_backend_open(&d->backend, &env, now);
}

static void act(struct daemon *d, const struct policy_decision *dec, uint64_t now)
{
	int r;

	switch (dec->action) {
	case POLICY_GROW:
		/* Any grow stops a running trim: growing and trimming at once would fight. */
		if (reclaim_busy(&d->rc))
			reclaim_abort(&d->rc);
		/* fall through */
	case POLICY_SHRINK:
		if (d->dry_run || !d->backend.up)
			return;
		if (dec->action == POLICY_GROW)
			daemon_steer_grow(d, dec->zone);
		r = daemon_backend_request(&d->backend, dec->target_bytes,
					   backend_urgency_to_abi(dec->urgency),
					   dec->zone == POLICY_ZONE_KERNEL ? VMRD_ZONE_KERNEL : VMRD_ZONE_MOVABLE,
					   policy_reason_name(dec->reason), now);
		if (r < 0)
			return;
		if (dec->action == POLICY_GROW) {
			d->m.grows++;
			d->m.grown_bytes += dec->target_bytes - dec->current_bytes;
			if (dec->zone == POLICY_ZONE_KERNEL) {
				d->m.kernel_grows++;
				d->m.kernel_grown_bytes += dec->target_bytes - dec->current_bytes;
			}
		} else {
			d->m.shrinks++;
			d->m.shrunk_bytes += dec->current_bytes - dec->target_bytes;
			if (dec->reason == POLICY_R_HOST_RECLAIM)
				d->host_reclaim_target_bytes = 0;
		}
		break;
	case POLICY_RECLAIM:
		if (d->dry_run || !d->reclaim_available)
			return;
		r = reclaim_submit(&d->rc, dec->reclaim_bytes, d->cfg.policy.reclaim_step_bytes, now);
		if (r < 0) {
			log_warnc(r, "reclaim: cannot start");
		} else {
			d->m.reclaims++;
			d->trim_cold = dec->reason == POLICY_R_TRIM_COLD;
		}
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

	if (!d->backend.up || !d->backend.ops->report ||
	    now - d->last_report_usec < d->cfg.report_interval_usec)
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
	d->backend.ops->report(d->backend.state, &rep);
}

/* A trim blocked in the kernel past its timeout is interrupted, once, and said. */
static void reclaim_watchdog(struct daemon *d, uint64_t now)
{
	uint64_t since = reclaim_since_usec(&d->rc);

	if (since == 0 || d->rc.interrupted || now - since < d->cfg.reclaim_timeout_usec)
		return;
	if (reclaim_interrupt(&d->rc))
		log_warnx("reclaim: memory.reclaim still writing after %" PRIu64 " s; interrupted",
			  (now - since) / 1000000);
}

static void evaluate(struct daemon *d)
{
	uint64_t now = clock_now_usec();
	struct policy_decision dec;
	int r;

	if (!d->dry_run && daemon_backend_due(&d->backend, now))
		backend_open(d, now);
	daemon_backend_query(&d->backend);
	r = daemon_sample(d, now);
	if (r < 0) {
		log_warnc(r, "cannot read meminfo");
		return;
	}
	d->trigger_events = 0;
	d->m.evaluations++;
	reclaim_watchdog(d, now);
	policy_evaluate(&d->pst, &d->cfg.policy, &d->in, &dec);
	if (dec.reason == POLICY_R_CANT_HELP && d->last.reason != POLICY_R_CANT_HELP)
		d->m.cant_help++;
	d->last = dec;
	log_decision(d, &dec);
	act(d, &dec, now);
	maybe_report(d, now);

	/* Sample fast while anything is moving; slow down when calm. */
	d->fast = dec.action == POLICY_GROW || d->backend.pending || dec.velocity_bytes_per_sec < 0 ||
		  dec.stall_centi >= d->cfg.policy.calm_stall_centi;
	timer_arm(d, d->fast ? d->cfg.fast_interval_usec : d->cfg.interval_usec);

	if (d->watchdog_usec && now - d->last_watchdog_usec >= d->watchdog_usec / 2) {
		sdnotify("WATCHDOG=1");
		d->last_watchdog_usec = now;
	}
}

/* Cold-cache trims that went as planned are summed up, said once a minute. */
#define TRIM_SUMMARY_USEC 60000000ull

static void trim_summary(struct daemon *d, uint64_t bytes)
{
	uint64_t now = clock_now_usec();

	if (d->trim_sum_steps == 0)
		d->trim_sum_since_usec = now;
	d->trim_sum_steps++;
	d->trim_sum_bytes += bytes;
	if (now - d->trim_sum_since_usec < TRIM_SUMMARY_USEC)
		return;
	log_info("reclaim: trimmed %" PRIu64 " MiB of cold page cache in %" PRIu64 " steps over %" PRIu64
		 " s", MIB(d->trim_sum_bytes), d->trim_sum_steps, (now - d->trim_sum_since_usec) / 1000000);
	d->trim_sum_steps = 0;
	d->trim_sum_bytes = 0;
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
	if (d->trim_cold && res.status == 0) {
		trim_summary(d, res.reclaimed_bytes);
		return;
	}
	log_info("reclaim: trimmed %" PRIu64 " of %" PRIu64 " MiB of page cache in %" PRIu64 " ms%s%s",
		 MIB(res.reclaimed_bytes), MIB(res.asked_bytes), res.elapsed_usec / 1000,
		 res.status == -ECANCELED ? " (stopped: pressure rose)" :
		 res.status == -EAGAIN	   ? " (the kernel found no more)" :
		 res.status == -EINTR	   ? " (interrupted: it took too long)" : "",
		 res.status < 0 && res.status != -ECANCELED && res.status != -EAGAIN &&
				 res.status != -EINTR ? " (failed)" : "");
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
	if (d->seccomp && strcmp(next.backend, "exec") == 0) {
		log_warnx("reload: backend exec runs commands, which the system call filter installed "
			  "at start forbids; keeping the running configuration (restart vmrd for it)");
		return;
	}
	if (next.sandbox != d->cfg.sandbox)
		log_info("reload: [security] sandbox = %s takes effect at the next start",
			 next.sandbox ? "yes" : "no");
	backend_changed = strcmp(next.backend, d->cfg.backend) != 0 ||
			  next.n_backend_kv != d->cfg.n_backend_kv ||
			  memcmp(next.backend_kv, d->cfg.backend_kv, sizeof(next.backend_kv)) != 0;
	if (backend_changed)
		daemon_backend_close(&d->backend);
	psi_close(d);
	d->cfg = next;
	psi_open(d);
	d->timer_period_usec = 0;
	timer_arm(d, d->cfg.interval_usec);
	daemon_backend_configure(&d->backend, d->cfg.backend, d->cfg.policy.backoff_min_usec,
				 d->cfg.policy.backoff_max_usec);
	daemon_backend_retry_now(&d->backend);
	daemon_steer_setup(d);
	log_info("reload: %s applied%s", d->config_path, backend_changed ? " (backend reopened)" : "");
}

/* ---- setup and loop ---- */

static int control(void *ctx, const char *cmd, struct strbuf *out)
{
	return status_render(ctx, cmd, out);
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct daemon *d = LOOP_OWNER(w, struct daemon, signals);
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			reload(d);
		else
			d->quit = true;
	}
}

static void on_timer(struct loop_watch *w, uint32_t events)
{
	if (loop_timer_read(w))
		evaluate(LOOP_OWNER(w, struct daemon, timer));
}

static void on_psi(struct daemon *d)
{
	d->trigger_events++;
	d->m.psi_events++;
	evaluate(d);
}

static void on_psi_some(struct loop_watch *w, uint32_t events)
{
	on_psi(LOOP_OWNER(w, struct daemon, psi_some_watch));
}

static void on_psi_full(struct loop_watch *w, uint32_t events)
{
	on_psi(LOOP_OWNER(w, struct daemon, psi_full_watch));
}

static void on_reclaim(struct loop_watch *w, uint32_t events)
{
	reclaim_done(LOOP_OWNER(w, struct daemon, reclaim_watch));
}

/* The loop, the daemon's watches on it and the backend's side; PSI triggers opened. */
static void daemon_init(struct daemon *d)
{
	if (loop_init(&d->loop) < 0)
		fatal(EX_OSERR, "epoll_create1");
	loop_watch_init(&d->signals, on_signal);
	loop_watch_init(&d->timer, on_timer);
	loop_watch_init(&d->psi_some_watch, on_psi_some);
	loop_watch_init(&d->psi_full_watch, on_psi_full);
	loop_watch_init(&d->reclaim_watch, on_reclaim);
	daemon_backend_init(&d->backend, &d->loop, &backend_owner, d);
	daemon_backend_configure(&d->backend, d->cfg.backend, d->cfg.policy.backoff_min_usec,
				 d->cfg.policy.backoff_max_usec);
	d->last_logged_hold = POLICY_R__MAX;
	policy_init(&d->pst);
	psi_open(d);
	daemon_steer_setup(d);
}

int daemon_setup(struct daemon *d)
{
	sigset_t mask;
	int r;

	daemon_init(d);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (loop_signal_open(&d->signals, &mask) < 0 || loop_timer_open(&d->timer) < 0)
		fatal(EX_OSERR, "signalfd/timerfd");
	if (loop_add(&d->loop, &d->signals, EPOLLIN) < 0 || loop_add(&d->loop, &d->timer, EPOLLIN) < 0)
		fatal(EX_OSERR, "epoll_ctl");

	r = reclaim_start(&d->rc, d->rootfd, d->cfg.cgroup_path);
	d->reclaim_available = r >= 0;
	if (r >= 0)
		log_info("reclaim: %s/memory.reclaim%s", d->cfg.cgroup_path,
			 d->rc.swappiness ? " takes swappiness=: trims spare anonymous memory" :
					    " (no swappiness= on this kernel)");
	if (r < 0 && d->cfg.policy.reclaim_enabled)
		log_warnc(r, "reclaim: %s/memory.reclaim unusable; page cache is left to the kernel",
			  d->cfg.cgroup_path);
	if (!d->reclaim_available) {
		d->cfg.policy.reclaim_enabled = false;
	} else {
		d->reclaim_watch.fd = reclaim_fd(&d->rc);
		if (loop_add(&d->loop, &d->reclaim_watch, EPOLLIN) < 0)
			d->reclaim_watch.fd = -1;
	}

	/* One the operator asked for and cannot have is an error, not a daemon without it. */
	if (d->cfg.control_path[0]) {
		r = ctlsrv_open(&d->ctl, d->cfg.control_path, &d->loop, control, d);
		if (r < 0)
			fatalx(EX_CANTCREAT, "control socket %s: cannot listen: %s; make its directory "
			       "writable, or set control to nothing in [vmrd] to run without one",
			       d->cfg.control_path, strerror(-r));
	}
	d->started_usec = clock_now_usec();
	d->watchdog_usec = sdnotify_watchdog_usec();
	return 0;
}

int daemon_run(struct daemon *d)
{
	timer_arm(d, d->cfg.interval_usec);
	evaluate(d);
	sdnotify("READY=1\nSTATUS=watching memory pressure");
	while (!d->quit) {
		int r = loop_run_once(&d->loop, -1);

		if (r < 0) {
			log_warnc(r, "epoll_wait");
			return EX_OSERR;
		}
	}
	sdnotify("STOPPING=1");
	log_info("exiting; the guest keeps the memory it has");
	return 0;
}

void daemon_teardown(struct daemon *d)
{
	if (d->reclaim_watch.fd >= 0) {
		loop_del(&d->loop, &d->reclaim_watch);
		d->reclaim_watch.fd = -1;
	}
	reclaim_stop(&d->rc);
	daemon_backend_close(&d->backend);
	psi_close(d);
	if (d->cfg.control_path[0])
		ctlsrv_close(&d->ctl, d->cfg.control_path);
}

/* Without --dry-run, --once also acts and waits (boundedly) for the backend's answer. */
static int once_act(struct daemon *d, const struct policy_decision *dec)
{
	uint64_t deadline;

	if (!d->backend.up) {
		log_warnx("backend %s is not available; nothing done", d->cfg.backend);
		return EX_UNAVAILABLE;
	}
	act(d, dec, clock_now_usec());
	deadline = clock_now_usec() + 30000000;
	while (d->backend.pending && d->backend.up) {
		uint64_t now = clock_now_usec();

		if (now >= deadline) {
			log_warnx("backend %s: no answer to request %" PRIu64 " within 30 s", d->cfg.backend,
				  d->backend.req.seq);
			return EX_TEMPFAIL;
		}
		/* Only the backend's watch is on the loop in this mode. */
		loop_run_once(&d->loop, (int)((deadline - now) / 1000) + 1);
	}
	return 0;
}

int daemon_once(struct daemon *d)
{
	static char text[8192];
	struct strbuf out;
	struct policy_decision dec;
	int r, status = 0;

	daemon_init(d);
	if (!d->dry_run)
		backend_open(d, clock_now_usec());
	r = daemon_sample(d, clock_now_usec());
	if (r < 0) {
		log_warnc(r, "cannot read meminfo under %s", d->root_dir ? d->root_dir : "/");
		return EX_NOINPUT;
	}
	policy_evaluate(&d->pst, &d->cfg.policy, &d->in, &dec);
	d->last = dec;
	if (!d->dry_run)
		status = once_act(d, &dec);
	strbuf_init(&out, text, sizeof(text));
	status_decision_json(d, &out);
	if (strbuf_truncated(&out))
		return EX_SOFTWARE;
	fputs(strbuf_str(&out), stdout);
	daemon_backend_close(&d->backend);
	return status;
}
