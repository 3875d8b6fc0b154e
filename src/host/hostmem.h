/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_HOSTMEM_H
#define VMRD_HOST_HOSTMEM_H

/*
 * The memory the VMs live in: the host as a whole (MemTotal, MemAvailable,
 * /proc/pressure/memory) or the cgroup that holds their QEMUs, as on a
 * libvirt or systemd host (budget = cgroup:/machine.slice).  A thin reader
 * relative to an injected root, over pure parsers.
 *
 * A cgroup is read where the kernel keeps it:
 *  - cgroup v2 (sys/fs/cgroup/PATH): memory.max, memory.high, memory.current,
 *    memory.pressure;
 *  - a hybrid host, the memory controller on v1 (sys/fs/cgroup/memory/PATH:
 *    memory.limit_in_bytes, memory.usage_in_bytes) and pressure from the
 *    unified v2 tree (sys/fs/cgroup/unified/PATH/memory.pressure), where
 *    PSI is kept for every cgroup whatever controller it has.
 * The limit is the lower of memory.high (where the kernel starts throttling
 * and reclaiming) and memory.max.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTMEM_UNLIMITED UINT64_MAX

struct hostmem {
	uint64_t limit_bytes;      /* the cgroup's limit; the host's MemTotal */
	uint64_t usage_bytes;      /* memory.current / usage_in_bytes; MemTotal - MemAvailable */
	uint64_t available_bytes;  /* limit - usage; the host's MemAvailable */
	bool has_psi;
	uint32_t psi_some_avg10_centi;
	uint32_t psi_full_avg10_centi;
	bool cgroup_v1;            /* read from the v1 memory controller (hybrid host) */
};

/*
 * A cgroup limit file: a number of bytes, or "max" (v2) -- HOSTMEM_UNLIMITED,
 * as is the v1 "no limit" value (PAGE_COUNTER_MAX pages, above 2^62).
 * -EINVAL for anything else.
 */
int hostmem_parse_limit(const char *buf, size_t len, uint64_t *ret);

/* cgroup is an absolute path below the cgroup root ("/machine.slice").  -ENOENT: no such cgroup. */
int hostmem_read_cgroup(int rootfd, const char *cgroup, struct hostmem *ret);

/* The host: proc/meminfo and proc/pressure/memory. */
int hostmem_read_host(int rootfd, struct hostmem *ret);

/* A cgroup path as the budget key takes it: absolute, no "." or ".." parts, no "//". */
bool hostmem_cgroup_path_valid(const char *path);

#endif
