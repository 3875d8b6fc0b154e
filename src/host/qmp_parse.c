/* SPDX-License-Identifier: MIT */
#include "host/qmp_parse.h"

#include <errno.h>
#include <string.h>

/*
 * A size from QEMU: jansson keeps integers as signed long long, and a
 * negative size can only come from a broken peer.
 */
static int get_size(const json_t *obj, const char *key, uint64_t *ret)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EBADMSG;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_id(json_t *root, struct qmp_msg *m)
{
	json_t *id = json_object_get(root, "id");

	m->has_id = false;
	if (!id)
		return 0;
	/* Ids that are not ours (strings, negatives) are reported as absent. */
	if (json_is_integer(id) && json_integer_value(id) >= 0) {
		m->has_id = true;
		m->id = (uint64_t)json_integer_value(id);
	}
	return 0;
}

static int classify(json_t *root, struct qmp_msg *m)
{
	json_t *v;

	if ((v = json_object_get(root, "return"))) {
		m->kind = QMP_MSG_RETURN;
		m->value = v;
		return 0;
	}
	if ((v = json_object_get(root, "error"))) {
		json_t *cls = json_object_get(v, "class");
		json_t *desc = json_object_get(v, "desc");

		if (!json_is_object(v) || !json_is_string(cls))
			return -EBADMSG;
		m->kind = QMP_MSG_ERROR;
		m->name = json_string_value(cls);
		m->desc = json_is_string(desc) ? json_string_value(desc) : NULL;
		return 0;
	}
	if ((v = json_object_get(root, "event"))) {
		json_t *data = json_object_get(root, "data");

		if (!json_is_string(v) || (data && !json_is_object(data)))
			return -EBADMSG;
		m->kind = QMP_MSG_EVENT;
		m->name = json_string_value(v);
		m->value = data;
		return 0;
	}
	if ((v = json_object_get(root, "QMP"))) {
		if (!json_is_object(v))
			return -EBADMSG;
		m->kind = QMP_MSG_GREETING;
		m->value = v;
		return 0;
	}
	return -EBADMSG;
}

int qmp_parse_message(const char *buf, size_t len, struct qmp_msg *ret)
{
	struct qmp_msg m = { 0 };
	json_t *root;
	int r;

	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0)
		return -EINVAL;
	/* Duplicate keys are a sign of a confused peer; refuse them. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return -EINVAL;
	if (!json_is_object(root)) {
		r = -EBADMSG;
		goto out;
	}
	r = classify(root, &m);
	if (r < 0)
		goto out;
	parse_id(root, &m);
	m.root = root;
	*ret = m;
	return 0;
out:
	json_decref(root);
	return r;
}

static int parse_vmem_data(const json_t *data, struct qmp_vmem *ret)
{
	struct qmp_vmem v;

	if (get_size(data, "size", &v.size_bytes) < 0 ||
	    get_size(data, "requested-size", &v.requested_bytes) < 0 ||
	    get_size(data, "max-size", &v.max_bytes) < 0 ||
	    get_size(data, "block-size", &v.block_bytes) < 0)
		return -EBADMSG;
	/* The broker divides by the block size and clamps to max-size. */
	if (v.block_bytes == 0 || (v.block_bytes & (v.block_bytes - 1)) ||
	    v.requested_bytes > v.max_bytes || v.size_bytes > v.max_bytes)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int qmp_parse_memory_devices(const json_t *ret_value, const char *id, struct qmp_vmem *ret)
{
	size_t i;
	const json_t *dev;

	if (!json_is_array(ret_value))
		return -EBADMSG;
	json_array_foreach(ret_value, i, dev) {
		const json_t *type = json_object_get(dev, "type");
		const json_t *data = json_object_get(dev, "data");
		const json_t *did;

		if (!json_is_string(type) || strcmp(json_string_value(type), "virtio-mem") != 0)
			continue;
		if (!json_is_object(data))
			return -EBADMSG;
		did = json_object_get(data, "id");
		if (!json_is_string(did) || strcmp(json_string_value(did), id) != 0)
			continue;
		return parse_vmem_data(data, ret);
	}
	return -ENOENT;
}

int qmp_parse_balloon(const json_t *ret_value, uint64_t *ret_actual_bytes)
{
	if (!json_is_object(ret_value))
		return -EBADMSG;
	return get_size(ret_value, "actual", ret_actual_bytes);
}

int qmp_parse_size_summary(const json_t *ret_value, uint64_t *ret_base_bytes)
{
	if (!json_is_object(ret_value))
		return -EBADMSG;
	return get_size(ret_value, "base-memory", ret_base_bytes);
}

int qmp_parse_vmem_event(const json_t *data, const char **ret_id, uint64_t *ret_size_bytes)
{
	const json_t *id;
	uint64_t size;

	if (!json_is_object(data))
		return -EBADMSG;
	if (get_size(data, "size", &size) < 0)
		return -EBADMSG;
	id = json_object_get(data, "id");
	if (id && !json_is_string(id))
		return -EBADMSG;
	*ret_id = id ? json_string_value(id) : NULL;
	*ret_size_bytes = size;
	return 0;
}

int qmp_parse_balloon_event(const json_t *data, uint64_t *ret_actual_bytes)
{
	if (!json_is_object(data))
		return -EBADMSG;
	return get_size(data, "actual", ret_actual_bytes);
}
