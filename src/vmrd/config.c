/* SPDX-License-Identifier: MIT */
#include "vmrd/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/inifile.h"
#include "common/inikey.h"

/* Backend names the daemon knows; src/backends/backend.h's registry has the same four. */
static const char *const backend_words[] = { "host", "sysfs", "exec", "plugin", NULL };
/* enum policy_mode, in its order. */
static const char *const mode_words[] = { "default", "psi-only", NULL };
_Static_assert(POLICY_MODE_DEFAULT == 0 && POLICY_MODE_PSI_ONLY == 1, "mode_words follows enum policy_mode");
_Static_assert(sizeof(enum policy_mode) == sizeof(int), "INIKEY_ENUM stores an int");

/* A key of the daemon (V) or of the policy (P): adding a key is one line. */
#define V(sec, key, t, field, text) INIKEY(sec, key, t, struct vmrd_config, field, text)
#define P(sec, key, t, field, text) INIKEY(sec, key, t, struct vmrd_config, policy.field, text)

static const struct inikey keys[] = {
	INIKEY_WORDS("vmrd", "backend", INIKEY_STRING, struct vmrd_config, backend, backend_words, "Where memory comes from: host (vmrd-host over virtio-serial or vsock), sysfs (online/offline present memory blocks), exec (a command), plugin (a shared object)."),
	V("vmrd", "interval", INIKEY_DURATION, interval_usec, "Sampling period while calm."),
	V("vmrd", "fast_interval", INIKEY_DURATION, fast_interval_usec, "Sampling period under pressure or while growing."),
	V("vmrd", "report_interval", INIKEY_DURATION, report_interval_usec, "How often figures are reported to the backend (host link)."),
	{ .section = "vmrd", .name = "control", .type = INIKEY_STRING, .flags = INIKEY_EMPTY,
	  INIKEY_FIELD(struct vmrd_config, control_path),
	  .doc = "Unix socket for vmrctl; empty: none.  One that cannot be bound stops vmrd at start." },
	V("vmrd", "mlock", INIKEY_BOOL, mlock, "Lock the daemon's memory (mlockall) so it keeps working under the pressure it fights."),
	INIKEY_RANGE("vmrd", "oom_score_adj", INIKEY_INT, struct vmrd_config, oom_score_adj, -1000, 1000, "The daemon's own oom_score_adj (-1000..1000)."),
	V("vmrd", "min", INIKEY_SIZE, min_bytes, "Never ask for less total memory than this (0: the backend's minimum)."),
	V("vmrd", "max", INIKEY_SIZE, max_bytes, "Never ask for more total memory than this (0: the backend's maximum)."),

	V("psi", "path", INIKEY_STRING, psi_path, "Pressure file, relative to the root: the system's or a cgroup's memory.pressure."),
	V("psi", "some_stall", INIKEY_DURATION, psi_some_stall_usec, "Trigger when some tasks stall this long within a window."),
	V("psi", "full_stall", INIKEY_DURATION, psi_full_stall_usec, "Trigger when all tasks stall this long within a window (0: no full trigger)."),
	V("psi", "window", INIKEY_DURATION, psi_window_usec, "Trigger window; the kernel may demand a multiple of 2s, vmrd then rounds up and says so."),

	INIKEY_WORDS("policy", "mode", INIKEY_ENUM, struct vmrd_config, policy.mode, mode_words, "default, or psi-only: the original one-step-per-PSI-event design, kept as a benchmark reference."),
	P("policy", "min_headroom", INIKEY_SIZE, min_headroom_bytes, "Available memory to keep at least."),
	P("policy", "headroom_ratio", INIKEY_PERCENT, headroom_ratio_centi, "Or this share of MemTotal, whichever is larger."),
	P("policy", "reserve", INIKEY_SIZE, reserve_bytes, "Available memory the velocity check protects: grow before it would be crossed."),
	P("policy", "plug_latency", INIKEY_DURATION, plug_latency_usec, "Expected time from request to more MemTotal."),
	P("policy", "lead_margin", INIKEY_DURATION, lead_margin_usec, "Added to plug_latency when predicting a fall."),
	P("policy", "velocity_window", INIKEY_DURATION, velocity_window_usec, "History used to estimate how fast MemAvailable falls."),
	P("policy", "grow_step_min", INIKEY_SIZE, grow_step_min_bytes, "Smallest grow request."),
	P("policy", "grow_step_max", INIKEY_SIZE, grow_step_max_bytes, "Largest grow request."),
	P("policy", "escalate_max_shift", INIKEY_U32, escalate_max_shift, "While pressure persists the step doubles, at most 2^this times."),
	P("policy", "emergency_step", INIKEY_SIZE, emergency_step_bytes, "At least this much at once in an emergency (PSI full, allocstall, OOM kill)."),
	P("policy", "full_emergency", INIKEY_PERCENT, full_emergency_centi, "PSI full avg10 at or above this is an emergency."),
	P("policy", "memmap_overhead", INIKEY_PERCENT, memmap_overhead_centi, "Memory hot-add itself needs (struct pages) as a share of what is added."),
	P("policy", "zones", INIKEY_BOOL, zones, "Tell kernel-zone from ZONE_MOVABLE shortages and grow the zone that helps."),
	P("policy", "kernel_min_headroom", INIKEY_SIZE, kernel_min_headroom_bytes, "Memory the kernel zones should keep available at least."),
	P("policy", "kernel_headroom_ratio", INIKEY_PERCENT, kernel_headroom_ratio_centi, "Or this share of the kernel zones, whichever is larger."),
	P("policy", "kernel_max_ratio", INIKEY_PERCENT, kernel_max_ratio_centi, "The kernel zones (hard to unplug) never grow past this share of the maximum."),
	P("policy", "cache_refault_rate", INIKEY_SIZE, cache_refault_rate_bytes, "File refaults per second with no free memory that mean the cache does not fit (grow for it)."),
	P("policy", "cache_protect", INIKEY_DURATION, cache_protect_usec, "After refaults, the active file cache counts as demand this long."),
	P("policy", "calm_stall", INIKEY_PERCENT, calm_stall_centi, "PSI some stall share below this counts as calm."),
	P("policy", "calm_hold", INIKEY_DURATION, calm_hold_usec, "No pressure for this long before shrinking."),
	P("policy", "grow_hold", INIKEY_DURATION, grow_hold_usec, "No shrinking this long after a grow (0: only calm_hold)."),
	P("policy", "shrink_margin", INIKEY_SIZE, shrink_margin_bytes, "Keep this much above the headroom target when shrinking."),
	P("policy", "shrink_fraction", INIKEY_PERCENT, shrink_fraction_centi, "Share of the surplus released per shrink."),
	P("policy", "shrink_max_blocks", INIKEY_U32, shrink_max_blocks, "At most this many blocks per shrink."),
	P("policy", "shrink_step_max", INIKEY_SIZE, shrink_step_max_bytes, "At most this much per shrink."),
	P("policy", "shrink_interval", INIKEY_DURATION, shrink_interval_usec, "Time between two shrinks."),
	P("policy", "pingpong_window", INIKEY_DURATION, pingpong_window_usec, "Pressure this soon after a shrink counts as ping-pong."),
	P("policy", "pingpong_max_level", INIKEY_U32, pingpong_max_level, "Each ping-pong doubles the calm hold and halves the shrink share, up to 2^this."),
	P("policy", "backoff_min", INIKEY_DURATION, backoff_min_usec, "First retry delay after a backend failure."),
	P("policy", "backoff_max", INIKEY_DURATION, backoff_max_usec, "Longest retry delay after repeated failures."),
	P("policy", "psionly_step", INIKEY_SIZE, psionly_step_bytes, "psi-only mode: grow per PSI event."),
	P("policy", "psionly_quiet", INIKEY_DURATION, psionly_quiet_usec, "psi-only mode: release after this long without events."),

	P("reclaim", "enabled", INIKEY_BOOL, reclaim_enabled, "Trim cold page cache with cgroup v2 memory.reclaim: when calm, and before shrinking."),
	V("reclaim", "cgroup", INIKEY_STRING, cgroup_path, "cgroup v2 directory, relative to the root, whose memory.reclaim is written."),
	P("reclaim", "step", INIKEY_SIZE, reclaim_step_bytes, "Bytes per memory.reclaim write; trimming stops between steps when pressure rises."),
	P("reclaim", "min_cache", INIKEY_SIZE, reclaim_min_cache_bytes, "Leave at least this much file cache."),
	P("reclaim", "max_steps", INIKEY_U32, reclaim_max_steps, "At most this many steps per trim."),
	P("reclaim", "refault_limit", INIKEY_U64, reclaim_refault_limit, "File refaults per evaluation that stop trimming."),
	P("reclaim", "interval", INIKEY_DURATION, trim_interval_usec, "Between two steps of trimming cold cache when calm (0: only before a shrink)."),
	P("reclaim", "backoff_min", INIKEY_DURATION, trim_backoff_min_usec, "Refaults after a trim pause trimming for at least this long."),
	P("reclaim", "backoff_max", INIKEY_DURATION, trim_backoff_max_usec, "Refaults after a trim double the pause, up to this."),
	V("reclaim", "timeout", INIKEY_DURATION, reclaim_timeout_usec, "A trim still writing memory.reclaim after this long is interrupted."),

	V("security", "sandbox", INIKEY_BOOL, sandbox, "After start: no_new_privs, every capability but CAP_IPC_LOCK dropped, a seccomp allow-list (backend exec: no_new_privs only)."),
};

