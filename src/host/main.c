/* SPDX-License-Identifier: MIT */
/*
 * vmrd-host: wires configuration, the broker, the control socket and one
 * epoll loop (signalfd, timerfd, QMP and guest channel sockets).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/array.h"
#include "common/ctlsrv.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "common/loop.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "host/broker.h"
#include "host/config.h"
#include "host/discover.h"
#include "host/ctl.h"
#include "host/hostmem.h"
#include "host/privsep.h"
#include "host/state.h"
#include "sensors/meminfo.h"

#define TICK_USEC (100 * 1000ull)
#define HOST_SAMPLE_USEC (1000 * 1000ull)

/* "/" opened once; the sensors read proc files relative to it. */
static int host_rootfd = -1;

struct options {
	const char *config_path;
	bool config_given;
	bool check_only;
	bool debug;
	bool dry_run;
	bool print_defaults;
	const char *control_path;
	const char *state_path;
	const char *libvirt_uri;
	const char **vm_args;          /* every --vm, as many as given (common/array.h) */
	size_t n_vm_args;
	size_t vm_args_cap;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmrd-host [-dn] [-c file] [--dry-run] [--control path] [--state path]\n"
		   "                 [--libvirt URI]\n"
		   "                 [--vm name=NAME,qmp=PATH,channel=PATH,virtio-mem=ID,min=SIZE,max=SIZE"
		   "[,balloon=ID][,weight=N]] ...\n"
		   "       vmrd-host --print-defaults\n"
		   "  -c, --config file  configuration (default " VMRD_HOST_CONF ";\n"
		   "                     without -c it is not read when --vm is given)\n"
		   "  -n, --check        check the configuration and exit\n"
		   "  -d, --debug        log every request, report and QMP event\n");
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "control", required_argument, NULL, 'C' },
		{ "state", required_argument, NULL, 'S' },
		{ "vm", required_argument, NULL, 'V' },
		{ "libvirt", required_argument, NULL, 'L' },
		{ "print-defaults", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->config_path = VMRD_HOST_CONF;
	while ((c = getopt_long(argc, argv, "c:dnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config_path = optarg; o->config_given = true; break;
		case 'd': o->debug = true; break;
		case 'n': o->check_only = true; break;
		case 'D': o->dry_run = true; break;
		case 'C': o->control_path = optarg; break;
		case 'S': o->state_path = optarg; break;
		case 'L': o->libvirt_uri = optarg; break;
		case 'P': o->print_defaults = true; break;
		case 'V':
			if (ARRAY_GROW(o->vm_args, o->vm_args_cap, o->n_vm_args + 1) < 0)
				fatalx(EX_OSERR, "--vm: out of memory");
			o->vm_args[o->n_vm_args++] = optarg;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(EX_USAGE);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(EX_USAGE);
	}
}

/*
 * Why the configuration file cannot be read, and what to do about it; the
 * lines inside a file that can be read report themselves as file:line.
 */
static void config_file_error(const char *path, int r, FILE *err)
{
	if (r == -ENOENT)
		fprintf(err, "%s: no such file; create it (vmrd-host --print-defaults lists every key), "
			     "name another with -c FILE, or give the VMs with --vm or --libvirt\n", path);
	else if (r == -EACCES)
		fprintf(err, "%s: permission denied; make it readable by the user vmrd-host runs as "
			     "(vmrd under the shipped unit)\n", path);
	else
		fprintf(err, "%s: cannot read: %s\n", path, strerror(-r));
}

static int set_path(char *dst, const char *src, const char *what, FILE *err)
{
	if (src[0] != '/' || strlen(src) >= CONFIG_PATH_MAX) {
		fprintf(err, "--%s: path must be absolute and shorter than %d bytes\n", what,
			CONFIG_PATH_MAX);
		return -EINVAL;
	}
	strcpy(dst, src);
	return 0;
}

/*
 * Build a configuration from the file (unless only --vm was given) and the
 * command line.  Used at start and on SIGHUP, so both see the same sources.
 */
static int load_config(const struct options *o, struct config *cfg, FILE *err)
{
	struct meminfo mi = { 0 };
	struct hostmem cg = { 0 };
	const char *label = "command line";
	int r = 0, ok = 0, cg_err = 0;

	config_defaults(cfg);
	/* With VMs or a libvirt URI on the command line, the file is read only when named. */
	if (o->config_given || (o->n_vm_args == 0 && !o->libvirt_uri)) {
		label = o->config_path;
		r = config_load(o->config_path, cfg, err);
		if (r < 0 && r != -EINVAL)
			config_file_error(o->config_path, r, err);
		if (r < 0)
			ok = r;
	}
	for (size_t i = 0; i < o->n_vm_args; i++)
		if ((r = config_add_vm_arg(cfg, o->vm_args[i], err)) < 0)
			ok = r;
	if (o->control_path && (r = set_path(cfg->control_path, o->control_path, "control", err)) < 0)
		ok = r;
	if (o->state_path && (r = set_path(cfg->state_path, o->state_path, "state", err)) < 0)
		ok = r;
	if (o->libvirt_uri && strlen(o->libvirt_uri) >= sizeof(cfg->libvirt_uri)) {
		fprintf(err, "--libvirt: URI longer than %zu bytes\n", sizeof(cfg->libvirt_uri) - 1);
		ok = -EINVAL;
	} else if (o->libvirt_uri) {
		snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri), "%s", o->libvirt_uri);
	}
	if (ok < 0)
		return ok;
	if (cfg->budget_auto && (r = meminfo_read(host_rootfd, &mi)) < 0) {
		fprintf(err, "/proc/meminfo: %s\n", strerror(-r));
		return r;
	}
	if (cfg->budget_cgroup[0])
		cg_err = hostmem_read_cgroup(host_rootfd, cfg->budget_cgroup, &cg);
	return config_finish(cfg, label, mi.mem_total_bytes, cg.limit_bytes, cg_err, err);
}

