/* SPDX-License-Identifier: MIT */
#include "host/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/inifile.h"
#include "common/inikey.h"
#include "core/arbiter.h"
#include "host/hostmem.h"

_Static_assert(sizeof(enum config_budget_mode) == sizeof(int), "INIKEY_ENUM stores an int");
_Static_assert((int)CONFIG_BUDGET_OVERCOMMIT == (int)ARBITER_BUDGET_OVERCOMMIT,
	       "the config's budget modes are the arbiter's");

#define CGROUP_PREFIX "cgroup:"

static const char *const budget_mode_words[] = { "strict", "overcommit", NULL };

#define G(key, t, field, text) INIKEY("", key, t, struct config, field, text)
/* A global number that must be more than 0. */
#define G1(key, t, field, text) INIKEY_RANGE("", key, t, struct config, field, 1, 0, text)
#define V(key, t, field, text) INIKEY(NULL, key, t, struct config_vm, field, text)

/*
 * One table for parsing and config_print_defaults(): the docs cannot drift.
 * Defaults are set in config_defaults() and vm_defaults().
 */
/* enum config_driver, in its order. */
static const char *const vm_driver_words[] = { "qmp", "libvirt", "cloud-hypervisor", "firecracker",
						NULL };
_Static_assert(CONFIG_DRIVER_QMP == 0 && CONFIG_DRIVER_LIBVIRT == 1 && CONFIG_DRIVER_CH == 2 &&
		       CONFIG_DRIVER_FC == 3,
	       "vm_driver_words follows enum config_driver");

static const struct inikey global_keys[] = {
	{ .section = "", .name = "budget", .type = INIKEY_SIZE, .flags = INIKEY_AUTO,
	  INIKEY_FIELD(struct config, budget_bytes), .min = 1,
	  .aux_offset = offsetof(struct config, budget_auto),
	  .doc = "Host memory all VMs may hold together, their QEMUs included: a size; auto, host "
		 "MemTotal minus reserve; or cgroup:/PATH, the limit (memory.high, else memory.max) of "
		 "the cgroup that holds the QEMUs, followed at run time." },
	INIKEY_WORDS("", "budget_mode", INIKEY_ENUM, struct config, budget_mode, budget_mode_words,
		     "strict: the VMs' sizes plus what each QEMU holds beyond its guest stay within the "
		     "budget, so the host never swaps for its guests; overcommit: their resident memory "
		     "(RSS) does, sizes may add up to more, host pressure guards the rest."),
	{ .section = "", .name = "overhead", .type = INIKEY_SIZE, .flags = INIKEY_AUTO,
	  INIKEY_FIELD(struct config, overhead_bytes),
	  .aux_offset = offsetof(struct config, overhead_auto),
	  .doc = "What each QEMU holds beyond its guest: auto measures it (RSS above the guest's size, "
		 "smoothed), a size takes that for every VM." },
	G("reserve", INIKEY_SIZE, reserve_bytes,
	  "Memory kept for the host: subtracted when budget is auto; the host is under pressure when "
	  "its MemAvailable falls below it (not with a cgroup budget)."),
	G("host_psi_some", INIKEY_PERCENT, host_psi_some_centi,
	  "Memory PSI some avg10 of the host (or of the budget's cgroup) from which the host is under "
	  "pressure: growth is denied but for critical requests, VMs are asked to give memory back and "
	  "cut after host_pressure_grace."),
	G("host_psi_full", INIKEY_PERCENT, host_psi_full_centi,
	  "The same for PSI full avg10."),
	G1("host_pressure_grace", INIKEY_DURATION, host_pressure_grace_usec,
	   "How long VMs have to give memory back under host pressure before the host cuts them, "
	   "lower weight first, never below min; at most one round of cuts per this long."),
	G("state_file", INIKEY_PATH, state_path,
	  "Where granted sizes are kept across restarts (written atomically)."),
	G("control", INIKEY_PATH, control_path, "Control socket for status, status json and metrics."),
	G1("error_limit", INIKEY_U32, error_limit,
	   "Bad lines a guest may send within error_window before it is disconnected."),
	G1("error_window", INIKEY_DURATION, error_window_usec,
	   "See error_limit."),
	G1("penalty", INIKEY_DURATION, penalty_usec,
	   "How long a disconnected guest channel stays closed before reconnecting."),
	G1("lines_per_wakeup", INIKEY_U32, lines_per_wakeup,
	   "Lines handled per VM per loop iteration, so one guest cannot delay the others."),
	G1("converge_timeout", INIKEY_DURATION, converge_timeout_usec,
	   "A VM that does not approach its target for this long gets its growth cut back to its size."),
	G1("oscillation_hold", INIKEY_DURATION, oscillation_hold_usec,
	   "No growth for this long after a VM shrank (urgent growth excepted; shrinks are never held)."),
	G1("fair_share_grace", INIKEY_DURATION, fair_share_grace_usec,
	   "A VM over its weighted share, asked to give memory back while another VM lacks its share, is cut after this long."),
	G1("demand_window", INIKEY_DURATION, demand_window_usec,
	   "A request counts as the VM's demand for this long after it arrived."),
	G("libvirt", INIKEY_STRING, libvirt_uri,
	  "libvirt URI (e.g. qemu:///system) whose running domains with an org.vmrd.0 channel are managed without a [vm] section."),
	G1("vsock_port", INIKEY_U32, vsock_port,
	   "vsock port guests connect to: the AF_VSOCK listener (VMs with cid) and the hybrid vsock sockets PATH_PORT (VMs with vsock)."),
};

