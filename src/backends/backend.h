/* SPDX-License-Identifier: MIT */
#ifndef VMRD_BACKENDS_BACKEND_H
#define VMRD_BACKENDS_BACKEND_H

/*
 * The daemon's side of include/vmrd/backend.h: the registry of built-in
 * backends, the loader of plugin shared objects, their configuration keys
 * and the crossing between the ABI's urgency and the core's.  Backends
 * whose operation is slow and synchronous use common/worker.h.
 *
 * All built-in backends return a descriptor from fd() that stays the same
 * from open() to close(), so the daemon may register it once.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/urgency.h"
#include "vmrd/backend.h"

/*
 * The core has one urgency, enum urgency (core/urgency.h); the plugin ABI
 * keeps its own numbers (enum vmrd_urgency) so that the core can change
 * without breaking plugins.  They are the same today, and backend.c checks
 * that at compile time; these two are the only crossing.  An ABI value out
 * of range is taken as normal.
 */
uint32_t backend_urgency_to_abi(enum urgency urgency);
enum urgency backend_urgency_from_abi(uint32_t urgency);

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
 * Load a plugin: check it with plugin_open_trusted() (before dlopen, which
 * runs its constructors), dlopen() it, call its VMRD_BACKEND_PLUGIN_SYMBOL with our
 * ABI version and check the table it returns.  On failure *ret_errmsg (and
 * only it) is set to a sentence naming the plugin and the problem, in a
 * per-thread buffer that stays valid until the next failing call; the
 * daemon logs it.  Errors: -ELIBBAD (not loadable, or no init symbol),
 * -EPROTONOSUPPORT (NULL table or another ABI version), -EINVAL (a
 * mandatory operation is missing), or the errno of opening the file.
 */
int backend_plugin_load(const char *path, const struct vmrd_backend_ops **ret_ops,
			void **ret_handle, const char **ret_errmsg);

/*
 * Open a plugin file for loading (plugin.c), only if the file and every
 * directory on its resolved path belong to root (or the effective uid) and
 * are not writable by group or others; checked on the opened descriptors,
 * so load the returned fd (/proc/self/fd/N), not the path.  Returns the fd,
 * or -EPERM (a bad owner or mode), -EINVAL (not a regular file) or the errno
 * of resolving or opening, with a sentence naming the path, the owner and
 * the mode in msg.
 */
int plugin_open_trusted(const char *path, char *msg, size_t size);
void backend_plugin_unload(void *handle);

/*
 * Why the last open() of a built-in backend on this thread failed, when it
 * has more to say than an errno (the "plugin" backend puts the loader's
 * message here), or NULL.  Cleared by each open().
 */
const char *backend_last_error(void);
void backend_set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
