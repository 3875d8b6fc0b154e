/* SPDX-License-Identifier: MIT */
#include "host/config.h"

#include <errno.h>
#include <string.h>

#include "common/inifile.h"
#include "core/parse.h"

enum key_type {
	KT_SIZE,
	KT_SIZE_AUTO,
	KT_CENTI,
	KT_U32,
	KT_DURATION,
	KT_PATH,
	KT_ID,
};

/* One table for both parsing and config_print_defaults(): the docs cannot drift. */
struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;
	const char *def;
	const char *doc;
};

#define G(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define V(field) offsetof(struct config_vm, field), sizeof(((struct config_vm *)0)->field)

static const struct key global_keys[] = {
	{ "budget", KT_SIZE_AUTO, G(budget_bytes), "auto",
	  "Memory all VMs may have in total (sum of their sizes); auto is host MemTotal minus reserve." },
	{ "reserve", KT_SIZE, G(reserve_bytes), "1G", "Memory kept for the host when budget is auto." },
	{ "host_psi_some", KT_CENTI, G(host_psi_some_centi), "20",
	  "Host memory PSI some avg10 (percent) from which only critical requests grow a VM." },
	{ "host_psi_full", KT_CENTI, G(host_psi_full_centi), "5",
	  "Host memory PSI full avg10 (percent) from which only critical requests grow a VM." },
	{ "state_file", KT_PATH, G(state_path), "/var/lib/vmrd-host/state",
	  "Where granted sizes are kept across restarts (written atomically)." },
	{ "control", KT_PATH, G(control_path), "/run/vmrd-host/control.sock",
	  "Control socket for status, status json and metrics." },
	{ "error_limit", KT_U32, G(error_limit), "10",
	  "Bad lines a guest may send within error_window before it is disconnected." },
	{ "error_window", KT_DURATION, G(error_window_usec), "10s", "See error_limit." },
	{ "penalty", KT_DURATION, G(penalty_usec), "5s",
	  "How long a disconnected guest channel stays closed before reconnecting." },
	{ "lines_per_wakeup", KT_U32, G(lines_per_wakeup), "16",
	  "Lines handled per VM per loop iteration, so one guest cannot delay the others." },
	{ "converge_timeout", KT_DURATION, G(converge_timeout_usec), "30s",
	  "A VM that does not approach its target for this long gets its growth cut back to its size." },
	{ "oscillation_hold", KT_DURATION, G(oscillation_hold_usec), "30s",
	  "No resize opposite to a VM's previous one for this long (critical growth excepted)." },
	{ "fair_share_grace", KT_DURATION, G(fair_share_grace_usec), "10s",
	  "A VM over its weighted share, asked to give memory back while another VM lacks its share, is cut after this long." },
	{ "demand_window", KT_DURATION, G(demand_window_usec), "30s",
	  "A request counts as the VM's demand for this long after it arrived." },
};

static const struct key vm_keys[] = {
	{ "qmp", KT_PATH, V(qmp_path), "", "QMP unix socket QEMU serves (-qmp unix:PATH,server=on,wait=off)." },
	{ "channel", KT_PATH, V(channel_path), "",
	  "Unix socket of the virtio-serial port org.vmrd.0 (-chardev socket,server=on,wait=off)." },
	{ "virtio_mem", KT_ID, V(vmem_id), "", "Id of the virtio-mem device (preferred)." },
	{ "balloon", KT_ID, V(balloon_id), "", "Id of the virtio-balloon device (VMs without virtio-mem)." },
	{ "min", KT_SIZE, V(min_bytes), "", "Smallest total size the VM is ever given (required)." },
	{ "max", KT_SIZE, V(max_bytes), "", "Largest total size the VM is ever given (required)." },
	{ "weight", KT_U32, V(weight), "100", "Share of the budget under contention, relative to other VMs." },
};

