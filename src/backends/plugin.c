/* SPDX-License-Identifier: MIT */
/*
 * The "plugin" backend: loads the shared object named by the [plugin] key
 * `path` and forwards every operation to the table it exports.  The plugin
 * sees the same environment, so its own keys come from [plugin] too.  When
 * loading fails, open() returns the loader's errno and leaves its sentence
 * in backend_last_error() for the daemon to log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/backend.h"

/*
 * A plugin's code runs in vmrd as root, and its constructors run inside
 * dlopen(), before any ABI check: whoever can write the file, or replace
 * it through any directory above it, owns the guest.  So the file and
 * every directory on its resolved path must belong to root or to us and
 * be writable by nobody else.  The walk holds a descriptor on each
 * directory and opens the next component with O_NOFOLLOW below it, and
 * the loader dlopen()s the very file checked (through /proc/self/fd), so a
 * rename between the check and the load changes nothing.  A sticky
 * directory of root's or ours (/tmp) is trusted above the plugin's own
 * directory: others may add entries to it but not rename or remove ours,
 * and whatever they add fails the owner check when the walk reaches it.
 */
static int plugin_check_stat(const struct stat *st, bool ancestor, const char *path,
			     const char *what, const char *obj, char *msg, size_t size)
{
	uid_t me = geteuid();
	bool owner = st->st_uid == 0 || st->st_uid == me;

	if (owner && !(st->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	if (owner && ancestor && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return 0;
	snprintf(msg, size,
		 "plugin \"%s\": refused: %s %s is owned by uid %u with mode %04o; it must belong to "
		 "root%s and not be writable by group or others",
		 path, what, obj, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777),
		 me == 0 ? "" : " or to the user vmrd runs as");
	return -EPERM;
}

/*
 * Opens the next component below dirfd without following a link; fstat()s
 * and checks it.  ancestor: a directory above the plugin's own.
 */
static int plugin_step(int dirfd, const char *name, bool last, bool ancestor, const char *path,
		       const char *obj, char *msg, size_t size)
{
	int flags = O_CLOEXEC | O_NOFOLLOW | (last ? O_RDONLY : O_PATH | O_DIRECTORY);
	struct stat st;
	int fd, r;

	fd = openat(dirfd, name, flags);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(msg, size, "plugin \"%s\": %s: %s", path, obj, strerror(errno));
		goto out;
	}
	if (last && !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(msg, size, "plugin \"%s\": not a regular file", path);
		goto out;
	}
	r = plugin_check_stat(&st, ancestor, path, last ? "file" : "directory", obj, msg, size);
out:
	if (r < 0 && fd >= 0)
		close(fd);
	return r < 0 ? r : fd;
}

int plugin_open_trusted(const char *path, char *msg, size_t size)
{
	char *real, *name, *slash;
	int dirfd, fd;

	real = realpath(path, NULL);
	if (!real) {
		fd = -errno;
		snprintf(msg, size, "plugin \"%s\": %s", path, strerror(errno));
		return fd;
	}
	/*
	 * real is absolute and canonical (no ".", "..", links or doubled
	 * slashes); cut at each slash, it names the directory being checked.
	 */
	fd = plugin_step(AT_FDCWD, "/", false, strchr(real + 1, '/') != NULL, path, "/", msg, size);
	for (name = real + 1; fd >= 0; name = slash + 1) {
		dirfd = fd;
		slash = strchr(name, '/');
		if (slash)
			*slash = '\0';
		fd = plugin_step(dirfd, name, !slash, slash && strchr(slash + 1, '/'), path, real, msg,
				 size);
		close(dirfd);
		if (!slash)
			break;
		*slash = '/';
	}
	free(real);
	return fd;
}

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