/* The memory the VMs live in: the host, or the budget's cgroup (its limit is the budget). */
static void sample_host(struct broker *b)
{
	struct hostmem h;
	int r;

	if (b->cfg.budget_cgroup[0])
		r = hostmem_read_cgroup(host_rootfd, b->cfg.budget_cgroup, &h);
	else
		r = hostmem_read_host(host_rootfd, &h);
	broker_host_sample(b, r < 0 ? NULL : &h, r);
}

/* The loop's own watches: signals and the tick, beside the broker's and the control socket's. */
struct daemon_loop {
	struct loop loop;
	struct loop_watch signals;
	struct loop_watch tick;
	const struct options *o;
	struct broker *b;
	struct config file_cfg;        /* the configuration without discovered VMs (owns its VM list) */
	struct discover *libvirt;      /* discovery, when a libvirt URI is set */
	struct privsep *reader;        /* the guest reader */
	bool running;
	uint64_t last_sample_usec;
	uint64_t watchdog_usec;
	uint64_t last_watchdog_usec;
};

static void apply_vms(struct daemon_loop *dl, uint64_t now_usec);

static void reload(struct daemon_loop *dl, uint64_t now_usec)
{
	const struct options *o = dl->o;
	struct broker *b = dl->b;
	struct config cfg;

	if (load_config(o, &cfg, stderr) < 0) {
		log_warnx("reload: configuration has errors; keeping the old one");
		config_free(&cfg);
		return;
	}
	if (strcmp(cfg.control_path, b->cfg.control_path) != 0)
		log_warnx("reload: a new control socket path takes a restart");
	snprintf(cfg.control_path, sizeof(cfg.control_path), "%s", b->cfg.control_path);
	if (strcmp(cfg.libvirt_uri, dl->file_cfg.libvirt_uri) != 0)
		log_warnx("reload: a new libvirt URI takes a restart");
	snprintf(cfg.libvirt_uri, sizeof(cfg.libvirt_uri), "%s", dl->file_cfg.libvirt_uri);
	log_info("reload: %zu VMs, budget %llu", cfg.n_vms, (unsigned long long)cfg.budget_bytes);
	/* The new configuration (and its VM list) replaces the old one. */
	config_free(&dl->file_cfg);
	dl->file_cfg = cfg;
	privsep_set_lines_per_wakeup(dl->reader, cfg.lines_per_wakeup);
	apply_vms(dl, now_usec);
}

