/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader, the "plugin" backend and the example plugin
 * (plugins/example), plus a plugin built for ABI version 999 that must be
 * refused; also the registry and the worker helper.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/backend.h"
#include "testutil.h"

#define MIB (UINT64_C(1) << 20)

static void test_registry_knows_the_builtin_backends(void **state)
{
	static const char *const names[] = { "sysfs", "exec", "plugin" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct vmrd_backend_ops *ops = backend_lookup(names[i]);

		assert_non_null(ops);
		assert_string_equal(ops->name, names[i]);
		assert_int_equal(ops->abi_version, VMRD_BACKEND_ABI_VERSION);
		assert_non_null(ops->open);
		assert_non_null(ops->next_event);
	}
	assert_null(backend_lookup("nope"));
	assert_null(backend_lookup(NULL));
	assert_non_null(backend_builtin(0));
	assert_null(backend_builtin(1000));
}

static void test_mismatched_plugin_is_refused_with_a_clear_message(void **state)
{
	const struct vmrd_backend_ops *ops = NULL;
	const char *msg = NULL;
	void *handle = NULL;

	assert_int_equal(backend_plugin_load(MISMATCH_PLUGIN_PATH, &ops, &handle, &msg),
			 -EPROTONOSUPPORT);
	assert_null(ops);
	assert_null(handle);
	assert_non_null(msg);
	assert_non_null(strstr(msg, MISMATCH_PLUGIN_PATH));
	assert_non_null(strstr(msg, "ABI version 999"));
	{
		char want[32];

		snprintf(want, sizeof(want), "version %u", VMRD_BACKEND_ABI_VERSION);
		assert_non_null(strstr(msg, want));
	}
}

static void test_missing_or_foreign_files_are_refused(void **state)
{
	const struct vmrd_backend_ops *ops = NULL;
	const char *msg = NULL;
	void *handle = NULL;

	assert_int_equal(backend_plugin_load("/nonexistent/vmrd-plugin.so", &ops, &handle, &msg),
			 -ENOENT);
	assert_non_null(strstr(msg, "/nonexistent/vmrd-plugin.so"));
	/* A file that is not a shared object at all. */
	assert_int_equal(backend_plugin_load(BACKENDS_SCRIPT_DIR "/exec-fail.sh", &ops, &handle, &msg),
			 -ELIBBAD);
	assert_non_null(strstr(msg, "cannot load"));
	assert_null(ops);
}

struct fixture {
	struct testutil_config cfg;
	struct vmrd_backend_env env;
	const struct vmrd_backend_ops *ops;
	void *state;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->env.abi_version = VMRD_BACKEND_ABI_VERSION;
	f->env.rootfd = -1;
	f->env.config_get = testutil_config_get;
	f->env.config_ctx = &f->cfg;
	f->ops = backend_lookup("plugin");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->state)
		f->ops->close(f->state);
	free(f);
	return 0;
}

static void open_example(struct fixture *f)
{
	static const char *const kv[] = { "path", EXAMPLE_PLUGIN_PATH, "min", "512M", "max", "2G",
					  "block", "128M", "initial", "1G", NULL };

	for (size_t i = 0; kv[i]; i++)
		f->cfg.kv[i] = kv[i];
	assert_int_equal(f->ops->open(&f->env, &f->state), 0);
}

static void run(struct fixture *f, uint64_t seq, uint64_t target, struct vmrd_backend_event *ev)
{
	struct vmrd_backend_request req = { .seq = seq, .target_bytes = target };
	struct pollfd p = { .fd = f->ops->fd(f->state), .events = POLLIN };

	assert_true(p.fd >= 0);
	assert_int_equal(f->ops->request(f->state, &req), 0);
	/* The example completes through its fd, never inside request(). */
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(testutil_wait_event(f->ops, f->state, ev, 5000), 1);
	assert_int_equal(ev->type, VMRD_BACKEND_EV_DONE);
	assert_int_equal(ev->seq, seq);
	assert_int_equal(ev->status, 0);
	/* One request, one event. */
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 0), 0);
}