/* The keys of a [vm NAME] section, and of --vm. */
static const struct inikey vm_keys[] = {
	INIKEY_WORDS(NULL, "driver", INIKEY_ENUM, struct config_vm, driver, vm_driver_words,
		     "The hypervisor: qmp (QEMU), cloud-hypervisor or firecracker (their REST API on api); libvirt domains come from discovery."),
	V("api", INIKEY_PATH, api_path, "Cloud Hypervisor (--api-socket) or Firecracker (--api-sock) API unix socket."),
	V("vsock", INIKEY_PATH, vsock_path,
	  "Cloud Hypervisor or Firecracker hybrid vsock socket; the guest's connection arrives at PATH_PORT (port: vsock_port)."),
	INIKEY_RANGE(NULL, "cid", INIKEY_U32, struct config_vm, vsock_cid, 3, UINT32_MAX - 1,
		     "The guest's vsock CID (QEMU vhost-vsock-pci guest-cid): its vmrd connects over AF_VSOCK instead of a channel."),
	V("qmp", INIKEY_PATH, qmp_path, "QMP unix socket QEMU serves (-qmp unix:PATH,server=on,wait=off)."),
	V("channel", INIKEY_PATH, channel_path,
	  "Unix socket of the virtio-serial port org.vmrd.0 (-chardev socket,server=on,wait=off)."),
	V("virtio_mem", INIKEY_STRING, vmem_id, "Id of the virtio-mem device (preferred)."),
	V("balloon", INIKEY_STRING, balloon_id, "Id of the virtio-balloon device (VMs without virtio-mem)."),
	{ .name = "min", .type = INIKEY_SIZE, .flags = INIKEY_REQUIRED, INIKEY_FIELD(struct config_vm, min_bytes),
	  .min = 1, .doc = "Smallest total size the VM is ever given (required)." },
	{ .name = "max", .type = INIKEY_SIZE, .flags = INIKEY_REQUIRED, INIKEY_FIELD(struct config_vm, max_bytes),
	  .min = 1, .doc = "Largest total size the VM is ever given (required)." },
	INIKEY_RANGE(NULL, "weight", INIKEY_U32, struct config_vm, weight, 1, ARBITER_WEIGHT_MAX,
		     "Share of the budget under contention, relative to other VMs."),
	V("virtio_mem_efficiency", INIKEY_PERCENT, vmem_efficiency_centi,
	  "Host memory back per MiB virtio-mem unplugs (99% measured by make bench-mechanisms)."),
	V("balloon_efficiency", INIKEY_PERCENT, balloon_efficiency_centi,
	  "Host memory back per MiB the balloon takes (72% measured); above virtio_mem_efficiency, a VM with both shrinks through the balloon first."),
};

