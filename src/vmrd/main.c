/* SPDX-License-Identifier: MIT */
/* vmrd: wiring only.  Arguments, configuration, construction, the loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <unistd.h>

#include "build-config.h"
#include "common/fileio.h"
#include "common/log.h"
#include "vmrd/daemon.h"
#include "vmrd/sandbox.h"

#define DEFAULT_CONFIG VMRD_SYSCONFDIR "/vmrd/vmrd.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmrd [-dnhV] [-c file] [--root dir] [--dry-run] [--once]\n"
		"            [--backend name] [--control path] [--print-defaults]\n"
		"  -c, --config file   configuration (default " DEFAULT_CONFIG ")\n"
		"  -n, --check         check the configuration and exit\n"
		"  -d, --debug         log more\n"
		"      --dry-run       decide and log, but do not act\n"
		"      --once          take one sample, print the decision as JSON, exit\n"
		"      --root dir      read proc/ and sys/ under dir (fixture trees, tests)\n"
		"      --backend name  host, sysfs, exec or plugin (overrides the file)\n"
		"      --control path  control socket for vmrctl (overrides the file)\n"
		"      --print-defaults  print every configuration key with its default\n");
}

/* Keep working under the pressure we fight: no paging of our own memory, last to be killed. */
static void harden(const struct vmrd_config *cfg)
{
	char val[16];
	int r;

	if (cfg->mlock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		log_warn("mlockall (continuing without)");
	snprintf(val, sizeof(val), "%d", cfg->oom_score_adj);
	r = fileio_write_at(AT_FDCWD, "/proc/self/oom_score_adj", val);
	if (r < 0)
		log_warnc(r, "cannot set oom_score_adj to %s", val);
}

/*
 * After start: what vmrd no longer needs (vmrd/sandbox.h), said once.  A
 * step that fails is logged and the daemon keeps working without the rest:
 * the guest's memory matters more than the second line of defence.
 */
static void enter_sandbox(struct daemon *d)
{
	struct sandbox_plan plan;
	struct sandbox_result res;
	int r;

	sandbox_plan(d->cfg.sandbox, d->cfg.backend, d->cfg.mlock, &plan);
	r = sandbox_enter(&plan, &res);
	if (r < 0) {
		log_warnc(r, "sandbox: cannot drop privileges; running without the rest of the sandbox");
		return;
	}
	d->seccomp = plan.seccomp;
	if (!plan.drop_caps) {
		log_info("sandbox: %s%s", plan.no_new_privs ? "no_new_privs only; " : "off: ", plan.why);
		return;
	}
	if (res.caps_err)
		log_warnc(res.caps_err, "sandbox: not every capability could be dropped (permitted "
			  "set 0x%" PRIx64 ", the bounding set keeps the rest; no exec can gain "
			  "any under no_new_privs)", res.caps_after);
	log_info("sandbox: no_new_privs; capabilities 0x%" PRIx64 " -> 0x%" PRIx64
		 "%s; seccomp allows %u system calls, the rest fail with EPERM (logged by the kernel)",
		 res.caps_before, res.caps_after, res.caps_after ? " (cap_ipc_lock, for mlock)" : "",
		 res.syscalls);
}

/* One line naming the file and the fix; a restart cannot help, so EX_CONFIG. */
static void config_unreadable(const char *path, int r)
{
	if (r == -ENOENT)
		log_warnx("%s: no such file; create it (vmrd --print-defaults lists every key), name "
			  "another with -c FILE, or leave out -c to run on the built-in defaults", path);
	else if (r == -EACCES)
		log_warnx("%s: permission denied; make it readable by the user vmrd runs as", path);
	else
		log_warnc(r, "%s: cannot read the configuration", path);
}

int main(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_DRY_RUN, OPT_ONCE, OPT_BACKEND, OPT_CONTROL, OPT_DEFAULTS };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "print-defaults", no_argument, NULL, OPT_DEFAULTS },
		{ 0 },
	};
	static struct daemon d; /* large; keep it off the stack */
	const char *config_path = NULL, *backend = NULL, *control = NULL;
	int c, r, check = 0, debug = 0, status;

	while ((c = getopt_long(argc, argv, "c:ndhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmrd %s\n", VMRD_VERSION);
			return 0;
		case OPT_ROOT:
			d.root_dir = optarg;
			break;
		case OPT_DRY_RUN:
			d.dry_run = true;
			break;
		case OPT_ONCE:
			d.once = true;
			break;
		case OPT_BACKEND:
			backend = optarg;
			break;
		case OPT_CONTROL:
			control = optarg;
			break;
		case OPT_DEFAULTS:
			config_print_defaults(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	log_init("vmrd", debug);

	config_defaults(&d.cfg);
	if (!config_path && access(DEFAULT_CONFIG, F_OK) == 0)
		config_path = DEFAULT_CONFIG;
	if (config_path) {
		r = config_load(config_path, &d.cfg, stderr);
		if (r == -EINVAL)
			return EX_CONFIG;
		if (r < 0) {
			config_unreadable(config_path, r);
			return EX_CONFIG;
		}
		d.config_path = config_path;
	}
	if (backend)
		snprintf(d.cfg.backend, sizeof(d.cfg.backend), "%s", backend);
	if (control)
		snprintf(d.cfg.control_path, sizeof(d.cfg.control_path), "%s", control);
	if (config_validate(&d.cfg, config_path ? config_path : "(defaults)", stderr) < 0)
		return EX_CONFIG;
	if (check) {
		fprintf(stderr, "vmrd: configuration OK\n");
		return 0;
	}

	d.rootfd = fileio_open_root(d.root_dir);
	if (d.rootfd < 0) {
		log_warnc(d.rootfd, "root %s", d.root_dir);
		return EX_NOINPUT;
	}
	if (d.once)
		return daemon_once(&d);

	harden(&d.cfg);
	daemon_setup(&d);
	enter_sandbox(&d);
	status = daemon_run(&d);
	daemon_teardown(&d);
	return status;
}
