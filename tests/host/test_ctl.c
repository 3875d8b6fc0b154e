/* SPDX-License-Identifier: MIT */
/*
 * ctl.c, vmrd-host's control-socket rendering, on a table-driven source
 * (no broker): which commands it takes, and what `why` says.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/strbuf.h"
#include "host/ctl.h"

#define MIB (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)

/* Two VMs: web with two decisions, db with none; a removed slot between them. */
static const struct ctl_decision web_log[] = {
	{ .age_usec = 42 * SEC, .action = "grant", .reason = "contention", .seq = 4,
	  .target_bytes = 1024 * MIB, .applied = true, .current_bytes = 512 * MIB,
	  .asked_bytes = 2048 * MIB, .fair_bytes = 1024 * MIB, .pressured = true },
	{ .age_usec = 3 * SEC, .action = "deny", .reason = "oscillation_hold", .seq = 5,
	  .retry_after_usec = 27 * SEC + 400000, .current_bytes = 1024 * MIB, .asked_bytes = 512 * MIB,
	  .fair_bytes = 1024 * MIB, .surplus_bytes = 300 * MIB },
};

static const struct ctl_vm rows[] = {
	{ .name = "web", .link = "ready", .current_bytes = 1024 * MIB, .target_bytes = 1024 * MIB,
	  .last_reason = "oscillation_hold", .agent = "", .link_error = "" },
	{ .hidden = true, .name = "gone", .link = "down", .agent = "", .link_error = "", .last_reason = "" },
	{ .name = "db", .link = "down", .current_bytes = 512 * MIB, .target_bytes = 512 * MIB,
	  .last_reason = "none", .agent = "", .link_error = "" },
};

static void host(void *ctx, struct ctl_host *ret)
{
	*ret = (struct ctl_host){ .budget_bytes = 4096 * MIB };
}

static bool vm(void *ctx, size_t i, struct ctl_vm *ret)
{
	if (i >= sizeof(rows) / sizeof(rows[0]))
		return false;
	*ret = rows[i];
	return true;
}

static bool decision(void *ctx, size_t i, size_t k, struct ctl_decision *ret)
{
	/* The hidden slot has decisions too: they must not show. */
	if ((i != 0 && i != 1) || k >= sizeof(web_log) / sizeof(web_log[0]))
		return false;
	*ret = web_log[k];
	return true;
}

static const struct ctl_source src = { .host = host, .vm = vm, .decision = decision };

static int ask(const char *cmd, char *buf, size_t size)
{
	struct strbuf sb;
	int r;

	strbuf_init(&sb, buf, size);
	r = ctl_handle((void *)&src, cmd, &sb);
	assert_false(strbuf_truncated(&sb));
	return r;
}