#undef G
#undef G1
#undef V
#define N_GLOBAL_KEYS (sizeof(global_keys) / sizeof(global_keys[0]))
#define N_VM_KEYS (sizeof(vm_keys) / sizeof(vm_keys[0]))

bool config_name_valid(const char *s)
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
	/* The measured cache case (bench/sections/mechanisms.md): the give-back with something to free. */
	vm->vmem_efficiency_centi = 9900;
	vm->balloon_efficiency_centi = 7200;
}

void config_defaults(struct config *cfg)
{
	struct arbiter_config a;

	arbiter_config_defaults(&a);
	memset(cfg, 0, sizeof(*cfg));
	cfg->budget_auto = true;
	cfg->budget_mode = CONFIG_BUDGET_STRICT;
	cfg->overhead_auto = true;
	cfg->reserve_bytes = 1ull << 30;
	/* The arbiter's defaults are the one place these numbers are written. */
	cfg->host_psi_some_centi = a.host_psi_centi;
	cfg->host_psi_full_centi = 500;
	cfg->host_pressure_grace_usec = a.host_pressure_grace_usec;
	snprintf(cfg->state_path, sizeof(cfg->state_path), "/var/lib/vmrd-host/state");
	snprintf(cfg->control_path, sizeof(cfg->control_path), "/run/vmrd-host/control.sock");
	cfg->error_limit = 10;
	cfg->error_window_usec = 10 * 1000000ull;
	cfg->penalty_usec = 5 * 1000000ull;
	cfg->lines_per_wakeup = 16;
	cfg->converge_timeout_usec = 30 * 1000000ull;
	cfg->oscillation_hold_usec = 30 * 1000000ull;
	cfg->fair_share_grace_usec = 10 * 1000000ull;
	cfg->demand_window_usec = 30 * 1000000ull;
	cfg->vsock_port = 5571;
}

void config_free(struct config *cfg)
{
	free(cfg->vms);
	cfg->vms = NULL;
	cfg->n_vms = 0;
	cfg->vms_cap = 0;
}

int config_copy(struct config *dst, const struct config *src)
{
	struct config_vm *vms = NULL;

	if (src->n_vms) {
		vms = malloc(src->n_vms * sizeof(*vms));
		if (!vms)
			return -ENOMEM;
		memcpy(vms, src->vms, src->n_vms * sizeof(*vms));
	}
	free(dst->vms);
	*dst = *src;
	dst->vms = vms;
	dst->vms_cap = src->n_vms;
	return 0;
}

struct config_vm *config_push_vm(struct config *cfg)
{
	if (ARRAY_GROW(cfg->vms, cfg->vms_cap, cfg->n_vms + 1) < 0)
		return NULL;
	return &cfg->vms[cfg->n_vms++];
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
	struct config_vm *vm = config_push_vm(cfg);

	if (!vm)
		return NULL;
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
	if (!config_name_valid(section + 3)) {
		inifile_error_at(&ctx->ini, ctx->ini.section_line,
				 "invalid VM name '%.31s' (1-31 of A-Z a-z 0-9 . _ -)", section + 3);
		return;
	}
	ctx->vm = vm_new(ctx->cfg, section + 3);
	if (!ctx->vm) {
		perr(ctx, "[vm %s]: out of memory", section + 3);
		return;
	}
	snprintf(ctx->vm->origin, sizeof(ctx->vm->origin), "%s:%u", ctx->ini.path, ctx->ini.section_line);
}

