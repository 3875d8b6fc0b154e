/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_QMP_PARSE_H
#define VMRD_HOST_QMP_PARSE_H

/*
 * Pure parsing of QMP messages and command replies: bytes (or jansson
 * values) in, plain structs out.  No I/O, so the fuzz target and the unit
 * tests run the very code the broker runs on replies from QEMU.
 *
 * QEMU is more trusted than a guest, but a compromised or buggy QEMU must
 * still not crash the broker: every field is type-checked, sizes must be
 * non-negative integers, and anything unexpected is -EINVAL / -EBADMSG.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qmp_msg_kind {
	QMP_MSG_GREETING,
	QMP_MSG_RETURN,
	QMP_MSG_ERROR,
	QMP_MSG_EVENT,
};

/* Ids we send are decimal integers; a message without one has has_id false. */
struct qmp_msg {
	enum qmp_msg_kind kind;
	bool has_id;
	uint64_t id;
	/* Borrowed from root: "return" value, event "data" (may be NULL). */
	json_t *value;
	/* Event name or error class; borrowed from root. */
	const char *name;
	/* Error description; borrowed from root, NULL when absent. */
	const char *desc;
	/* The parsed document; the caller owns it and releases it with json_decref. */
	json_t *root;
};

/*
 * Parse one line from QEMU (with or without "\r\n").  On success the caller
 * owns ret->root.
 */
int qmp_parse_message(const char *buf, size_t len, struct qmp_msg *ret);

/* One virtio-mem device from query-memory-devices. */
struct qmp_vmem {
	uint64_t size_bytes;      /* plugged by the guest */
	uint64_t requested_bytes; /* what the host asked for */
	uint64_t max_bytes;
	uint64_t block_bytes;
};

/*
 * Find the virtio-mem device with the given id in the "return" array of
 * query-memory-devices.  -ENOENT when there is none.
 */
int qmp_parse_memory_devices(const json_t *ret_value, const char *id, struct qmp_vmem *ret);

/* query-balloon's "actual": the guest size the balloon driver sees. */
int qmp_parse_balloon(const json_t *ret_value, uint64_t *ret_actual_bytes);

/* query-memory-size-summary's "base-memory": the boot memory (-m). */
int qmp_parse_size_summary(const json_t *ret_value, uint64_t *ret_base_bytes);

/* MEMORY_DEVICE_SIZE_CHANGE data: the device id (may be absent) and new size. */
int qmp_parse_vmem_event(const json_t *data, const char **ret_id, uint64_t *ret_size_bytes);

/* BALLOON_CHANGE data: the new actual size. */
int qmp_parse_balloon_event(const json_t *data, uint64_t *ret_actual_bytes);

#endif
