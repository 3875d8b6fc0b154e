/* SPDX-License-Identifier: MIT */
#ifndef VMRD_BACKENDS_BACKEND_H
#define VMRD_BACKENDS_BACKEND_H

/*
 * The daemon's side of include/vmrd/backend.h: the registry of built-in
 * backends, the loader of plugin shared objects, and a worker thread for
 * backends whose operation is slow and synchronous.
 *
 * All built-in backends return a descriptor from fd() that stays the same
 * from open() to close(), so the daemon may register it once.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vmrd/backend.h"

/*
 * The built-in backends.  Adding one is this one line plus its source file
 * in src/backends/meson.build; it defines `backend_<name>_ops`.
 */
#define BACKEND_BUILTINS(X) \
	X(host)             \
	X(sysfs)            \
	X(exec)             \
	X(plugin)

#define BACKEND_DECLARE_OPS(name) extern const struct vmrd_backend_ops backend_##name##_ops;
BACKEND_BUILTINS(BACKEND_DECLARE_OPS)
#undef BACKEND_DECLARE_OPS

/* The built-in backend called name, or NULL. */
const struct vmrd_backend_ops *backend_lookup(const char *name);

/* The i-th built-in backend (for listing them), or NULL past the end. */
const struct vmrd_backend_ops *backend_builtin(unsigned i);

/*
 * Load a plugin: dlopen(path), call its VMRD_BACKEND_PLUGIN_SYMBOL with our
 * ABI version and check the table it returns.  On failure *ret_errmsg (and
 * only it) is set to a sentence naming the plugin and the problem, in a
 * per-thread buffer that stays valid until the next failing call; the
 * daemon logs it.  Errors: -ELIBBAD (not loadable, or no init symbol),
 * -EPROTONOSUPPORT (NULL table or another ABI version), -EINVAL (a
 * mandatory operation is missing), or the errno of opening the file.
 */
int backend_plugin_load(const char *path, const struct vmrd_backend_ops **ret_ops,
			void **ret_handle, const char **ret_errmsg);
void backend_plugin_unload(void *handle);

/*
 * Why the last open() of a built-in backend on this thread failed, when it
 * has more to say than an errno (the "plugin" backend puts the loader's
 * message here), or NULL.  Cleared by each open().
 */
const char *backend_last_error(void);
void backend_set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A single background thread that runs one job at a time and signals its
 * end through an eventfd.  The backend stores the job's inputs in its own
 * state before backend_worker_start() and reads the outputs after
 * backend_worker_collect() returned 1; the worker's mutex orders both.
 * The thread blocks all signals, so they keep going to the daemon's
 * signalfd, and has a small stack, so mlockall() does not pin megabytes.
 */
struct backend_worker;

int backend_worker_new(void (*job)(void *arg), void *arg, struct backend_worker **ret);
/* Readable when a job has finished. */
int backend_worker_fd(const struct backend_worker *w);
/* Start the job; -EBUSY while the previous one runs or is not collected. */
int backend_worker_start(struct backend_worker *w);
/* 1 when the job finished (and now counts as collected), 0 while it runs or none was started. */
int backend_worker_collect(struct backend_worker *w);
bool backend_worker_busy(const struct backend_worker *w);
/* Waits for a running job to finish. */
void backend_worker_free(struct backend_worker *w);

/*
 * Configuration keys of a backend.  backend_config() is the value of key or
 * NULL.  The typed readers leave *ret untouched and return 0 when the key is
 * not set, 1 when it was read, and -EINVAL when it is malformed (a duration
 * of 0 counts as malformed), with backend_last_error() naming the backend
 * (who), the key and the value.
 */
const char *backend_config(const struct vmrd_backend_env *env, const char *key);
int backend_config_size(const struct vmrd_backend_env *env, const char *who, const char *key,
			uint64_t *ret);
int backend_config_duration(const struct vmrd_backend_env *env, const char *who, const char *key,
			    uint64_t *ret);

/* A short lowercase word for an errno ("ebusy"), for event reasons. */
void backend_errno_reason(int negative_errno, char *buf, unsigned size);

#endif