static void vm_key(struct parse_ctx *ctx, struct config_vm *vm, const char *name, const char *value)
{
	const struct inikey *k = inikey_find(vm_keys, N_VM_KEYS, NULL, name);

	if (!k) {
		perr(ctx, "unknown key '%s' in [vm %s]", name, vm->name);
		return;
	}
	if (inikey_apply(&ctx->ini, k, vm, value) < 0)
		return;
	vm->has_min |= strcmp(name, "min") == 0;
	vm->has_max |= strcmp(name, "max") == 0;
}

/*
 * budget = cgroup:/PATH, the one value the key table cannot type: the
 * table parses the sizes and auto, and documents all three.
 */
static bool budget_cgroup(struct parse_ctx *ctx, const char *name, const char *value)
{
	struct config *cfg = ctx->cfg;
	const char *path = value + strlen(CGROUP_PREFIX);

	if (strcmp(name, "budget") != 0)
		return false;
	snprintf(cfg->budget_origin, sizeof(cfg->budget_origin), "%s:%u", ctx->ini.path, ctx->ini.line);
	cfg->budget_cgroup[0] = '\0';
	if (strncmp(value, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) != 0)
		return false;
	if (!hostmem_cgroup_path_valid(path) || strlen(path) >= sizeof(cfg->budget_cgroup)) {
		perr(ctx, "budget = '%.*s': expected cgroup:/PATH, an absolute cgroup path without "
		     ". or .. parts", 120, value);
		return true;
	}
	copy_str(cfg->budget_cgroup, sizeof(cfg->budget_cgroup), path);
	cfg->budget_auto = false;
	cfg->budget_bytes = 0;
	return true;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *ctx = user;
	const struct inikey *k;

	if (strcmp(section, ctx->section) != 0)
		enter_section(ctx, section);
	if (section[0] == '\0') {
		if (budget_cgroup(ctx, name, value))
			return 1;
		k = inikey_find(global_keys, N_GLOBAL_KEYS, "", name);
		if (!k)
			perr(ctx, "unknown key '%s'", name);
		else
			inikey_apply(&ctx->ini, k, ctx->cfg, value);
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
	const struct inikey *k;
	char msg[256];

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
		if (!config_name_valid(eq + 1)) {
			fprintf(err, "--vm: invalid VM name '%.31s'\n", eq + 1);
			return false;
		}
		snprintf(vm->name, sizeof(vm->name), "%s", eq + 1);
		return true;
	}
	k = inikey_find(vm_keys, N_VM_KEYS, NULL, tok);
	if (!k) {
		fprintf(err, "--vm: %s: unknown key\n", tok);
		return false;
	}
	if (inikey_set(k, vm, eq + 1, msg, sizeof(msg)) < 0) {
		fprintf(err, "--vm: %s = '%s': %s\n", tok, eq + 1, msg);
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
	struct config_vm vm, *slot;
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
	slot = config_push_vm(cfg);
	if (!slot) {
		fprintf(err, "--vm: %s: out of memory\n", vm.name);
		return -ENOMEM;
	}
	*slot = vm;
	return 0;
}

/*
 * What two VMs may not share, in the order their messages come.  Found by
 * sorting (O(n log n)): a pairwise check took seconds at 10,000 VMs, and a
 * reload runs on the broker's loop.
 */
enum dup_kind { DUP_NAME, DUP_CHANNEL, DUP_QMP, DUP_API, DUP_VSOCK, DUP_CID, DUP_KINDS };

#define DUP_NONE SIZE_MAX

/* A VM's key of that kind as a string, "" when it has none (a cid is printed into buf). */
static const char *dup_key(const struct config_vm *vm, enum dup_kind k, char buf[16])
{
	switch (k) {
	case DUP_NAME: return vm->name;
	case DUP_CHANNEL: return vm->channel_path;
	case DUP_QMP: return vm->qmp_path;
	case DUP_API: return vm->api_path;
	case DUP_VSOCK: return vm->vsock_path;
	default:
		buf[0] = '\0';
		if (vm->vsock_cid)
			snprintf(buf, 16, "%u", vm->vsock_cid);
		return buf;
	}
}

struct dup_entry {
	const char *key;
	size_t idx;
};

static int cmp_dup(const void *a, const void *b)
{
	const struct dup_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * first[k * n + i]: the first VM before VM i with the same key of kind k,
 * DUP_NONE if none.  0 or -ENOMEM.
 */
static int find_dups(const struct config *cfg, size_t *first)
{
	size_t n = cfg->n_vms;
	struct dup_entry *e = malloc((n ? n : 1) * sizeof(*e));
	char (*cids)[16] = malloc((n ? n : 1) * sizeof(*cids));
	int r = -ENOMEM;

	if (!e || !cids)
		goto out;
	for (size_t k = 0; k < DUP_KINDS; k++) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			first[k * n + i] = DUP_NONE;
			e[m] = (struct dup_entry){ dup_key(&cfg->vms[i], (enum dup_kind)k, cids[i]), i };
			m += e[m].key[0] != '\0';
		}
		qsort(e, m, sizeof(*e), cmp_dup);
		for (size_t j = 1, head = 0; j < m; j++) {
			if (strcmp(e[j].key, e[head].key) != 0)
				head = j;
			else
				first[k * n + e[j].idx] = e[head].idx;
		}
	}
	r = 0;
out:
	free(e);
	free(cids);
	return r;
}

