/* SPDX-License-Identifier: MIT */
/*
 * Cloud Hypervisor over its REST API (the OpenAPI description of
 * vmm/src/api/openapi/cloud-hypervisor.yaml, API v1), on the shared HTTP
 * driver:
 *   GET /api/v1/vm.info    config.memory.size (boot), hotplug_size (the
 *                          virtio-mem maximum), hotplugged_size (requested),
 *                          config.balloon.size (what the balloon holds) and
 *                          memory_actual_size (boot - balloon + plugged)
 *   PUT /api/v1/vm.resize  {"desired_ram": total RAM} for virtio-mem,
 *                          {"desired_balloon": balloon size} for the balloon;
 *                          204 when done, 404 before the VM is created
 * Cloud Hypervisor answers a resize to the size it already holds with HTTP
 * 500, so such a resize is not sent.  virtio-mem needs
 * --memory hotplug_method=virtio-mem,hotplug_size=...
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "host/driver_http.h"

/* Cloud Hypervisor's virtio-mem block (virtio-devices/src/mem.rs); the API does not say it. */
#define CH_VMEM_BLOCK (2ull << 20)

static int ch_u64(json_t *obj, const char *key, bool required, uint64_t *ret, char *err, size_t size)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			snprintf(err, size, "%s missing", key);
		*ret = 0;
		return required ? -EINVAL : 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(err, size, "%s is not a size", key);
		return -EINVAL;
	}
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_memory(struct driver *d, json_t *mem, char *err, size_t size)
{
	struct driver_sizes *s = &d->sizes;
	const char *method = json_string_value(json_object_get(mem, "hotplug_method"));
	int r;

	if ((r = ch_u64(mem, "size", true, &s->boot_bytes, err, size)) < 0 ||
	    (r = ch_u64(mem, "hotplug_size", false, &s->vmem_max_bytes, err, size)) < 0 ||
	    (r = ch_u64(mem, "hotplugged_size", false, &s->vmem_requested_bytes, err, size)) < 0)
		return r;
	if (d->cfg.vmem_id[0] && (!method || strcasecmp(method, "VirtioMem") != 0 || !s->vmem_max_bytes)) {
		snprintf(err, size, "memory is not hot-pluggable with virtio-mem (hotplug_method %s)",
			 method ? method : "unset");
		return -EINVAL;
	}
	s->vmem_block_bytes = CH_VMEM_BLOCK;
	return 0;
}

static int parse_info(struct driver *d, const char *body, size_t len, char *err, size_t size)
{
	struct driver_sizes *s = &d->sizes;
	json_error_t je;
	json_t *root = json_loadb(body, len, 0, &je), *cfg, *balloon;
	uint64_t actual = 0, held = 0;
	int r = -EINVAL;

	if (!root) {
		snprintf(err, size, "not JSON: %s", je.text);
		return -EINVAL;
	}
	cfg = json_object_get(root, "config");
	if (!json_is_object(cfg) || !json_is_object(json_object_get(cfg, "memory"))) {
		snprintf(err, size, "config.memory missing");
		goto out;
	}
	if ((r = parse_memory(d, json_object_get(cfg, "memory"), err, size)) < 0 ||
	    (r = ch_u64(root, "memory_actual_size", false, &actual, err, size)) < 0)
		goto out;
	balloon = json_object_get(cfg, "balloon");
	if (d->cfg.balloon_id[0] && !json_is_object(balloon)) {
		snprintf(err, size, "the VM has no balloon (config.balloon)");
		r = -EINVAL;
		goto out;
	}
	if (json_is_object(balloon) && (r = ch_u64(balloon, "size", true, &held, err, size)) < 0)
		goto out;
	held = held < s->boot_bytes ? held : s->boot_bytes;
	s->balloon_actual_bytes = s->boot_bytes - held;
	/* Cloud Hypervisor keeps the balloon's target in its config, unlike QEMU: it is the truth. */
	s->balloon_target_bytes = held ? s->balloon_actual_bytes : 0;
	/* actual = boot - balloon + plugged; without it, plugged is taken to be what was requested. */
	s->vmem_size_bytes = actual > s->balloon_actual_bytes ? actual - s->balloon_actual_bytes :
				     actual ? 0 : s->vmem_requested_bytes;
	r = 0;
out:
	json_decref(root);
	return r;
}

static const struct http_query ch_queries[] = {
	{ .path = "/api/v1/vm.info", .refresh = true, .parse = parse_info },
};

static bool ch_vmem(const struct driver *d, uint64_t requested_bytes, const char **method,
		    const char **path, char *body, size_t size)
{
	*method = "PUT";
	*path = "/api/v1/vm.resize";
	snprintf(body, size, "{\"desired_ram\":%llu}",
		 (unsigned long long)(d->sizes.boot_bytes + requested_bytes));
	return requested_bytes != d->sizes.vmem_requested_bytes;
}

static bool ch_balloon(const struct driver *d, uint64_t target_bytes, const char **method,
		       const char **path, char *body, size_t size)
{
	uint64_t held = target_bytes < d->sizes.boot_bytes ? d->sizes.boot_bytes - target_bytes : 0;

	*method = "PUT";
	*path = "/api/v1/vm.resize";
	snprintf(body, size, "{\"desired_balloon\":%llu}", (unsigned long long)held);
	return held != d->sizes.boot_bytes - d->sizes.balloon_actual_bytes;
}

const struct http_vmm driver_ch_vmm = {
	.name = "Cloud Hypervisor",
	.queries = ch_queries,
	.n_queries = sizeof(ch_queries) / sizeof(ch_queries[0]),
	.vmem_request = ch_vmem,
	.balloon_request = ch_balloon,
};

static int ch_open(struct driver *d)
{
	return driver_http_open(d, &driver_ch_vmm);
}

const struct driver_ops driver_ch_ops = {
	.name = "Cloud Hypervisor",
	.open = ch_open,
	DRIVER_HTTP_OPS,
};