#undef V
#undef P

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= sizeof(((struct vmrd_config *)0)->key_line) / sizeof(uint16_t),
	       "key_line[] too small for the key table");

void config_defaults(struct vmrd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	policy_config_defaults(&cfg->policy);
	snprintf(cfg->backend, sizeof(cfg->backend), "host");
	/*
	 * A sample is three small /proc reads (tens of microseconds), and an
	 * unthrottled allocation can eat a few hundred MiB in a second: sample
	 * often even when calm, so the first grow is not a second late.
	 */
	cfg->interval_usec = 250000;
	cfg->fast_interval_usec = 100000;
	cfg->report_interval_usec = 5000000;
	snprintf(cfg->control_path, sizeof(cfg->control_path), "/run/vmrd/vmrd.sock");
	cfg->mlock = true;
	cfg->oom_score_adj = -900;
	snprintf(cfg->psi_path, sizeof(cfg->psi_path), "proc/pressure/memory");
	cfg->psi_some_stall_usec = 100000;
	cfg->psi_full_stall_usec = 50000;
	cfg->psi_window_usec = 1000000;
	snprintf(cfg->cgroup_path, sizeof(cfg->cgroup_path), "sys/fs/cgroup");
	cfg->reclaim_timeout_usec = 10000000;
	cfg->sandbox = true;
}

