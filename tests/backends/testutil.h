/* SPDX-License-Identifier: MIT */
#ifndef VMRD_TESTS_BACKENDS_TESTUTIL_H
#define VMRD_TESTS_BACKENDS_TESTUTIL_H

#include <stddef.h>

#include "vmrd/backend.h"

/* Copy the fixture tree tests/data/backends/<name> into a fresh temp dir; returns its path. */
char *testutil_tree_copy(const char *name);
void testutil_tree_remove(char *dir);
/* A directory fd for a tree path, as the daemon's rootfd. */
int testutil_open_dir(const char *dir);

/* Read a file under dir into buf (NUL-terminated); the length or -errno. */
int testutil_read(const char *dir, const char *rel, char *buf, size_t size);

/* A tiny [backend] section for env->config_get: NULL-terminated key, value pairs. */
struct testutil_config {
	const char *kv[32];
};
const char *testutil_config_get(void *ctx, const char *key);

/*
 * Drive a backend the way the daemon does: call next_event, and while it
 * has nothing, poll its fd.  Returns 1 with an event, 0 when timeout_ms
 * passed without one (so a bug fails the test instead of hanging it).
 */
int testutil_wait_event(const struct vmrd_backend_ops *ops, void *state,
			struct vmrd_backend_event *ret, int timeout_ms);

#endif
