/* SPDX-License-Identifier: MIT */
/*
 * The QMP allow-list (host/qmp_allow.h): the commands driver_qmp.c sends,
 * exactly as it sends them, pass; the commands that give a QMP client the
 * whole VM (migrate, dump-guest-memory, quit, device_add, human-monitor-
 * command, ...), an allowed command with an argument it is never sent
 * with, and qom-set of any property but requested-size are refused, and
 * qmp_execute() refuses them before it looks at the connection.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "host/qmp.h"
#include "host/qmp_allow.h"

struct allow_case {
	const char *cmd;
	const char *args; /* JSON text, NULL: no arguments */
	int want;
};

static const struct allow_case cases[] = {
	/* What driver_qmp.c sends. */
	{ "query-memory-size-summary", NULL, 0 },
	{ "query-memory-devices", NULL, 0 },
	{ "query-balloon", NULL, 0 },
	{ "balloon", "{\"value\": 1073741824}", 0 },
	{ "qom-set", "{\"path\": \"vmem0\", \"property\": \"requested-size\", \"value\": 0}", 0 },
	{ "query-balloon", "{}", 0 },
	/* Full control of the VM: never. */
	{ "quit", NULL, -EPERM },
	{ "stop", NULL, -EPERM },
	{ "system_reset", NULL, -EPERM },
	{ "migrate", "{\"uri\": \"exec:sh -c id\"}", -EPERM },
	{ "dump-guest-memory", "{\"paging\": false, \"protocol\": \"file:/tmp/x\"}", -EPERM },
	{ "human-monitor-command", "{\"command-line\": \"info mem\"}", -EPERM },
	{ "device_add", "{\"driver\": \"virtio-mem-pci\", \"id\": \"x\"}", -EPERM },
	{ "object-add", "{\"qom-type\": \"memory-backend-file\", \"id\": \"m\"}", -EPERM },
	{ "qom-get", "{\"path\": \"vmem0\", \"property\": \"size\"}", -EPERM },
	{ "qmp_capabilities", NULL, -EPERM },
	/* Names are matched whole and exactly. */
	{ "", NULL, -EPERM },
	{ "balloon ", "{\"value\": 1}", -EPERM },
	{ "BALLOON", "{\"value\": 1}", -EPERM },
	{ "query-memory-devices-x", NULL, -EPERM },
	/* An allowed command with arguments it is never sent with. */
	{ "balloon", "{\"value\": 1, \"x\": 2}", -EPERM },
	{ "query-balloon", "{\"value\": 1}", -EPERM },
	{ "balloon", "[1]", -EPERM },
	{ "balloon", "\"value\"", -EPERM },
	/* qom-set sets virtio-mem's requested-size and no other property. */
	{ "qom-set", "{\"path\": \"vmem0\", \"property\": \"size\", \"value\": 0}", -EPERM },
	{ "qom-set", "{\"path\": \"/machine\", \"property\": \"requested-size-x\", \"value\": 0}", -EPERM },
	{ "qom-set", "{\"path\": \"vmem0\", \"property\": 5, \"value\": 0}", -EPERM },
	{ "qom-set", "{\"path\": \"vmem0\", \"value\": 0}", -EPERM },
	{ "qom-set", NULL, -EPERM },
	{ "qom-set", "{\"path\": \"vmem0\", \"property\": \"requested-size\", \"value\": 0, \"x\": 1}",
	  -EPERM },
	/* No command at all. */
	{ NULL, NULL, -EINVAL },
};

static json_t *args_of(const struct allow_case *c)
{
	json_t *j;

	if (!c->args)
		return NULL;
	j = json_loads(c->args, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	return j;
}

static void test_only_what_vmrd_host_sends_is_allowed(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *args = args_of(&cases[i]);
		int r = qmp_allow_check(cases[i].cmd, args);

		if (r != cases[i].want)
			fail_msg("case %zu (%s %s): %d, expected %d", i,
				 cases[i].cmd ? cases[i].cmd : "(null)",
				 cases[i].args ? cases[i].args : "", r, cases[i].want);
		json_decref(args);
	}
}

static void never_called(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	fail_msg("a refused command has no reply");
}

/* A client that looks connected: a refused command must not be queued, let alone sent. */
static void test_execute_refuses_before_sending(void **state)
{
	static struct qmp q;

	qmp_init(&q, NULL, "/nonexistent", NULL, NULL);
	q.state = QMP_READY;
	q.watch.fd = -1;
	assert_int_equal(qmp_execute(&q, "quit", NULL, never_called, NULL, 0), -EPERM);
	assert_int_equal(qmp_execute(&q, "migrate", json_pack("{s:s}", "uri", "exec:true"),
				     never_called, NULL, 0), -EPERM);
	assert_int_equal(qmp_execute(&q, "qom-set",
				     json_pack("{s:s, s:s, s:i}", "path", "vmem0", "property", "size",
					       "value", 0),
				     never_called, NULL, 0), -EPERM);
	assert_int_equal(q.out_len, 0);
	assert_int_equal(q.next_id, 1);
	for (size_t i = 0; i < QMP_MAX_PENDING; i++)
		assert_int_equal(q.pending[i].id, 0);
	/* Not connected at all: still -EPERM, the allow-list comes first. */
	q.state = QMP_DOWN;
	assert_int_equal(qmp_execute(&q, "quit", NULL, NULL, NULL, 0), -EPERM);
	assert_int_equal(qmp_execute(&q, "query-balloon", NULL, NULL, NULL, 0), -ENOTCONN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_what_vmrd_host_sends_is_allowed),
		cmocka_unit_test(test_execute_refuses_before_sending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