static unsigned vm_check(const struct config *cfg, size_t idx, const size_t *first, FILE *err)
{
	static const char *const what[DUP_KINDS] = { "name", "channel", "qmp", "api", "vsock", "cid" };
	const struct config_vm *vm = &cfg->vms[idx];
	struct dup_entry found[DUP_KINDS]; /* what it shares, with whom */
	size_t n_found = 0;
	unsigned errors = 0;

#define VM_ERR(...)                                          \
	do {                                                     \
		fprintf(err, "%s: [vm %s] ", vm->origin, vm->name); \
		fprintf(err, __VA_ARGS__);                           \
		fputc('\n', err);                                    \
		errors++;                                            \
	} while (0)
	if (vm->driver == CONFIG_DRIVER_QMP && vm->qmp_path[0] == '\0')
		VM_ERR("qmp is required");
	if ((vm->driver == CONFIG_DRIVER_CH || vm->driver == CONFIG_DRIVER_FC) && vm->api_path[0] == '\0')
		VM_ERR("api is required with driver %s", vm_driver_words[vm->driver]);
	if (vm->driver == CONFIG_DRIVER_LIBVIRT)
		VM_ERR("driver libvirt is not configured by hand: set libvirt = URI and define the domain there");
	if ((vm->channel_path[0] != '\0') + (vm->vsock_path[0] != '\0') + (vm->vsock_cid != 0) != 1)
		VM_ERR("exactly one of channel, vsock and cid is required");
	if (vm->vmem_id[0] == '\0' && vm->balloon_id[0] == '\0')
		VM_ERR("virtio_mem or balloon is required");
	if (!vm->has_min || !vm->has_max)
		VM_ERR("min and max are required");
	else if (vm->min_bytes > vm->max_bytes)
		VM_ERR("min is larger than max");
	/* By the earlier VM, then by kind: the order a pairwise check would give. */
	for (size_t k = 0; k < DUP_KINDS; k++) {
		size_t f = first[k * cfg->n_vms + idx], at = n_found;

		if (f == DUP_NONE)
			continue;
		for (; at > 0 && found[at - 1].idx > f; at--)
			found[at] = found[at - 1];
		found[at] = (struct dup_entry){ what[k], f };
		n_found++;
	}
	for (size_t i = 0; i < n_found; i++) {
		if (found[i].key == what[DUP_NAME])
			VM_ERR("name already used at %s", cfg->vms[found[i].idx].origin);
		else
			VM_ERR("%s already used by [vm %s]", found[i].key, cfg->vms[found[i].idx].name);
	}
#undef VM_ERR
	return errors;
}