struct parse_ctx {
	struct inifile ini;
	struct vmrd_config *cfg;
};

#define perr(ctx, ...) inifile_error(&(ctx)->ini, __VA_ARGS__)

static int add_kv(struct parse_ctx *ctx, struct config_kv *kv, size_t *n, const char *name,
		  const char *value)
{
	if (*n == CONFIG_KV_MAX) {
		perr(ctx, "too many keys in this section");
		return 1;
	}
	if (strlen(name) >= sizeof(kv->key) || strlen(value) >= sizeof(kv->value)) {
		perr(ctx, "key or value too long: '%s'", name);
		return 1;
	}
	for (size_t i = 0; i < *n; i++)
		if (strcmp(kv[i].key, name) == 0) {
			snprintf(kv[i].value, sizeof(kv[i].value), "%s", value);
			kv[i].line = ctx->ini.line;
			return 1;
		}
	snprintf(kv[*n].key, sizeof(kv->key), "%s", name);
	snprintf(kv[*n].value, sizeof(kv->value), "%s", value);
	kv[*n].line = ctx->ini.line;
	(*n)++;
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	bool section_known = false;

	if (strcmp(section, "backend") == 0)
		return add_kv(ctx, ctx->cfg->backend_kv, &ctx->cfg->n_backend_kv, name, value);
	if (strcmp(section, "plugin") == 0)
		return add_kv(ctx, ctx->cfg->plugin_kv, &ctx->cfg->n_plugin_kv, name, value);
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct inikey *k = &keys[i];

		if (strcmp(section, k->section) != 0)
			continue;
		section_known = true;
		if (strcmp(name, k->name) != 0)
			continue;
		if (inikey_apply(&ctx->ini, k, ctx->cfg, value) == 0)
			ctx->cfg->key_line[i] = (uint16_t)(ctx->ini.line > UINT16_MAX ? UINT16_MAX : ctx->ini.line);
		return 1;
	}
	if (section[0] == '\0')
		perr(ctx, "key '%s' outside of a section", name);
	else if (!section_known)
		perr(ctx, "unknown section [%s]", section);
	else
		perr(ctx, "unknown key '%s' in [%s]", name, section);
	return 1;
}

int config_load_stream(FILE *file, const char *path, struct vmrd_config *cfg, FILE *err)
{
	struct parse_ctx ctx = {
		.ini = { .path = path, .file = file, .err = err },
		.cfg = cfg,
	};

	return inifile_parse(&ctx.ini, handler, &ctx);
}

