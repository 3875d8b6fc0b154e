/* SPDX-License-Identifier: MIT */
/*
 * An example vmrd backend plugin, and a template for real ones.
 *
 * It pretends to be a memory provider: it keeps the guest's size in memory
 * and "resizes" it to whatever it is asked, within its bounds.  Requests
 * complete asynchronously, the way a provider that talks to a hypervisor
 * would: request() only records the work and signals an eventfd; the
 * daemon sees fd() readable and calls next_event(), which finishes the job
 * and delivers the VMRD_BACKEND_EV_DONE event.
 *
 * It uses only the public header, libc and no vmrd library, as a plugin
 * built outside the vmrd tree must.  With libvmrd-dev installed (which
 * ships this file as /usr/share/doc/libvmrd-dev/examples/example.c), build
 * it as a shared object:
 *
 *   cc -shared -fPIC $(pkg-config --cflags vmrd-backend) \
 *      -o vmrd-backend-example.so example.c
 *
 * install it where vmrd can read it, e.g.
 *
 *   install -D -m 0644 vmrd-backend-example.so /usr/local/lib/vmrd/vmrd-backend-example.so
 *
 * and point vmrd.conf (/etc/vmrd/vmrd.conf) at it:
 *
 *   [vmrd]
 *   backend = plugin
 *   [plugin]
 *   path = /usr/local/lib/vmrd/vmrd-backend-example.so
 *   min = 512M
 *   max = 8G
 *   block = 128M
 *   initial = 1G
 *
 * Keys (sizes take K, M, G, T suffixes): min (default 256M), max (4G),
 * block (128M), initial (the size it starts with; default min).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmrd/backend.h"

struct example {
	uint64_t size_bytes;
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint64_t block_bytes;
	int efd;
	bool pending;
	struct vmrd_backend_request req;
};

/* Plugins cannot rely on vmrd's parsers; this one is strict enough for an example. */
static int example_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0': shift = 0; break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: return -EINVAL;
	}
	if (*p && p[1] != '\0')
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

static int example_key(const struct vmrd_backend_env *env, const char *key, uint64_t def,
		       uint64_t *ret)
{
	const char *v = env->config_get ? env->config_get(env->config_ctx, key) : NULL;

	if (!v) {
		*ret = def;
		return 0;
	}
	return example_parse_size(v, ret);
}

static int example_open(const struct vmrd_backend_env *env, void **ret_state)
{
	struct example *e;
	uint64_t initial;
	int r;

	if (env->abi_version != VMRD_BACKEND_ABI_VERSION)
		return -EPROTONOSUPPORT;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->efd = -1;
	if ((r = example_key(env, "min", 256ull << 20, &e->min_bytes)) < 0 ||
	    (r = example_key(env, "max", 4ull << 30, &e->max_bytes)) < 0 ||
	    (r = example_key(env, "block", 128ull << 20, &e->block_bytes)) < 0 ||
	    (r = example_key(env, "initial", e->min_bytes, &initial)) < 0)
		goto fail;
	if (e->block_bytes == 0 || e->min_bytes > e->max_bytes || initial < e->min_bytes ||
	    initial > e->max_bytes) {
		r = -EINVAL;
		goto fail;
	}
	e->size_bytes = initial;
	e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->efd < 0) {
		r = -errno;
		goto fail;
	}
	*ret_state = e;
	return 0;
fail:
	free(e);
	return r;
}

static int example_query(void *state, struct vmrd_backend_info *ret_info)
{
	struct example *e = state;

	ret_info->current_bytes = e->size_bytes;
	ret_info->min_bytes = e->min_bytes;
	ret_info->max_bytes = e->max_bytes;
	ret_info->block_bytes = e->block_bytes;
	return 0;
}

static int example_request(void *state, const struct vmrd_backend_request *req)
{
	struct example *e = state;
	uint64_t one = 1;

	if (e->pending)
		return -EBUSY;
	e->req = *req;
	e->pending = true;
	/* A real provider would send its message here and let the reply wake fd(). */
	if (write(e->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return -errno;
	return 0;
}

static int example_fd(void *state)
{
	struct example *e = state;

	return e->efd;
}

static int example_next_event(void *state, struct vmrd_backend_event *ret_event)
{
	struct example *e = state;
	struct vmrd_backend_event ev;
	uint64_t n, target;
	const char *reason = "ok";

	if (!e->pending || read(e->efd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return 0;
	/* Round to whole blocks, then keep within the bounds. */
	target = e->req.target_bytes - e->req.target_bytes % e->block_bytes;
	if (target < e->min_bytes) {
		target = e->min_bytes;
		reason = "at_min";
	} else if (target > e->max_bytes) {
		target = e->max_bytes;
		reason = "at_max";
	}
	e->size_bytes = target;
	e->pending = false;

	memset(&ev, 0, sizeof(ev));
	ev.type = VMRD_BACKEND_EV_DONE;
	ev.status = 0;
	ev.seq = e->req.seq;
	ev.current_bytes = e->size_bytes;
	ev.target_bytes = target;
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	*ret_event = ev;
	return 1;
}

static int example_releasable(void *state, uint64_t *ret_bytes)
{
	struct example *e = state;

	*ret_bytes = e->size_bytes - e->min_bytes;
	return 0;
}

static void example_close(void *state)
{
	struct example *e = state;

	if (!e)
		return;
	close(e->efd);
	free(e);
}

static const struct vmrd_backend_ops example_ops = {
	.abi_version = VMRD_BACKEND_ABI_VERSION,
	.name = "example",
	.open = example_open,
	.query = example_query,
	.request = example_request,
	.fd = example_fd,
	.next_event = example_next_event,
	.report = NULL,
	.close = example_close,
	.releasable = example_releasable,
};

/* Exported; -Wmissing-prototypes wants a declaration first. */
const struct vmrd_backend_ops *vmrd_backend_plugin_init(uint32_t abi_version);

__attribute__((visibility("default")))
const struct vmrd_backend_ops *vmrd_backend_plugin_init(uint32_t abi_version)
{
	/* Serve exactly the version this file was built for. */
	if (abi_version != VMRD_BACKEND_ABI_VERSION)
		return NULL;
	return &example_ops;
}
