/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_CONFIG_H
#define VMRD_HOST_CONFIG_H

/*
 * vmrd-host.conf: INI parsed by inih against one key table (config.c) that
 * also documents every key and its default.  A global section, then one
 * [vm NAME] section per VM.  The same VM keys are accepted on the command
 * line (--vm name=NAME,qmp=PATH,...), so a broker can run without a file.
 *
 * Every problem is written to an error stream as one "file:line: message"
 * line; SIGHUP parses into a new struct and swaps only when it is valid.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_NAME_MAX 32
#define CONFIG_PATH_MAX 108 /* sun_path: every path here may be a unix socket */
#define CONFIG_ID_MAX 64

/* The hypervisor behind a VM (vm_driver_words in config.c follows this order). */
enum config_driver {
	CONFIG_DRIVER_QMP,      /* QEMU's QMP socket */
	CONFIG_DRIVER_LIBVIRT,  /* a libvirt domain (found by discovery) */
	CONFIG_DRIVER_CH,       /* Cloud Hypervisor's REST API */
	CONFIG_DRIVER_FC,       /* Firecracker's REST API */
};

struct config_vm {
	char name[CONFIG_NAME_MAX];
	enum config_driver driver;
	char api_path[CONFIG_PATH_MAX];  /* CH/FC: the API unix socket */
	/* CH/FC: the hybrid vsock unix socket; the guest's connections arrive at PATH_PORT. */
	char vsock_path[CONFIG_PATH_MAX];
	uint32_t vsock_cid;              /* QEMU vhost-vsock: the guest's CID (0: none) */
	char qmp_path[CONFIG_PATH_MAX];
	char channel_path[CONFIG_PATH_MAX];
	char vmem_id[CONFIG_ID_MAX];    /* virtio-mem device id, "" if none */
	char balloon_id[CONFIG_ID_MAX]; /* virtio-balloon device id, "" if none */
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint32_t weight;
	/* Host memory back per MiB given up, hundredths of a percent (bench-mechanisms). */
	uint32_t vmem_efficiency_centi;
	uint32_t balloon_efficiency_centi;
	/* Where it was defined, for messages: "file:line" or "--vm". */
	char origin[CONFIG_PATH_MAX + 16];
	bool has_min;
	bool has_max;
};

/* What the budget limits; the values of enum arbiter_budget_mode. */
enum config_budget_mode {
	CONFIG_BUDGET_STRICT = 0,
	CONFIG_BUDGET_OVERCOMMIT,
};

struct config {
	/*
	 * The host memory the VMs may hold.  0 with budget_auto: host MemTotal
	 * - reserve, resolved at load.  With budget_cgroup set: the limit of
	 * that cgroup (the lower of memory.high and memory.max), resolved at
	 * load and followed at run time.
	 */
	uint64_t budget_bytes;
	bool budget_auto;
	char budget_cgroup[CONFIG_PATH_MAX];
	char budget_origin[CONFIG_PATH_MAX + 16]; /* "file:line" of the budget key, for messages */
	enum config_budget_mode budget_mode;
	/* QEMU's own memory per VM: measured (overhead_auto), or this much for every VM. */
	uint64_t overhead_bytes;
	bool overhead_auto;
	uint64_t reserve_bytes;
	/* Host (or budget cgroup) memory PSI avg10 at or above which the host is under pressure. */
	uint32_t host_psi_some_centi;
	uint32_t host_psi_full_centi;
	/* A VM asked to give memory back for host pressure is cut after this. */
	uint64_t host_pressure_grace_usec;
	char state_path[CONFIG_PATH_MAX];
	char control_path[CONFIG_PATH_MAX];
	/* A guest sending more than error_limit bad lines within error_window is disconnected. */
	uint32_t error_limit;
	uint64_t error_window_usec;
	/* How long a disconnected (misbehaving) guest channel stays closed. */
	uint64_t penalty_usec;
	/* Maximum lines handled per VM per loop iteration: one guest cannot starve the rest. */
	uint32_t lines_per_wakeup;
	/* A VM whose size does not move toward its target for this long is not converging. */
	uint64_t converge_timeout_usec;
	/* Arbiter timing: see docs/protocol.md, "Host side behaviour". */
	uint64_t oscillation_hold_usec;
	uint64_t fair_share_grace_usec;
	uint64_t demand_window_usec;
	/* libvirt URI whose running domains are discovered (empty: none). */
	char libvirt_uri[CONFIG_PATH_MAX];
	/* The vsock port guests connect to (AF_VSOCK listener, hybrid vsock sockets). */
	uint32_t vsock_port;

	/* The VMs, as many as given (common/array.h): the config owns them, see config_free(). */
	struct config_vm *vms;
	size_t n_vms;
	size_t vms_cap;
};

/* An empty configuration with every default (cfg's old VMs are not freed: see config_free). */
void config_defaults(struct config *cfg);

/* Free the VM list; cfg is then empty of VMs, its other settings kept. */
void config_free(struct config *cfg);

/* dst = a copy of src with its own VM list (dst's old one is freed).  0 or -ENOMEM (dst unchanged). */
int config_copy(struct config *dst, const struct config *src);

/* Room for one more VM at cfg->vms[cfg->n_vms], zeroed; NULL when out of memory. */
struct config_vm *config_push_vm(struct config *cfg);

/* A VM name: 1 to CONFIG_NAME_MAX - 1 of A-Z a-z 0-9 . _ - (pure). */
bool config_name_valid(const char *s);

/*
 * Parse a file over cfg.  Returns 0, -EINVAL (problems were written to
 * err) or another negative errno (the file could not be read).
 */
int config_load(const char *path, struct config *cfg, FILE *err);

/* Add a VM from "name=NAME,qmp=PATH,..." as given to --vm. */
int config_add_vm_arg(struct config *cfg, const char *arg, FILE *err);

/*
 * Cross-key checks (min <= max, a device per VM, unique names and
 * sockets) and resolution of the budget: budget=auto from
 * mem_total_bytes, budget=cgroup:PATH from limit_bytes (the cgroup's
 * limit as read; limit_err < 0 when it could not be read, and why).
 * label names the source in messages (the file, or "command line").
 */
int config_finish(struct config *cfg, const char *label, uint64_t mem_total_bytes,
		  uint64_t limit_bytes, int limit_err, FILE *err);

/* Print an example config: every key, its default and what it means. */
void config_print_defaults(FILE *out);

#endif
