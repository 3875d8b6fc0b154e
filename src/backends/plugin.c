/* SPDX-License-Identifier: MIT */
/*
 * The "plugin" backend: loads the shared object named by the [plugin] key
 * `path` and forwards every operation to the table it exports.  The plugin
 * sees the same environment, so its own keys come from [plugin] too.  When
 * loading fails, open() returns the loader's errno and leaves its sentence
 * in backend_last_error() for the daemon to log.
 */
#include <errno.h>
#include <stdlib.h>

#include "backends/backend.h"

struct plugin_backend {
	void *handle;
	const struct vmrd_backend_ops *ops;
	void *inner;
};

static int plugin_open(const struct vmrd_backend_env *env, void **ret_state)
{
	struct plugin_backend *p;
	const char *path, *msg = NULL;
	int r;

	backend_set_last_error(NULL);
	path = env->config_get ? env->config_get(env->config_ctx, "path") : NULL;
	if (!path || !*path) {
		backend_set_last_error("plugin: no path configured in [plugin]");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	r = backend_plugin_load(path, &p->ops, &p->handle, &msg);
	if (r < 0) {
		backend_set_last_error("%s", msg);
		goto fail;
	}
	r = p->ops->open(env, &p->inner);
	if (r < 0) {
		if (!backend_last_error())
			backend_set_last_error("plugin \"%s\" (%s): open failed", path, p->ops->name);
		goto fail;
	}
	*ret_state = p;
	return 0;
fail:
	backend_plugin_unload(p->handle);
	free(p);
	return r;
}

static int plugin_query(void *state, struct vmrd_backend_info *ret_info)
{
	struct plugin_backend *p = state;

	return p->ops->query(p->inner, ret_info);
}

static int plugin_request(void *state, const struct vmrd_backend_request *req)
{
	struct plugin_backend *p = state;

	return p->ops->request(p->inner, req);
}

static int plugin_fd(void *state)
{
	struct plugin_backend *p = state;

	return p->ops->fd(p->inner);
}

static int plugin_next_event(void *state, struct vmrd_backend_event *ret_event)
{
	struct plugin_backend *p = state;

	return p->ops->next_event(p->inner, ret_event);
}

static void plugin_report(void *state, const struct vmrd_backend_report *report)
{
	struct plugin_backend *p = state;

	if (p->ops->report)
		p->ops->report(p->inner, report);
}

static int plugin_releasable(void *state, uint64_t *ret_bytes)
{
	struct plugin_backend *p = state;

	if (!p->ops->releasable)
		return -EOPNOTSUPP;
	return p->ops->releasable(p->inner, ret_bytes);
}

static void plugin_close(void *state)
{
	struct plugin_backend *p = state;

	if (!p)
		return;
	p->ops->close(p->inner);
	backend_plugin_unload(p->handle);
	free(p);
}

/*
 * report and releasable are always present here and say -EOPNOTSUPP (or do
 * nothing) when the plugin lacks them; the daemon treats both as "unknown".
 */
const struct vmrd_backend_ops backend_plugin_ops = {
	.abi_version = VMRD_BACKEND_ABI_VERSION,
	.name = "plugin",
	.open = plugin_open,
	.query = plugin_query,
	.request = plugin_request,
	.fd = plugin_fd,
	.next_event = plugin_next_event,
	.report = plugin_report,
	.close = plugin_close,
	.releasable = plugin_releasable,
};