/* The broker's VMs: the configured ones, then the managed libvirt domains. */
static void apply_vms(struct daemon_loop *dl, uint64_t now_usec)
{
	struct config cfg = { .n_vms = 0 };

	if (config_copy(&cfg, &dl->file_cfg) < 0) {
		log_warnx("out of memory; the VM list stays as it is");
		return;
	}
	if (dl->libvirt)
		discover_config(dl->libvirt, &cfg);
	broker_reload(dl->b, &cfg, now_usec);
	config_free(&cfg);
}

static void on_discovered(void *ctx)
{
	apply_vms(ctx, clock_now_usec());
}

static const struct discover_ops discover_ops = { .changed = on_discovered };

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct daemon_loop *dl = LOOP_OWNER(w, struct daemon_loop, signals);
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading configuration");
			reload(dl, clock_now_usec());
		} else {
			log_info("signal %u: exiting", si.ssi_signo);
			dl->running = false;
		}
	}
}

static void on_tick(struct loop_watch *w, uint32_t events)
{
	struct daemon_loop *dl = LOOP_OWNER(w, struct daemon_loop, tick);
	uint64_t now_usec;

	loop_timer_read(w);
	now_usec = clock_now_usec();
	if (now_usec - dl->last_sample_usec >= HOST_SAMPLE_USEC) {
		sample_host(dl->b);
		dl->last_sample_usec = now_usec;
	}
	broker_tick(dl->b, now_usec);
	if (dl->watchdog_usec && now_usec - dl->last_watchdog_usec >= dl->watchdog_usec / 2) {
		sdnotify("WATCHDOG=1");
		dl->last_watchdog_usec = now_usec;
	}
}

static int open_loop(struct daemon_loop *dl)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	loop_watch_init(&dl->signals, on_signal);
	loop_watch_init(&dl->tick, on_tick);
	if ((r = loop_init(&dl->loop)) < 0 || (r = loop_signal_open(&dl->signals, &mask)) < 0 ||
	    (r = loop_timer_open(&dl->tick)) < 0 ||
	    (r = loop_timer_set(&dl->tick, TICK_USEC, TICK_USEC)) < 0 ||
	    (r = loop_add(&dl->loop, &dl->signals, EPOLLIN)) < 0 ||
	    (r = loop_add(&dl->loop, &dl->tick, EPOLLIN)) < 0)
		return r;
	return 0;
}

static void run(struct daemon_loop *dl)
{
	dl->watchdog_usec = sdnotify_watchdog_usec();
	dl->running = true;
	sdnotify("READY=1\nSTATUS=brokering guest memory");
	while (dl->running) {
		int r = loop_run_once(&dl->loop, -1);

		if (r < 0)
			fatalx(EX_OSERR, "epoll_wait: %s", strerror(-r));
		broker_flush(dl->b, clock_now_usec());
	}
	sdnotify("STOPPING=1");
}

/*
 * Every VM holds a QMP socket and a guest channel (and a hybrid vsock
 * listener for some): a host with a thousand VMs needs more descriptors
 * than the usual soft limit of 1024.  The soft limit goes up to the hard
 * one; the hard one is the administrator's (LimitNOFILE= in the unit).
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_debug("cannot raise the open files limit: %s", strerror(errno));
}

/*
 * The state file's directory is created here, at start, so that a broker
 * that cannot keep its state says so once, with the fix, instead of after
 * every decision.  Without a state file a restart would double-count, so
 * this is fatal.
 */