/* Resolve budget = auto or cgroup:/PATH; the number of errors written. */
static unsigned budget_finish(struct config *cfg, const char *label, uint64_t mem_total_bytes,
			      uint64_t limit_bytes, int limit_err, FILE *err)
{
	const char *where = cfg->budget_origin[0] ? cfg->budget_origin : label;

	if (cfg->budget_cgroup[0]) {
		if (limit_err < 0) {
			fprintf(err, "%s: budget cgroup:%s: cannot read its memory limit: %s\n", where,
				cfg->budget_cgroup, strerror(-limit_err));
			return 1;
		}
		if (limit_bytes == HOSTMEM_UNLIMITED || limit_bytes == 0) {
			fprintf(err, "%s: budget cgroup:%s: the cgroup has no memory limit "
				"(memory.high and memory.max are max)\n", where, cfg->budget_cgroup);
			return 1;
		}
		cfg->budget_bytes = limit_bytes;
		return 0;
	}
	if (!cfg->budget_auto)
		return 0;
	if (mem_total_bytes <= cfg->reserve_bytes) {
		fprintf(err, "%s: budget auto: reserve is not below host MemTotal\n", where);
		return 1;
	}
	cfg->budget_bytes = mem_total_bytes - cfg->reserve_bytes;
	return 0;
}

int config_finish(struct config *cfg, const char *label, uint64_t mem_total_bytes,
		  uint64_t limit_bytes, int limit_err, FILE *err)
{
	size_t *first = malloc((cfg->n_vms ? cfg->n_vms : 1) * DUP_KINDS * sizeof(*first));
	unsigned errors = 0;
	uint64_t min_sum = 0;

	if (!first || find_dups(cfg, first) < 0) {
		fprintf(err, "%s: out of memory checking %zu VMs\n", label, cfg->n_vms);
		free(first);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg->n_vms; i++) {
		errors += vm_check(cfg, i, first, err);
		min_sum += cfg->vms[i].min_bytes;
		/* A fixed overhead is known now; a measured one only at run time. */
		if (!cfg->overhead_auto)
			min_sum += cfg->overhead_bytes;
	}
	free(first);
	errors += budget_finish(cfg, label, mem_total_bytes, limit_bytes, limit_err, err);
	/* Every VM is entitled to its min; a budget below their sum cannot be honoured. */
	if (!errors && min_sum > cfg->budget_bytes) {
		fprintf(err, "%s: budget %llu is less than the sum of VM minimums %llu%s\n",
			cfg->budget_origin[0] ? cfg->budget_origin : label,
			(unsigned long long)cfg->budget_bytes, (unsigned long long)min_sum,
			cfg->overhead_auto ? "" : " (with the overhead of each VM)");
		errors++;
	}
	return errors ? -EINVAL : 0;
}

void config_print_defaults(FILE *out)
{
	struct config cfg;
	struct config_vm vm;

	config_defaults(&cfg);
	vm_defaults(&vm);
	fprintf(out, "# vmrd-host.conf: every key with its default value.  Sizes take K, M, G, T\n"
		     "# suffixes; durations us, ms, s, m, h; percentages up to two decimals,\n"
		     "# with or without %%.  See vmrd-host.conf(5).\n\n");
	inikey_print(out, global_keys, N_GLOBAL_KEYS, &cfg);
	fprintf(out, "\n# One section per VM; the name appears in logs, status and metrics.\n"
		     "#[vm NAME]\n");
	inikey_print(out, vm_keys, N_VM_KEYS, &vm);
	fprintf(out, "\n# An example VM, commented out:\n"
		     "#[vm web]\n#qmp = /run/vm/web.qmp\n#channel = /run/vm/web.vmrd\n"
		     "#virtio_mem = vmem0\n#min = 1G\n#max = 8G\n#weight = 100\n");
}