static int set_value(const struct key *k, void *base, const char *value, const char **ret_msg)
{
	void *p = (char *)base + k->offset;
	uint64_t v;
	int r;

	*ret_msg = "invalid value";
	switch (k->type) {
	case KT_SIZE_AUTO:
		if (strcmp(value, "auto") == 0) {
			*(uint64_t *)p = 0;
			((struct config *)base)->budget_auto = true;
			return 0;
		}
		((struct config *)base)->budget_auto = false;
		/* fall through */
	case KT_SIZE:
		r = parse_size(value, &v);
		if (r == 0 && v == 0)
			r = -EINVAL;
		if (r < 0)
			*ret_msg = r == -ERANGE ? "size out of range" : "expected a size like 512M or 4G";
		else
			*(uint64_t *)p = v;
		return r;
	case KT_CENTI:
		r = parse_centi(value, &v);
		if (r == 0 && v > 10000)
			r = -ERANGE;
		if (r < 0)
			*ret_msg = "expected a percentage like 12.5 (0..100)";
		else
			*(uint32_t *)p = (uint32_t)v;
		return r;
	case KT_U32:
		r = parse_u64(value, &v);
		if (r == 0 && (v == 0 || v > UINT32_MAX))
			r = -ERANGE;
		if (r < 0)
			*ret_msg = "expected a whole number from 1 to 4294967295";
		else
			*(uint32_t *)p = (uint32_t)v;
		return r;
	case KT_DURATION:
		r = parse_duration_usec(value, &v);
		if (r == 0 && v == 0)
			r = -ERANGE;
		if (r < 0)
			*ret_msg = "expected a duration like 500ms or 10s";
		else
			*(uint64_t *)p = v;
		return r;
	case KT_PATH:
	case KT_ID:
		if (value[0] == '\0' || strlen(value) >= k->size) {
			*ret_msg = k->type == KT_PATH ? "path empty or too long" : "id empty or too long";
			return -EINVAL;
		}
		if (k->type == KT_PATH && value[0] != '/') {
			*ret_msg = "path must be absolute";
			return -EINVAL;
		}
		memcpy(p, value, strlen(value) + 1);
		return 0;
	}
	return -EINVAL;
}

static const struct key *find_key(const struct key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CONFIG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static void vm_defaults(struct config_vm *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->weight = 100;
}

void config_defaults(struct config *cfg)
{
	const char *msg;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(global_keys) / sizeof(global_keys[0]); i++)
		set_value(&global_keys[i], cfg, global_keys[i].def, &msg);
}

struct parse_ctx {
	struct inifile ini;
	struct config *cfg;
	struct config_vm *vm; /* the [vm NAME] section being read, NULL in others */
	char section[128];    /* last section seen, to notice a new one */
};

#define perr(ctx, ...) inifile_error(&(ctx)->ini, __VA_ARGS__)

/*
 * A bounded, always terminated copy.  (snprintf("%s") here trips gcc 12's
 * format-truncation analysis under -fsanitize=address with a false "null
 * argument", which -Werror turns into a failed sanitizer build.)
 */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct config_vm *vm_new(struct config *cfg, const char *name)
{
	struct config_vm *vm;

	if (cfg->n_vms == CONFIG_MAX_VMS)
		return NULL;
	vm = &cfg->vms[cfg->n_vms++];
	vm_defaults(vm);
	copy_str(vm->name, sizeof(vm->name), name);
	return vm;
}

/* Called for the first key of every section; sections without keys need no checks. */
static void enter_section(struct parse_ctx *ctx, const char *section)
{
	copy_str(ctx->section, sizeof(ctx->section), section);
	ctx->vm = NULL;
	if (strncmp(section, "vm ", 3) != 0)
		return;
	if (!name_valid(section + 3)) {
		inifile_error_at(&ctx->ini, ctx->ini.section_line,
				 "invalid VM name '%.31s' (1-31 of A-Z a-z 0-9 . _ -)", section + 3);
		return;
	}
	ctx->vm = vm_new(ctx->cfg, section + 3);
	if (!ctx->vm) {
		perr(ctx, "too many VMs (at most %d)", CONFIG_MAX_VMS);
		return;
	}
	snprintf(ctx->vm->origin, sizeof(ctx->vm->origin), "%s:%u", ctx->ini.path, ctx->ini.section_line);
}