int config_load(const char *path, struct vmrd_config *cfg, FILE *err)
{
	FILE *file = fopen(path, "re");
	int r;

	if (!file)
		return -errno;
	r = config_load_stream(file, path, cfg, err);
	fclose(file);
	return r;
}

/* "file:line: message" when the key was set in the file, else "file: message". */
__attribute__((format(printf, 5, 6))) static void verr(FILE *err, const char *path,
						       const struct vmrd_config *cfg, const char *name,
						       const char *fmt, ...)
{
	unsigned line = 0;
	va_list ap;

	for (size_t i = 0; name && i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0 && cfg->key_line[i] > line)
			line = cfg->key_line[i];
	if (line)
		fprintf(err, "%s:%u: ", path, line);
	else
		fprintf(err, "%s: ", path);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
}

int config_validate(const struct vmrd_config *cfg, const char *path, FILE *err)
{
	const char *msg = NULL;
	int r = 0;

	if (policy_config_validate(&cfg->policy, &msg) < 0) {
		verr(err, path, cfg, NULL, "%s", msg);
		r = -EINVAL;
	}
	if (cfg->interval_usec == 0 || cfg->fast_interval_usec == 0) {
		verr(err, path, cfg, cfg->interval_usec ? "fast_interval" : "interval",
		     "interval and fast_interval must be more than 0");
		r = -EINVAL;
	}
	if (cfg->fast_interval_usec > cfg->interval_usec) {
		verr(err, path, cfg, "fast_interval", "fast_interval must not be longer than interval");
		r = -EINVAL;
	}
	if (cfg->max_bytes && cfg->min_bytes > cfg->max_bytes) {
		verr(err, path, cfg, "min", "min is larger than max");
		r = -EINVAL;
	}
	if (cfg->psi_window_usec < 500000 || cfg->psi_window_usec > 10000000) {
		verr(err, path, cfg, "window", "psi window must be within 500ms..10s (the kernel's limits)");
		r = -EINVAL;
	}
	if (cfg->psi_some_stall_usec >= cfg->psi_window_usec ||
	    cfg->psi_full_stall_usec >= cfg->psi_window_usec) {
		verr(err, path, cfg,
		     cfg->psi_some_stall_usec >= cfg->psi_window_usec ? "some_stall" : "full_stall",
		     "psi stalls must be shorter than the window");
		r = -EINVAL;
	}
	if (strcmp(cfg->backend, "exec") == 0 && !config_backend_get((void *)cfg, "command")) {
		verr(err, path, cfg, "backend", "backend exec needs 'command' in [backend]");
		r = -EINVAL;
	}
	if (strcmp(cfg->backend, "plugin") == 0 && !config_plugin_get((void *)cfg, "path")) {
		verr(err, path, cfg, "backend", "backend plugin needs 'path' in [plugin]");
		r = -EINVAL;
	}
	return r;
}

static const char *kv_get(const struct config_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

const char *config_backend_get(void *cfg, const char *key)
{
	const struct vmrd_config *c = cfg;

	return kv_get(c->backend_kv, c->n_backend_kv, key);
}

const char *config_plugin_get(void *cfg, const char *key)
{
	const struct vmrd_config *c = cfg;

	return kv_get(c->plugin_kv, c->n_plugin_kv, key);
}

void config_print_defaults(FILE *out)
{
	struct vmrd_config cfg;

	config_defaults(&cfg);
	fprintf(out, "# vmrd.conf: every key with its default value.\n"
		     "# Generated by `vmrd --print-defaults`; see vmrd.conf(5).\n");
	inikey_print(out, keys, N_KEYS, &cfg);
	fprintf(out, "\n[backend]\n"
		     "# Keys of the chosen built-in backend, passed to it as they are; see\n"
		     "# vmrd.conf(5).\n"
		     "# host:  port_name = org.vmrd.0, device = (path), vsock_port = (number),\n"
		     "#        reply_timeout = 10s, confirm_timeout = 10s, backoff_min = 1s,\n"
		     "#        backoff_max = 30s\n"
		     "# sysfs: min = (boot memory), max = (all present blocks)\n"
		     "# exec:  command = (required), max = (required), min = (MemTotal at start),\n"
		     "#        block = 2M, timeout = 30s, current_command = (none)\n"
		     "\n[plugin]\n"
		     "# With backend = plugin: path = (the shared object), and the plugin's own\n"
		     "# keys, passed to it as they are.\n");
}