static void prepare_state(const char *path)
{
	char dir[CONFIG_PATH_MAX];
	int r = state_prepare_dir(path, dir);

	if (r < 0)
		fatalx(EX_CANTCREAT, "state directory %s: %s; create it writable by the user vmrd-host "
		       "runs as (systemd-tmpfiles --create does, for the default path), or keep the "
		       "state elsewhere with --state PATH or state_file = PATH", dir, strerror(-r));
}

static void control_error(const char *path, int r)
{
	char dir[CONFIG_PATH_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	fatalx(EX_CANTCREAT, "control socket %s: %s; make %s exist and be writable by the user "
	       "vmrd-host runs as (the shipped unit's RuntimeDirectory does), or serve it elsewhere "
	       "with --control PATH or control = PATH", path, strerror(-r), dir);
}

int main(int argc, char **argv)
{
	static struct options o;
	static struct config cfg;
	static struct broker b;
	static struct ctlsrv ctl;
	static struct daemon_loop dl;
	static struct privsep ps;
	int r;

	parse_args(argc, argv, &o);
	if (o.print_defaults) {
		config_print_defaults(stdout);
		return 0;
	}
	log_init("vmrd-host", o.debug);
	host_rootfd = fileio_open_root("/");
	if (host_rootfd < 0)
		fatalx(EX_OSFILE, "cannot open /: %s", strerror(-host_rootfd));
	if (load_config(&o, &cfg, stderr) < 0)
		return EX_CONFIG;
	if (o.check_only) {
		printf("configuration OK: %zu VMs, budget %llu bytes\n", cfg.n_vms,
		       (unsigned long long)cfg.budget_bytes);
		return 0;
	}
	/* The broker must keep working when the host is short of memory. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		log_debug("mlockall failed (%s); continuing unlocked", strerror(errno));
	raise_fd_limit();
	r = open_loop(&dl);
	if (r < 0)
		fatalx(EX_OSERR, "cannot set up the event loop: %s", strerror(-r));
	dl.o = &o;
	dl.b = &b;
	dl.reader = &ps;
	broker_init(&b, &dl.loop, &cfg, o.dry_run);
	b.vm_env.reader = &privsep_reader_ops;
	b.vm_env.reader_ctx = &ps;
	b.rootfd = host_rootfd;
	prepare_state(cfg.state_path);
	r = state_load(cfg.state_path, &b.saved);
	if (r < 0)
		log_warnc(r, "cannot read state file %s; starting without it", cfg.state_path);
	r = ctlsrv_open(&ctl, cfg.control_path, &dl.loop, ctl_handle, &b.ctl);
	if (r < 0)
		control_error(cfg.control_path, r);
	/* Before discovery's thread and any QMP connection; it closes the control socket. */
	r = privsep_start(&ps, &dl.loop, cfg.lines_per_wakeup);
	if (r < 0)
		fatalx(EX_OSERR, "cannot start the guest reader: %s", strerror(-r));
	dl.file_cfg = cfg;
	if (cfg.libvirt_uri[0]) {
		r = discover_open(&dl.loop, cfg.libvirt_uri, &discover_ops, &dl, &dl.libvirt);
		if (r < 0)
			fatalx(EX_OSERR, "libvirt discovery: %s", strerror(-r));
		b.drv_env.libvirt = dl.libvirt;
		log_info("discovering libvirt domains at %s", cfg.libvirt_uri);
	}
	sample_host(&b);
	r = broker_start(&b, &cfg, clock_now_usec());
	if (r < 0)
		fatalx(EX_OSERR, "cannot start: %s", strerror(-r));
	log_info("started: %zu VMs, budget %llu bytes%s", cfg.n_vms,
		 (unsigned long long)cfg.budget_bytes, o.dry_run ? ", dry run" : "");
	run(&dl);
	broker_shutdown(&b);
	privsep_stop(&ps);
	discover_close(dl.libvirt);
	ctlsrv_close(&ctl, cfg.control_path);
	config_free(&dl.file_cfg);
	free(o.vm_args);
	return 0;
}
