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
#include "core/parse.h"

enum key_type {
	KT_SIZE,     /* uint64_t bytes, "512M" */
	KT_DURATION, /* uint64_t usec, "10s" */
	KT_PERCENT,  /* uint32_t centi, "12.5%" */
	KT_U32,
	KT_U64,
	KT_BOOL,
	KT_INT,      /* int, may be negative */
	KT_STRING,   /* char[CONFIG_PATH_MAX] */
	KT_MODE,     /* enum policy_mode */
	KT_BACKEND,  /* char[32], a known backend name */
};

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	const char *doc;
};

#define V(f) offsetof(struct vmrd_config, f)
#define P(f) offsetof(struct vmrd_config, policy.f)

static const struct key keys[] = {
	{ "vmrd", "backend", KT_BACKEND, V(backend),
	  "Where memory comes from: host (vmrd-host over virtio-serial or vsock), sysfs (online/offline present memory blocks), exec (a command), plugin (a shared object)." },
	{ "vmrd", "interval", KT_DURATION, V(interval_usec), "Sampling period while calm." },
	{ "vmrd", "fast_interval", KT_DURATION, V(fast_interval_usec), "Sampling period under pressure or while growing." },
	{ "vmrd", "report_interval", KT_DURATION, V(report_interval_usec), "How often figures are reported to the backend (host link)." },
	{ "vmrd", "control", KT_STRING, V(control_path), "Unix socket for vmrctl." },
	{ "vmrd", "mlock", KT_BOOL, V(mlock), "Lock the daemon's memory (mlockall) so it keeps working under the pressure it fights." },
	{ "vmrd", "oom_score_adj", KT_INT, V(oom_score_adj), "The daemon's own oom_score_adj (-1000..1000)." },
	{ "vmrd", "min", KT_SIZE, V(min_bytes), "Never ask for less total memory than this (0: the backend's minimum)." },
	{ "vmrd", "max", KT_SIZE, V(max_bytes), "Never ask for more total memory than this (0: the backend's maximum)." },

	{ "psi", "path", KT_STRING, V(psi_path), "Pressure file, relative to the root: the system's or a cgroup's memory.pressure." },
	{ "psi", "some_stall", KT_DURATION, V(psi_some_stall_usec), "Trigger when some tasks stall this long within a window." },
	{ "psi", "full_stall", KT_DURATION, V(psi_full_stall_usec), "Trigger when all tasks stall this long within a window (0: no full trigger)." },
	{ "psi", "window", KT_DURATION, V(psi_window_usec), "Trigger window; the kernel may demand a multiple of 2s, vmrd then rounds up and says so." },

	{ "policy", "mode", KT_MODE, P(mode), "default, or psi-only: the original one-step-per-PSI-event design, kept as a benchmark reference." },
	{ "policy", "min_headroom", KT_SIZE, P(min_headroom_bytes), "Available memory to keep at least." },
	{ "policy", "headroom_ratio", KT_PERCENT, P(headroom_ratio_centi), "Or this share of MemTotal, whichever is larger." },
	{ "policy", "reserve", KT_SIZE, P(reserve_bytes), "Available memory the velocity check protects: grow before it would be crossed." },
	{ "policy", "plug_latency", KT_DURATION, P(plug_latency_usec), "Expected time from request to more MemTotal." },
	{ "policy", "lead_margin", KT_DURATION, P(lead_margin_usec), "Added to plug_latency when predicting a fall." },
	{ "policy", "velocity_window", KT_DURATION, P(velocity_window_usec), "History used to estimate how fast MemAvailable falls." },
	{ "policy", "grow_step_min", KT_SIZE, P(grow_step_min_bytes), "Smallest grow request." },
	{ "policy", "grow_step_max", KT_SIZE, P(grow_step_max_bytes), "Largest grow request." },
	{ "policy", "escalate_max_shift", KT_U32, P(escalate_max_shift), "While pressure persists the step doubles, at most 2^this times." },
	{ "policy", "emergency_step", KT_SIZE, P(emergency_step_bytes), "At least this much at once in an emergency (PSI full, allocstall, OOM kill)." },
	{ "policy", "full_emergency", KT_PERCENT, P(full_emergency_centi), "PSI full avg10 at or above this is an emergency." },
	{ "policy", "memmap_overhead", KT_PERCENT, P(memmap_overhead_centi), "Memory hot-add itself needs (struct pages) as a share of what is added." },
	{ "policy", "calm_some_avg10", KT_PERCENT, P(calm_some_avg10_centi), "PSI some avg10 must be below this to shrink." },
	{ "policy", "calm_some_avg60", KT_PERCENT, P(calm_some_avg60_centi), "PSI some avg60 must be below this to shrink." },
	{ "policy", "calm_hold", KT_DURATION, P(calm_hold_usec), "No pressure for this long before shrinking." },
	{ "policy", "grow_hold", KT_DURATION, P(grow_hold_usec), "No shrinking this long after a grow." },
	{ "policy", "shrink_margin", KT_SIZE, P(shrink_margin_bytes), "Keep this much above the headroom target when shrinking." },
	{ "policy", "shrink_fraction", KT_PERCENT, P(shrink_fraction_centi), "Share of the surplus released per shrink." },
	{ "policy", "shrink_max_blocks", KT_U32, P(shrink_max_blocks), "At most this many blocks per shrink." },
	{ "policy", "shrink_interval", KT_DURATION, P(shrink_interval_usec), "Time between two shrinks." },
	{ "policy", "pingpong_window", KT_DURATION, P(pingpong_window_usec), "Pressure this soon after a shrink counts as ping-pong." },
	{ "policy", "pingpong_max_level", KT_U32, P(pingpong_max_level), "Each ping-pong doubles the calm hold and halves the shrink share, up to 2^this." },
	{ "policy", "backoff_min", KT_DURATION, P(backoff_min_usec), "First retry delay after a backend failure." },
	{ "policy", "backoff_max", KT_DURATION, P(backoff_max_usec), "Longest retry delay after repeated failures." },
	{ "policy", "psionly_step", KT_SIZE, P(psionly_step_bytes), "psi-only mode: grow per PSI event." },
	{ "policy", "psionly_quiet", KT_DURATION, P(psionly_quiet_usec), "psi-only mode: release after this long without events." },

	{ "reclaim", "enabled", KT_BOOL, P(reclaim_enabled), "Trim cold page cache with cgroup v2 memory.reclaim before shrinking." },
	{ "reclaim", "cgroup", KT_STRING, V(cgroup_path), "cgroup v2 directory, relative to the root, whose memory.reclaim is written." },
	{ "reclaim", "step", KT_SIZE, P(reclaim_step_bytes), "Bytes per memory.reclaim write; trimming stops between steps when pressure rises." },
	{ "reclaim", "min_cache", KT_SIZE, P(reclaim_min_cache_bytes), "Leave at least this much file cache." },
	{ "reclaim", "max_steps", KT_U32, P(reclaim_max_steps), "At most this many steps per trim." },
	{ "reclaim", "refault_limit", KT_U64, P(reclaim_refault_limit), "File refaults per evaluation that stop trimming." },
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
}