static void vm_key(struct parse_ctx *ctx, struct config_vm *vm, const char *name, const char *value)
{
	const struct key *k = find_key(vm_keys, sizeof(vm_keys) / sizeof(vm_keys[0]), name);
	const char *msg;

	if (!k) {
		perr(ctx, "unknown key '%s' in [vm %s]", name, vm->name);
		return;
	}
	if (set_value(k, vm, value, &msg) < 0) {
		perr(ctx, "%s: %s", name, msg);
		return;
	}
	vm->has_min |= strcmp(name, "min") == 0;
	vm->has_max |= strcmp(name, "max") == 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	const struct key *k;
	const char *msg;

	if (strcmp(section, ctx->section) != 0)
		enter_section(ctx, section);
	if (section[0] == '\0') {
		k = find_key(global_keys, sizeof(global_keys) / sizeof(global_keys[0]), name);
		if (!k)
			perr(ctx, "unknown key '%s'", name);
		else if (set_value(k, ctx->cfg, value, &msg) < 0)
			perr(ctx, "%s: %s", name, msg);
		return 1;
	}
	if (ctx->vm)
		vm_key(ctx, ctx->vm, name, value);
	else if (strncmp(section, "vm ", 3) != 0)
		perr(ctx, "unknown section [%s] (expected [vm NAME])", section);
	return 1;
}

int config_load(const char *path, struct config *cfg, FILE *err)
{
	struct parse_ctx ctx = {
		.ini = { .path = path, .err = err },
		.cfg = cfg,
	};
	int r;

	ctx.ini.file = fopen(path, "re");
	if (!ctx.ini.file)
		return -errno;
	r = inifile_parse(&ctx.ini, handler, &ctx);
	fclose(ctx.ini.file);
	return r;
}

/* One name=value of --vm; returns false (and says why) when it is bad. */
static bool vm_arg_pair(struct config_vm *vm, char *tok, FILE *err)
{
	char *eq = strchr(tok, '=');
	const struct key *k;
	const char *msg = "unknown key";

	if (!eq) {
		fprintf(err, "--vm: expected key=value, got '%s'\n", tok);
		return false;
	}
	*eq = '\0';
	/* The command line spells keys with dashes, the file with underscores. */
	for (char *c = tok; *c; c++)
		if (*c == '-')
			*c = '_';
	if (strcmp(tok, "name") == 0) {
		if (!name_valid(eq + 1)) {
			fprintf(err, "--vm: invalid VM name '%.31s'\n", eq + 1);
			return false;
		}
		snprintf(vm->name, sizeof(vm->name), "%s", eq + 1);
		return true;
	}
	k = find_key(vm_keys, sizeof(vm_keys) / sizeof(vm_keys[0]), tok);
	if (!k || set_value(k, vm, eq + 1, &msg) < 0) {
		fprintf(err, "--vm: %s: %s\n", tok, msg);
		return false;
	}
	vm->has_min |= strcmp(tok, "min") == 0;
	vm->has_max |= strcmp(tok, "max") == 0;
	return true;
}

int config_add_vm_arg(struct config *cfg, const char *arg, FILE *err)
{
	char buf[1024];
	char *save = NULL;
	struct config_vm vm;
	unsigned errors = 0;

	vm_defaults(&vm);
	snprintf(vm.origin, sizeof(vm.origin), "--vm");
	if (strlen(arg) >= sizeof(buf)) {
		fprintf(err, "--vm: argument too long\n");
		return -EINVAL;
	}
	strcpy(buf, arg);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		errors += !vm_arg_pair(&vm, tok, err);
	if (vm.name[0] == '\0') {
		fprintf(err, "--vm: name= is required\n");
		errors++;
	}
	if (errors)
		return -EINVAL;
	if (cfg->n_vms == CONFIG_MAX_VMS) {
		fprintf(err, "--vm: too many VMs (at most %d)\n", CONFIG_MAX_VMS);
		return -EINVAL;
	}
	cfg->vms[cfg->n_vms++] = vm;
	return 0;
}

