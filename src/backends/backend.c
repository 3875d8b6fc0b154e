/* SPDX-License-Identifier: MIT */
#include "backends/backend.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/proto.h"

_Static_assert((int)VMRD_URGENCY_LOW == (int)URGENCY_LOW &&
		       (int)VMRD_URGENCY_NORMAL == (int)URGENCY_NORMAL &&
		       (int)VMRD_URGENCY_HIGH == (int)URGENCY_HIGH &&
		       (int)VMRD_URGENCY_CRITICAL == (int)URGENCY_CRITICAL,
	       "the plugin ABI's urgencies must equal the core's; map them here if they ever part");

uint32_t backend_urgency_to_abi(enum urgency urgency)
{
	return (unsigned)urgency <= URGENCY_CRITICAL ? (uint32_t)urgency : VMRD_URGENCY_NORMAL;
}

enum urgency backend_urgency_from_abi(uint32_t urgency)
{
	return urgency <= URGENCY_CRITICAL ? (enum urgency)urgency : URGENCY_NORMAL;
}

#define BACKEND_TABLE_ENTRY(name) &backend_##name##_ops,
static const struct vmrd_backend_ops *const backend_table[] = {
	BACKEND_BUILTINS(BACKEND_TABLE_ENTRY)
};
#undef BACKEND_TABLE_ENTRY

const struct vmrd_backend_ops *backend_lookup(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(backend_table) / sizeof(backend_table[0]); i++)
		if (strcmp(backend_table[i]->name, name) == 0)
			return backend_table[i];
	return NULL;
}

const struct vmrd_backend_ops *backend_builtin(unsigned i)
{
	if (i >= sizeof(backend_table) / sizeof(backend_table[0]))
		return NULL;
	return backend_table[i];
}

static __thread char backend_errbuf[512];
static __thread bool backend_err_set;

const char *backend_last_error(void)
{
	return backend_err_set ? backend_errbuf : NULL;
}

void backend_set_last_error(const char *fmt, ...)
{
	va_list ap;

	if (!fmt) {
		backend_err_set = false;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(backend_errbuf, sizeof(backend_errbuf), fmt, ap);
	va_end(ap);
	backend_err_set = true;
}

int backend_plugin_load(const char *path, const struct vmrd_backend_ops **ret_ops,
			void **ret_handle, const char **ret_errmsg)
{
	static __thread char msg[512];
	const struct vmrd_backend_ops *ops;
	vmrd_backend_plugin_init_fn init;
	void *handle = NULL;
	char fdpath[32];
	int fd, r;

	/* Check before dlopen(): that already runs the plugin's constructors. */
	fd = plugin_open_trusted(path, msg, sizeof(msg));
	if (fd < 0) {
		r = fd;
		goto out;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	handle = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		r = -ELIBBAD;
		snprintf(msg, sizeof(msg), "plugin \"%s\": cannot load: %s", path, dlerror());
		goto out;
	}
	/* The POSIX-blessed way to turn a data pointer into a function pointer. */
	*(void **)&init = dlsym(handle, VMRD_BACKEND_PLUGIN_SYMBOL);
	if (!init) {
		r = -ELIBBAD;
		snprintf(msg, sizeof(msg), "plugin \"%s\": no %s symbol; not a vmrd backend plugin",
			 path, VMRD_BACKEND_PLUGIN_SYMBOL);
		goto out;
	}
	ops = init(VMRD_BACKEND_ABI_VERSION);
	if (!ops) {
		r = -EPROTONOSUPPORT;
		snprintf(msg, sizeof(msg), "plugin \"%s\": refuses vmrd backend ABI version %u",
			 path, VMRD_BACKEND_ABI_VERSION);
		goto out;
	}
	if (ops->abi_version != VMRD_BACKEND_ABI_VERSION) {
		r = -EPROTONOSUPPORT;
		snprintf(msg, sizeof(msg),
			 "plugin \"%s\": built for backend ABI version %u, vmrd speaks version %u; rebuild it against this vmrd",
			 path, ops->abi_version, VMRD_BACKEND_ABI_VERSION);
		goto out;
	}
	if (!ops->name || !ops->open || !ops->query || !ops->request || !ops->fd ||
	    !ops->next_event || !ops->close) {
		r = -EINVAL;
		snprintf(msg, sizeof(msg), "plugin \"%s\": its operations table lacks a mandatory operation",
			 path);
		goto out;
	}
	*ret_ops = ops;
	*ret_handle = handle;
	handle = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (handle)
		dlclose(handle);
	if (r < 0 && ret_errmsg)
		*ret_errmsg = msg;
	return r;
}

void backend_plugin_unload(void *handle)
{
	if (handle)
		dlclose(handle);
}

const char *backend_config(const struct vmrd_backend_env *env, const char *key)
{
	return env->config_get ? env->config_get(env->config_ctx, key) : NULL;
}

int backend_config_size(const struct vmrd_backend_env *env, const char *who, const char *key,
			uint64_t *ret)
{
	const char *v = backend_config(env, key);

	if (!v)
		return 0;
	if (parse_size(v, ret) < 0) {
		backend_set_last_error("%s: bad %s \"%s\"", who, key, v);
		return -EINVAL;
	}
	return 1;
}

int backend_config_duration(const struct vmrd_backend_env *env, const char *who, const char *key,
			    uint64_t *ret)
{
	const char *v = backend_config(env, key);
	uint64_t usec;

	if (!v)
		return 0;
	if (parse_duration_usec(v, &usec) < 0 || usec == 0) {
		backend_set_last_error("%s: bad %s \"%s\"", who, key, v);
		return -EINVAL;
	}
	*ret = usec;
	return 1;
}

void backend_errno_reason(int negative_errno, char *buf, unsigned size)
{
	const char *name = strerrorname_np(-negative_errno);
	unsigned i;

	if (size == 0)
		return;
	if (!name)
		name = "error";
	for (i = 0; name[i] && i + 1 < size; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[i] = '\0';
}
