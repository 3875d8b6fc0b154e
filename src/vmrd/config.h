/* SPDX-License-Identifier: MIT */
#ifndef VMRD_CONFIG_H
#define VMRD_CONFIG_H

/*
 * vmrd.conf: INI, parsed by inih against one key table (config.c) that
 * also documents every key and its default.  A config is parsed into a new
 * struct and only swapped in when it is valid, so SIGHUP cannot leave the
 * daemon half-configured.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/policy.h"

#define CONFIG_PATH_MAX 256
#define CONFIG_KV_MAX 32
/* Room for this many keys in the key table (config.c checks it at compile time). */
#define CONFIG_KEYS_MAX 128

/* Free-form keys of [backend] and [plugin], handed to the backend as they are. */
struct config_kv {
	char key[48];
	char value[CONFIG_PATH_MAX];
	unsigned line;
};

struct vmrd_config {
	struct policy_config policy;

	char backend[32];        /* host, sysfs, exec, plugin */
	uint64_t interval_usec;  /* sampling period when calm */
	uint64_t fast_interval_usec; /* while under pressure or growing */
	uint64_t report_interval_usec;
	char control_path[CONFIG_PATH_MAX];
	bool mlock;
	int oom_score_adj;
	/* Guest-side bounds, intersected with the backend's (0: none). */
	uint64_t min_bytes;
	uint64_t max_bytes;

	char psi_path[CONFIG_PATH_MAX];   /* relative to the root */
	uint64_t psi_some_stall_usec;
	uint64_t psi_full_stall_usec;
	uint64_t psi_window_usec;
	char cgroup_path[CONFIG_PATH_MAX]; /* cgroup v2 dir whose memory.reclaim is written */
	uint64_t reclaim_timeout_usec;     /* a trim running longer is interrupted */
	bool sandbox;                      /* drop privileges and filter system calls after start */

	/* The line each key of the key table was set on (0: default), for errors. */
	uint16_t key_line[CONFIG_KEYS_MAX];

	struct config_kv backend_kv[CONFIG_KV_MAX];
	size_t n_backend_kv;
	struct config_kv plugin_kv[CONFIG_KV_MAX];
	size_t n_plugin_kv;
};

void config_defaults(struct vmrd_config *cfg);

/*
 * Parse a file over the defaults.  Every problem is written to err as one
 * "file:line: message" line; returns 0, -EINVAL (problems were written) or
 * another negative errno (the file could not be read).
 */
int config_load(const char *path, struct vmrd_config *cfg, FILE *err);
/* The same over an open stream; path is only used in messages. */
int config_load_stream(FILE *file, const char *path, struct vmrd_config *cfg, FILE *err);

/* Consistency checks across keys; writes "file: message" lines to err. */
int config_validate(const struct vmrd_config *cfg, const char *path, FILE *err);

/* The value of a [backend] (or [plugin]) key, or NULL. */
const char *config_backend_get(void *cfg, const char *key);
const char *config_plugin_get(void *cfg, const char *key);

/* Print a complete example config: every key, its default and what it means. */
void config_print_defaults(FILE *out);

#endif