static unsigned vm_check(const struct config *cfg, size_t idx, FILE *err)
{
	const struct config_vm *vm = &cfg->vms[idx];
	unsigned errors = 0;

#define VM_ERR(...)                                          \
	do {                                                     \
		fprintf(err, "%s: [vm %s] ", vm->origin, vm->name); \
		fprintf(err, __VA_ARGS__);                           \
		fputc('\n', err);                                    \
		errors++;                                            \
	} while (0)
	if (vm->qmp_path[0] == '\0')
		VM_ERR("qmp is required");
	if (vm->channel_path[0] == '\0')
		VM_ERR("channel is required");
	if (vm->vmem_id[0] == '\0' && vm->balloon_id[0] == '\0')
		VM_ERR("virtio_mem or balloon is required");
	if (!vm->has_min || !vm->has_max)
		VM_ERR("min and max are required");
	else if (vm->min_bytes > vm->max_bytes)
		VM_ERR("min is larger than max");
	for (size_t j = 0; j < idx; j++) {
		const struct config_vm *o = &cfg->vms[j];

		if (strcmp(o->name, vm->name) == 0)
			VM_ERR("name already used at %s", o->origin);
		if (vm->channel_path[0] && strcmp(o->channel_path, vm->channel_path) == 0)
			VM_ERR("channel already used by [vm %s]", o->name);
		if (vm->qmp_path[0] && strcmp(o->qmp_path, vm->qmp_path) == 0)
			VM_ERR("qmp already used by [vm %s]", o->name);
	}
#undef VM_ERR
	return errors;
}

int config_finish(struct config *cfg, const char *label, uint64_t mem_total_bytes, FILE *err)
{
	unsigned errors = 0;
	uint64_t min_sum = 0;

	for (size_t i = 0; i < cfg->n_vms; i++) {
		errors += vm_check(cfg, i, err);
		min_sum += cfg->vms[i].min_bytes;
	}
	if (cfg->budget_auto) {
		if (mem_total_bytes <= cfg->reserve_bytes) {
			fprintf(err, "%s: budget auto: reserve is not below host MemTotal\n", label);
			errors++;
		} else {
			cfg->budget_bytes = mem_total_bytes - cfg->reserve_bytes;
		}
	}
	/* Every VM is entitled to its min; a budget below their sum cannot be honoured. */
	if (!errors && min_sum > cfg->budget_bytes) {
		fprintf(err, "%s: budget %llu is less than the sum of VM minimums %llu\n", label,
			(unsigned long long)cfg->budget_bytes, (unsigned long long)min_sum);
		errors++;
	}
	return errors ? -EINVAL : 0;
}

static void print_keys(FILE *out, const struct key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "# %s\n", keys[i].doc);
		if (keys[i].def[0])
			fprintf(out, "#%s = %s\n", keys[i].name, keys[i].def);
		else
			fprintf(out, "#%s =\n", keys[i].name);
	}
}

void config_print_defaults(FILE *out)
{
	fprintf(out, "# vmrd-host.conf: every key with its default value.  Sizes take K, M, G, T\n"
		     "# suffixes; durations us, ms, s, m, h; percentages up to two decimals.\n\n");
	print_keys(out, global_keys, sizeof(global_keys) / sizeof(global_keys[0]));
	fprintf(out, "\n# One section per VM; the name appears in logs, status and metrics.\n"
		     "#[vm NAME]\n");
	print_keys(out, vm_keys, sizeof(vm_keys) / sizeof(vm_keys[0]));
	fprintf(out, "\n# An example VM, commented out:\n"
		     "#[vm web]\n#qmp = /run/vm/web.qmp\n#channel = /run/vm/web.vmrd\n"
		     "#virtio_mem = vmem0\n#min = 1G\n#max = 8G\n#weight = 100\n");
}