static void test_why_text_shows_reasons_and_numbers_oldest_first(void **state)
{
	char buf[4096];

	assert_int_equal(ask("why", buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"web (current 1024 MiB, target 1024 MiB), oldest first:\n"
		"      42s ago  grant   contention        seq 4  target 1024 MiB (applied)  asked 2048"
		"  current 512  fair 1024  surplus 0 MiB  pressured\n"
		"       3s ago  deny    oscillation_hold  seq 5  retry in 27.4 s  asked 512"
		"  current 1024  fair 1024  surplus 300 MiB\n"
		"db (current 512 MiB, target 512 MiB): no decisions yet\n");
	assert_int_equal(ask("why db", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "db (current 512 MiB, target 512 MiB): no decisions yet\n");
	/* A removed VM is not there to ask about. */
	assert_int_equal(ask("why gone", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "error: no VM named gone\n");
}

static void test_why_json_is_one_array_of_stable_objects(void **state)
{
	char buf[4096];
	json_error_t err;
	json_t *root, *d;

	assert_int_equal(ask("why json web", buf, sizeof(buf)), 0);
	root = json_loads(buf, 0, &err);
	assert_non_null(root);
	assert_true(json_is_array(root));
	assert_int_equal(json_array_size(root), 2);
	d = json_array_get(root, 1);
	assert_string_equal(json_string_value(json_object_get(d, "vm")), "web");
	assert_string_equal(json_string_value(json_object_get(d, "action")), "deny");
	assert_string_equal(json_string_value(json_object_get(d, "reason")), "oscillation_hold");
	assert_int_equal(json_integer_value(json_object_get(d, "retry_after_usec")), 27400000);
	assert_int_equal(json_integer_value(json_object_get(d, "surplus_bytes")), 300 * MIB);
	assert_true(json_is_false(json_object_get(d, "pressured")));
	json_decref(root);
	/* Keys in their documented order (ctl.h): the first and the last. */
	assert_memory_equal(buf, "[{\"vm\":", 7);
	assert_non_null(strstr(buf, "\"non_converging\":false}]"));
	assert_int_equal(ask("why json", buf, sizeof(buf)), 0);
	assert_int_equal(ask("why json nosuch", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "error: no VM named nosuch\n");
}

static void test_commands_outside_the_grammar_are_refused(void **state)
{
	static const char *const bad[] = { "whyx", "why web db", "why json web db", "status xml", "",
					   "metrics json", "why  " };
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ask(bad[i], buf, sizeof(buf)) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
}

static bool vm_gave_up(void *ctx, size_t i, struct ctl_vm *ret)
{
	if (i > 0)
		return false;
	*ret = (struct ctl_vm){ .name = "bal", .link = "ready", .current_bytes = 256 * MIB,
				.target_bytes = 256 * MIB, .last_reason = "none", .agent = "",
				.link_error = "", .reclaim_reason = "",
				.vmem_gave_up_bytes = 64 * MIB, .vmem_got_back_bytes = 63 * MIB,
				.balloon_gave_up_bytes = 256 * MIB, .balloon_got_back_bytes = 184 * MIB };
	return true;
}

static bool no_decision(void *ctx, size_t i, size_t k, struct ctl_decision *ret)
{
	return false;
}

/* Per VM: what the guest gave up through each mechanism, what the host got back, everywhere. */
static void test_give_back_is_shown_per_vm_and_mechanism(void **state)
{
	const struct ctl_source gsrc = { .host = host, .vm = vm_gave_up, .decision = no_decision };
	const char *want = "gave up 320 MiB (virtio-mem 64, balloon 256), host got back 247 MiB "
			   "(virtio-mem 63, balloon 184)";
	char buf[16384], line[256];
	struct strbuf sb;
	json_error_t err;
	json_t *root, *v;

	strbuf_init(&sb, buf, sizeof(buf));
	ctl_status_text(&gsrc, &sb);
	snprintf(line, sizeof(line), "\nbal: %s\n", want);
	assert_non_null(strstr(buf, line));
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_why_text(&gsrc, NULL, &sb);
	snprintf(line, sizeof(line), "\n  %s\n", want);
	assert_non_null(strstr(buf, line));
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_metrics(&gsrc, &sb);
	assert_non_null(strstr(buf, "# TYPE vmrd_host_vm_got_back_bytes_total counter\n"));
	assert_non_null(strstr(buf, "vmrd_host_vm_got_back_bytes_total{vm=\"bal\",mechanism=\"balloon\"} "
				    "192937984\n"));
	assert_non_null(strstr(buf, "vmrd_host_vm_gave_up_bytes_total{vm=\"bal\",mechanism=\"virtio-mem\"} "
				    "67108864\n"));
	strbuf_init(&sb, buf, sizeof(buf));
	assert_int_equal(ctl_status_json(&gsrc, &sb), 0);
	root = json_loads(buf, 0, &err);
	assert_non_null(root);
	v = json_array_get(json_object_get(root, "vms"), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "gave_up_balloon_bytes")), 256 * MIB);
	assert_int_equal(json_integer_value(json_object_get(v, "got_back_virtio_mem_bytes")), 63 * MIB);
	json_decref(root);
	/* The issue 12 keys come last in the row: the order is part of the format. */
	assert_non_null(strstr(buf, "\"got_back_balloon_bytes\":192937984}]"));
}

/* A host whose guest lines a child process reads: ctx is that reader's pid (-1: down). */
static void host_reader(void *ctx, struct ctl_host *ret)
{
	host(ctx, ret);
	ret->reader = true;
	ret->reader_pid = *(const int *)ctx;
	ret->reader_restarts = 3;
	ret->reader_bad_records = 1;
}

/* The guest reader's restarts are in status, status json and metrics, not only the log. */
static void test_guest_reader_restarts_are_shown_everywhere(void **state)
{
	int pid = 4242;
	const struct ctl_source rsrc = { .ctx = &pid, .host = host_reader, .vm = vm,
					 .decision = no_decision };
	char buf[16384];
	struct strbuf sb;
	json_error_t err;
	json_t *root, *rd;

	strbuf_init(&sb, buf, sizeof(buf));
	ctl_status_text(&rsrc, &sb);
	assert_non_null(strstr(buf, "\nguest reader: pid 4242, restarts 3\n"));
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_metrics(&rsrc, &sb);
	assert_non_null(strstr(buf, "# TYPE vmrd_host_guest_reader_restarts_total counter\n"
				    "vmrd_host_guest_reader_restarts_total 3\n"));
	assert_non_null(strstr(buf, "\nvmrd_host_guest_reader_up 1\n"));
	assert_non_null(strstr(buf, "\nvmrd_host_guest_reader_bad_records_total 1\n"));
	strbuf_init(&sb, buf, sizeof(buf));
	assert_int_equal(ctl_status_json(&rsrc, &sb), 0);
	root = json_loads(buf, 0, &err);
	assert_non_null(root);
	rd = json_object_get(root, "guest_reader");
	assert_int_equal(json_integer_value(json_object_get(rd, "pid")), 4242);
	assert_int_equal(json_integer_value(json_object_get(rd, "restarts")), 3);
	json_decref(root);

	pid = -1;
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_status_text(&rsrc, &sb);
	assert_non_null(strstr(buf, "\nguest reader: DOWN, being restarted, restarts 3\n"));
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_metrics(&rsrc, &sb);
	assert_non_null(strstr(buf, "\nvmrd_host_guest_reader_up 0\n"));

	/* A broker whose reader is in-process (tests, tools) shows none of it. */
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_metrics(&src, &sb);
	assert_null(strstr(buf, "guest_reader"));
	strbuf_init(&sb, buf, sizeof(buf));
	ctl_status_text(&src, &sb);
	assert_null(strstr(buf, "guest reader"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_give_back_is_shown_per_vm_and_mechanism),
		cmocka_unit_test(test_guest_reader_restarts_are_shown_everywhere),
		cmocka_unit_test(test_why_text_shows_reasons_and_numbers_oldest_first),
		cmocka_unit_test(test_why_json_is_one_array_of_stable_objects),
		cmocka_unit_test(test_commands_outside_the_grammar_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
