/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "host/qmp_parse.h"

/* Replies captured from QEMU 7.2 live in the fuzz corpus; tests reuse them. */
static size_t load(const char *name, char *buf, size_t size)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/qmp/%s", HOST_CORPUS, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void parse_file(const char *name, struct qmp_msg *m)
{
	char buf[4096];
	size_t n = load(name, buf, sizeof(buf));

	assert_int_equal(qmp_parse_message(buf, n, m), 0);
}

static void test_message_kinds_and_ids(void **state)
{
	static const struct {
		const char *file;
		enum qmp_msg_kind kind;
		bool has_id;
		uint64_t id;
		const char *name;
	} cases[] = {
		{ "greeting", QMP_MSG_GREETING, false, 0, NULL },
		{ "memdev_empty", QMP_MSG_RETURN, true, 1, NULL },
		{ "return_empty", QMP_MSG_RETURN, true, 2, NULL },
		{ "balloon", QMP_MSG_RETURN, false, 0, NULL }, /* string ids are not ours */
		{ "error_devnotfound", QMP_MSG_ERROR, false, 0, "DeviceNotFound" },
		{ "error_blocksize", QMP_MSG_ERROR, true, 9, "GenericError" },
		{ "event_reset", QMP_MSG_EVENT, false, 0, "RESET" },
		{ "event_powerdown", QMP_MSG_EVENT, false, 0, "POWERDOWN" },
		{ "event_vmem_size", QMP_MSG_EVENT, false, 0, "MEMORY_DEVICE_SIZE_CHANGE" },
		{ "event_shutdown", QMP_MSG_EVENT, false, 0, "SHUTDOWN" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qmp_msg m;

		parse_file(cases[i].file, &m);
		assert_int_equal(m.kind, cases[i].kind);
		assert_int_equal(m.has_id, cases[i].has_id);
		if (cases[i].has_id)
			assert_true(m.id == cases[i].id);
		if (cases[i].name)
			assert_string_equal(m.name, cases[i].name);
		json_decref(m.root);
	}
}

static void test_memory_devices_finds_device_by_id(void **state)
{
	struct qmp_msg m;
	struct qmp_vmem v;

	parse_file("memdev_requested", &m);
	assert_int_equal(qmp_parse_memory_devices(m.value, "vmem0", &v), 0);
	assert_true(v.requested_bytes == 512ull << 20);
	assert_true(v.size_bytes == 0);
	assert_true(v.max_bytes == 3584ull << 20);
	assert_true(v.block_bytes == 2ull << 20);
	assert_int_equal(qmp_parse_memory_devices(m.value, "vmem1", &v), -ENOENT);
	json_decref(m.root);
}

static void test_balloon_and_summary(void **state)
{
	struct qmp_msg m;
	uint64_t n = 0;

	parse_file("balloon", &m);
	assert_int_equal(qmp_parse_balloon(m.value, &n), 0);
	assert_true(n == 512ull << 20);
	assert_int_equal(qmp_parse_size_summary(m.value, &n), -EBADMSG);
	json_decref(m.root);

	parse_file("size_summary", &m);
	assert_int_equal(qmp_parse_size_summary(m.value, &n), 0);
	assert_true(n == 512ull << 20);
	json_decref(m.root);
}

static void test_events_carry_sizes(void **state)
{
	struct qmp_msg m;
	const char *id;
	uint64_t n;

	parse_file("event_vmem_size", &m);
	assert_int_equal(qmp_parse_vmem_event(m.value, &id, &n), 0);
	assert_string_equal(id, "vmem0");
	assert_true(n == 1ull << 30);
	json_decref(m.root);

	parse_file("event_balloon", &m);
	assert_int_equal(qmp_parse_balloon_event(m.value, &n), 0);
	assert_true(n == 768ull << 20);
	json_decref(m.root);
}

static void test_rejects_malformed_and_hostile_replies(void **state)
{
	static const char *const bad_msgs[] = {
		"", "\r\n", "[]", "42", "{\"foo\":1}", "{\"error\":\"x\"}", "{\"event\":7}",
		"{\"return\":{}, \"return\":{}}", "{\"event\":\"X\",\"data\":[]}", "{\"QMP\":1}",
		"{\"return\":", "\xff\xfe",
	};
	static const char *const bad_devs[] = {
		"[{\"type\":\"virtio-mem\",\"data\":{\"id\":\"vmem0\",\"size\":-1,\"requested-size\":0,"
		"\"max-size\":1,\"block-size\":2097152}}]",
		"[{\"type\":\"virtio-mem\",\"data\":{\"id\":\"vmem0\",\"size\":0,\"requested-size\":0,"
		"\"max-size\":4194304,\"block-size\":0}}]",
		"[{\"type\":\"virtio-mem\",\"data\":{\"id\":\"vmem0\",\"size\":0,\"requested-size\":8388608,"
		"\"max-size\":4194304,\"block-size\":2097152}}]",
		"[{\"type\":\"virtio-mem\",\"data\":{\"id\":\"vmem0\",\"size\":\"0\",\"requested-size\":0,"
		"\"max-size\":4194304,\"block-size\":2097152}}]",
		"[{\"type\":\"virtio-mem\",\"data\":{\"id\":\"vmem0\",\"size\":0,\"requested-size\":0,"
		"\"max-size\":4194304,\"block-size\":3145728}}]",
		"[{\"type\":\"virtio-mem\",\"data\":7}]",
		"{}",
	};
	struct qmp_msg m;
	struct qmp_vmem v = { .size_bytes = 42 };

	for (size_t i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]); i++)
		assert_true(qmp_parse_message(bad_msgs[i], strlen(bad_msgs[i]), &m) < 0);
	for (size_t i = 0; i < sizeof(bad_devs) / sizeof(bad_devs[0]); i++) {
		json_t *j = json_loads(bad_devs[i], 0, NULL);

		assert_non_null(j);
		assert_int_equal(qmp_parse_memory_devices(j, "vmem0", &v), -EBADMSG);
		assert_true(v.size_bytes == 42); /* untouched on failure */
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message_kinds_and_ids),
		cmocka_unit_test(test_memory_devices_finds_device_by_id),
		cmocka_unit_test(test_balloon_and_summary),
		cmocka_unit_test(test_events_carry_sizes),
		cmocka_unit_test(test_rejects_malformed_and_hostile_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