static void test_example_plugin_reports_its_configured_bounds(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;
	uint64_t rel;

	open_example(f);
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, 1024 * MIB);
	assert_int_equal(info.min_bytes, 512 * MIB);
	assert_int_equal(info.max_bytes, 2048 * MIB);
	assert_int_equal(info.block_bytes, 128 * MIB);
	assert_int_equal(f->ops->releasable(f->state, &rel), 0);
	assert_int_equal(rel, 512 * MIB);
}

static void test_example_plugin_resizes_through_its_fd(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;
	struct vmrd_backend_event ev;

	open_example(f);
	run(f, 1, 1536 * MIB, &ev);
	assert_string_equal(ev.reason, "ok");
	assert_int_equal(ev.current_bytes, 1536 * MIB);
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, 1536 * MIB);
	/* Partial blocks round down. */
	run(f, 2, 1600 * MIB, &ev);
	assert_int_equal(ev.current_bytes, 1536 * MIB);
}

static void test_example_plugin_respects_min_and_max(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	open_example(f);
	run(f, 1, 64ull << 30, &ev);
	assert_string_equal(ev.reason, "at_max");
	assert_int_equal(ev.current_bytes, 2048 * MIB);
	run(f, 2, 0, &ev);
	assert_string_equal(ev.reason, "at_min");
	assert_int_equal(ev.current_bytes, 512 * MIB);
}

static void test_example_plugin_allows_one_request_at_a_time(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_request req = { .seq = 1, .target_bytes = 1024 * MIB };
	struct vmrd_backend_event ev;

	open_example(f);
	assert_int_equal(f->ops->request(f->state, &req), 0);
	assert_int_equal(f->ops->request(f->state, &req), -EBUSY);
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 5000), 1);
	assert_int_equal(f->ops->request(f->state, &req), 0);
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 5000), 1);
}

static void test_plugin_backend_refuses_mismatch_and_says_why(void **state)
{
	struct fixture *f = *state;

	f->cfg.kv[0] = "path";
	f->cfg.kv[1] = MISMATCH_PLUGIN_PATH;
	assert_int_equal(f->ops->open(&f->env, &f->state), -EPROTONOSUPPORT);
	assert_non_null(backend_last_error());
	assert_non_null(strstr(backend_last_error(), "ABI version 999"));
	f->state = NULL;
	f->cfg.kv[0] = NULL;
	assert_int_equal(f->ops->open(&f->env, &f->state), -EINVAL);
	assert_non_null(strstr(backend_last_error(), "path"));
	f->state = NULL;
}

static void test_plugin_open_error_is_forwarded(void **state)
{
	struct fixture *f = *state;

	open_example(f);
	f->ops->close(f->state);
	f->state = NULL;
	/* min above max: the example's own open() refuses. */
	f->cfg.kv[3] = "4G";
	assert_int_equal(f->ops->open(&f->env, &f->state), -EINVAL);
	assert_non_null(strstr(backend_last_error(), "example"));
	f->state = NULL;
}

static void test_errno_reason_words(void **state)
{
	char buf[VMRD_BACKEND_REASON_MAX];

	backend_errno_reason(-EBUSY, buf, sizeof(buf));
	assert_string_equal(buf, "ebusy");
	backend_errno_reason(-ETIMEDOUT, buf, sizeof(buf));
	assert_string_equal(buf, "etimedout");
	backend_errno_reason(-99999, buf, sizeof(buf));
	assert_string_equal(buf, "error");
	backend_errno_reason(-EBUSY, buf, 3);
	assert_string_equal(buf, "eb");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_knows_the_builtin_backends),
		cmocka_unit_test(test_mismatched_plugin_is_refused_with_a_clear_message),
		cmocka_unit_test(test_missing_or_foreign_files_are_refused),
		cmocka_unit_test_setup_teardown(test_example_plugin_reports_its_configured_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_example_plugin_resizes_through_its_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_example_plugin_respects_min_and_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_example_plugin_allows_one_request_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_backend_refuses_mismatch_and_says_why, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_open_error_is_forwarded, setup, teardown),
		cmocka_unit_test(test_errno_reason_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
