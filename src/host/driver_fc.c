/* SPDX-License-Identifier: MIT */
/*
 * Firecracker over its REST API (the swagger description in
 * src/firecracker/swagger/firecracker.yaml), on the shared HTTP driver.
 * Firecracker counts in MiB:
 *   GET /machine-config     mem_size_mib: the boot memory
 *   GET /hotplug/memory     total_size_mib, block_size_mib, plugged_size_mib,
 *                           requested_size_mib of the virtio-mem device
 *   PATCH /hotplug/memory   {"requested_size_mib": N}, 204
 *   GET /balloon            amount_mib: what the balloon is to hold
 *   PATCH /balloon          {"amount_mib": N}, 204
 * Errors come as 4xx/5xx with {"fault_message": "..."}.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "host/driver_http.h"

#define MIB (1ull << 20)

/* Each answer is one flat object of MiB numbers: the keys are read into bytes. */
struct fc_field {
	const char *key;
	size_t offset;      /* in struct driver_sizes */
};

#define FC_FIELD(k, f) { .key = (k), .offset = offsetof(struct driver_sizes, f) }

static int fc_fields(struct driver *d, const char *body, size_t len, const struct fc_field *f,
		     size_t n, char *err, size_t size)
{
	json_error_t je;
	json_t *root = json_loadb(body, len, 0, &je);
	uint64_t vals[4];
	int r = -EINVAL;

	if (!root) {
		snprintf(err, size, "not JSON: %s", je.text);
		return -EINVAL;
	}
	/* All or nothing: the sizes are written only when every key is good. */
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(root, f[i].key);

		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) > UINT64_MAX / MIB) {
			snprintf(err, size, "%s %s", f[i].key, v ? "is not a size" : "missing");
			goto out;
		}
		vals[i] = (uint64_t)json_integer_value(v) * MIB;
	}
	for (size_t i = 0; i < n; i++)
		*(uint64_t *)(void *)((char *)&d->sizes + f[i].offset) = vals[i];
	r = 0;
out:
	json_decref(root);
	return r;
}

static int parse_machine(struct driver *d, const char *body, size_t len, char *err, size_t size)
{
	static const struct fc_field f[] = { FC_FIELD("mem_size_mib", boot_bytes) };

	return fc_fields(d, body, len, f, 1, err, size);
}

static int parse_hotplug(struct driver *d, const char *body, size_t len, char *err, size_t size)
{
	static const struct fc_field f[] = {
		FC_FIELD("total_size_mib", vmem_max_bytes),
		FC_FIELD("block_size_mib", vmem_block_bytes),
		FC_FIELD("plugged_size_mib", vmem_size_bytes),
		FC_FIELD("requested_size_mib", vmem_requested_bytes),
	};
	int r = fc_fields(d, body, len, f, 4, err, size);

	if (r == 0 && d->sizes.vmem_block_bytes == 0) {
		snprintf(err, size, "block_size_mib is 0");
		r = -EINVAL;
	}
	return r;
}

static int parse_balloon(struct driver *d, const char *body, size_t len, char *err, size_t size)
{
	static const struct fc_field f[] = { FC_FIELD("amount_mib", balloon_target_bytes) };
	struct driver_sizes *s = &d->sizes;
	int r = fc_fields(d, body, len, f, 1, err, size);
	uint64_t held;

	if (r < 0)
		return r;
	/* Scratch: that was what the balloon holds; the driver counts the size it leaves the guest. */
	held = s->balloon_target_bytes < s->boot_bytes ? s->balloon_target_bytes : s->boot_bytes;

	s->balloon_actual_bytes = s->boot_bytes - held;
	s->balloon_target_bytes = held ? s->balloon_actual_bytes : 0;
	return 0;
}

/* Boot memory first: the balloon's answer is read against it. */
static const struct http_query fc_queries[] = {
	{ .path = "/machine-config", .parse = parse_machine },
	{ .path = "/hotplug/memory", .needs = HTTP_NEEDS_VMEM, .refresh = true, .parse = parse_hotplug },
	{ .path = "/balloon", .needs = HTTP_NEEDS_BALLOON, .refresh = true, .parse = parse_balloon },
};

static bool fc_vmem(const struct driver *d, uint64_t requested_bytes, const char **method,
		    const char **path, char *body, size_t size)
{
	*method = "PATCH";
	*path = "/hotplug/memory";
	snprintf(body, size, "{\"requested_size_mib\":%llu}", (unsigned long long)(requested_bytes / MIB));
	return true;
}

static bool fc_balloon(const struct driver *d, uint64_t target_bytes, const char **method,
		       const char **path, char *body, size_t size)
{
	uint64_t held = target_bytes < d->sizes.boot_bytes ? d->sizes.boot_bytes - target_bytes : 0;

	*method = "PATCH";
	*path = "/balloon";
	snprintf(body, size, "{\"amount_mib\":%llu}", (unsigned long long)(held / MIB));
	return true;
}

const struct http_vmm driver_fc_vmm = {
	.name = "Firecracker",
	.queries = fc_queries,
	.n_queries = sizeof(fc_queries) / sizeof(fc_queries[0]),
	.vmem_request = fc_vmem,
	.balloon_request = fc_balloon,
};

static int fc_open(struct driver *d)
{
	return driver_http_open(d, &driver_fc_vmm);
}

const struct driver_ops driver_fc_ops = {
	.name = "Firecracker",
	.open = fc_open,
	DRIVER_HTTP_OPS,
};