static const char *const backend_names[] = { "host", "sysfs", "exec", "plugin" };

static int parse_percent(const char *s, uint32_t *ret)
{
	char tmp[32];
	size_t len = strlen(s);
	uint64_t v;
	int r;

	if (len && s[len - 1] == '%')
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	r = parse_centi(tmp, &v);
	if (r < 0)
		return r;
	if (v > 10000)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_int(const char *s, int *ret)
{
	bool neg = s[0] == '-';
	uint64_t v;
	int r;

	r = parse_u64(s + neg, &v);
	if (r < 0)
		return r;
	if (v > INT_MAX)
		return -ERANGE;
	*ret = neg ? -(int)v : (int)v;
	return 0;
}

/* Store value into the field of cfg that k names; a message on failure. */
static int key_set(const struct key *k, struct vmrd_config *cfg, const char *value,
		   const char **ret_msg)
{
	void *field = (char *)cfg + k->offset;
	uint64_t u64;
	int r = 0;

	switch (k->type) {
	case KT_SIZE:
		r = parse_size(value, field);
		*ret_msg = "expected a size such as 4096, 512M or 2G";
		break;
	case KT_DURATION:
		r = parse_duration_usec(value, field);
		*ret_msg = "expected a duration such as 500ms, 10s or 2m";
		break;
	case KT_PERCENT:
		r = parse_percent(value, field);
		*ret_msg = "expected a percentage from 0 to 100 with at most two decimals, such as 12.5%";
		break;
	case KT_U32:
		r = parse_u64(value, &u64);
		if (r == 0 && u64 > UINT32_MAX)
			r = -ERANGE;
		if (r == 0)
			*(uint32_t *)field = (uint32_t)u64;
		*ret_msg = "expected a whole number";
		break;
	case KT_U64:
		r = parse_u64(value, field);
		*ret_msg = "expected a whole number";
		break;
	case KT_BOOL:
		r = parse_bool(value, field);
		*ret_msg = "expected yes or no";
		break;
	case KT_INT:
		r = parse_int(value, field);
		if (r == 0 && (*(int *)field < -1000 || *(int *)field > 1000))
			r = -ERANGE;
		*ret_msg = "expected a whole number";
		break;
	case KT_STRING:
		if (strlen(value) >= CONFIG_PATH_MAX) {
			r = -ERANGE;
			*ret_msg = "too long";
		} else {
			strcpy(field, value);
		}
		break;
	case KT_MODE:
		if (strcmp(value, "default") == 0)
			*(enum policy_mode *)field = POLICY_MODE_DEFAULT;
		else if (strcmp(value, "psi-only") == 0)
			*(enum policy_mode *)field = POLICY_MODE_PSI_ONLY;
		else
			r = -EINVAL;
		*ret_msg = "expected default or psi-only";
		break;
	case KT_BACKEND:
		r = -EINVAL;
		for (size_t i = 0; i < sizeof(backend_names) / sizeof(backend_names[0]); i++)
			if (strcmp(value, backend_names[i]) == 0) {
				snprintf(field, 32, "%s", value);
				r = 0;
			}
		*ret_msg = "expected host, sysfs, exec or plugin";
		break;
	}
	if (r == -ERANGE && k->type != KT_STRING)
		*ret_msg = "value out of range";
	return r;
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
	const char *msg = NULL;

	if (strcmp(section, "backend") == 0)
		return add_kv(ctx, ctx->cfg->backend_kv, &ctx->cfg->n_backend_kv, name, value);
	if (strcmp(section, "plugin") == 0)
		return add_kv(ctx, ctx->cfg->plugin_kv, &ctx->cfg->n_plugin_kv, name, value);
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];

		if (strcmp(section, k->section) != 0)
			continue;
		section_known = true;
		if (strcmp(name, k->name) != 0)
			continue;
		if (key_set(k, ctx->cfg, value, &msg) < 0)
			perr(ctx, "%s = '%s': %s", name, value, msg);
		else
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

/* The largest unit that divides v exactly, so defaults print as written. */
static void format_scaled(char *buf, size_t len, uint64_t v, const char *const *units,
			  const uint64_t *mult, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (v == 0 || v % mult[i] == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", v ? v / mult[i] : 0, v ? units[i] : units[0]);
			return;
		}
}

static void key_format(const struct key *k, const struct vmrd_config *cfg, char *buf, size_t len)
{
	static const char *const size_units[] = { "", "K", "M", "G", "T" };
	static const uint64_t size_mult[] = { 1, 1ull << 10, 1ull << 20, 1ull << 30, 1ull << 40 };
	static const char *const dur_units[] = { "us", "ms", "s", "m", "h" };
	static const uint64_t dur_mult[] = { 1, 1000, 1000000, 60000000, 3600000000ull };
	const void *field = (const char *)cfg + k->offset;
	uint32_t c;

	switch (k->type) {
	case KT_SIZE:
		format_scaled(buf, len, *(const uint64_t *)field, size_units, size_mult, 5);
		break;
	case KT_DURATION:
		format_scaled(buf, len, *(const uint64_t *)field, dur_units, dur_mult, 5);
		break;
	case KT_PERCENT:
		c = *(const uint32_t *)field;
		if (c % 100 == 0)
			snprintf(buf, len, "%u%%", c / 100);
		else
			snprintf(buf, len, "%u.%02u%%", c / 100, c % 100);
		break;
	case KT_U32:
		snprintf(buf, len, "%u", *(const uint32_t *)field);
		break;
	case KT_U64:
		snprintf(buf, len, "%" PRIu64, *(const uint64_t *)field);
		break;
	case KT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
		break;
	case KT_INT:
		snprintf(buf, len, "%d", *(const int *)field);
		break;
	case KT_STRING:
	case KT_BACKEND:
		snprintf(buf, len, "%s", (const char *)field);
		break;
	case KT_MODE:
		snprintf(buf, len, "%s",
			 *(const enum policy_mode *)field == POLICY_MODE_PSI_ONLY ? "psi-only" : "default");
		break;
	}
}

/* Comments wrapped at 78 columns, so the example reads well in an editor. */
static void print_comment(FILE *out, const char *text)
{
	while (*text) {
		size_t n = strlen(text);

		if (n > 76) {
			n = 76;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)
				n = strcspn(text, " ");
		}
		fprintf(out, "# %.*s\n", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
	}
}

void config_print_defaults(FILE *out)
{
	struct vmrd_config cfg;
	const char *section = "";
	char value[64];

	config_defaults(&cfg);
	fprintf(out, "# vmrd.conf: every key with its default value.\n"
		     "# Generated by `vmrd --print-defaults`; see vmrd.conf(5).\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];

		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		key_format(k, &cfg, value, sizeof(value));
		print_comment(out, k->doc);
		fprintf(out, "#%s = %s\n", k->name, value);
	}
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
