/* SPDX-License-Identifier: MIT */
/*
 * The exec backend with the helper scripts beside this file.  rootfd is a
 * copy of tests/data/backends/exec-tree (proc/meminfo: MemTotal 1113972 kB).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/backend.h"
#include "testutil.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define MEMTOTAL_BYTES (UINT64_C(1113972) * 1024)

struct fixture {
	char *dir;
	int rootfd;
	char command[512];
	struct testutil_config cfg;
	struct vmrd_backend_env env;
	const struct vmrd_backend_ops *ops;
	void *state;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = testutil_tree_copy("exec-tree");
	f->rootfd = testutil_open_dir(f->dir);
	assert_true(f->rootfd >= 0);
	f->env.abi_version = VMRD_BACKEND_ABI_VERSION;
	f->env.rootfd = f->rootfd;
	f->env.config_get = testutil_config_get;
	f->env.config_ctx = &f->cfg;
	f->ops = backend_lookup("exec");
	assert_non_null(f->ops);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->state)
		f->ops->close(f->state);
	close(f->rootfd);
	testutil_tree_remove(f->dir);
	free(f);
	return 0;
}

/* Open with command (and optional extra key/value pairs) plus max = 8G. */
static void open_with(struct fixture *f, const char *command, const char *k1, const char *v1)
{
	snprintf(f->command, sizeof(f->command), "%s", command);
	f->cfg.kv[0] = "command";
	f->cfg.kv[1] = f->command;
	f->cfg.kv[2] = "max";
	f->cfg.kv[3] = "8G";
	f->cfg.kv[4] = k1;
	f->cfg.kv[5] = v1;
	assert_int_equal(f->ops->open(&f->env, &f->state), 0);
}

static void run(struct fixture *f, uint64_t seq, uint64_t target, uint32_t urgency,
		struct vmrd_backend_event *ev)
{
	struct vmrd_backend_request req = { .seq = seq, .target_bytes = target, .urgency = urgency };

	snprintf(req.reason, sizeof(req.reason), "low_headroom");
	assert_int_equal(f->ops->request(f->state, &req), 0);
	assert_int_equal(testutil_wait_event(f->ops, f->state, ev, 10000), 1);
	assert_int_equal(ev->type, VMRD_BACKEND_EV_DONE);
	assert_int_equal(ev->seq, seq);
}

static void test_success_passes_target_as_argument_and_environment(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char cmd[512], out[256];

	snprintf(cmd, sizeof(cmd), "'%s/exec-record.sh' '%s/out' \"$1\"", BACKENDS_SCRIPT_DIR, f->dir);
	open_with(f, cmd, NULL, NULL);
	run(f, 42, 2 * GIB, VMRD_URGENCY_HIGH, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	assert_int_equal(ev.current_bytes, 2 * GIB);
	assert_true(testutil_read(f->dir, "out", out, sizeof(out)) > 0);
	assert_string_equal(out, "2147483648 2147483648 42 high low_headroom\n");
	/* The descriptor stays the same from request to request. */
	int fd = f->ops->fd(f->state);
	run(f, 43, 3 * GIB, VMRD_URGENCY_LOW, &ev);
	assert_int_equal(f->ops->fd(f->state), fd);
	assert_true(testutil_read(f->dir, "out", out, sizeof(out)) > 0);
	assert_string_equal(out, "3221225472 3221225472 43 low low_headroom\n");
}

static void test_printed_size_becomes_current(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "'%s/exec-print.sh'", BACKENDS_SCRIPT_DIR);
	open_with(f, cmd, NULL, NULL);
	run(f, 1, 2 * GIB, VMRD_URGENCY_NORMAL, &ev);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, 2 * GIB - MIB);
	assert_int_equal(ev.target_bytes, 2 * GIB - MIB);
}

static void test_nonzero_exit_is_eio_with_the_code(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "'%s/exec-fail.sh'", BACKENDS_SCRIPT_DIR);
	open_with(f, cmd, NULL, NULL);
	run(f, 1, 2 * GIB, VMRD_URGENCY_NORMAL, &ev);
	assert_int_equal(ev.status, -EIO);
	assert_string_equal(ev.reason, "exit_3");
}

static void test_death_by_signal_is_named(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	open_with(f, "kill -TERM $$", NULL, NULL);
	run(f, 1, 2 * GIB, VMRD_URGENCY_NORMAL, &ev);
	assert_int_equal(ev.status, -EIO);
	assert_string_equal(ev.reason, "signal_15");
}

static bool process_gone(pid_t pid)
{
	char path[64], buf[256];
	FILE *fp;
	char *p;
	bool gone;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return true;
	gone = fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')) && p[1] == ' ' &&
	       (p[2] == 'Z' || p[2] == 'X');
	fclose(fp);
	return gone;
}

static void test_timeout_kills_the_process_group(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char cmd[512], buf[32];
	pid_t child;

	snprintf(cmd, sizeof(cmd), "'%s/exec-hang.sh' '%s/pid'", BACKENDS_SCRIPT_DIR, f->dir);
	open_with(f, cmd, "timeout", "300ms");
	run(f, 1, 2 * GIB, VMRD_URGENCY_NORMAL, &ev);
	assert_int_equal(ev.status, -ETIMEDOUT);
	assert_string_equal(ev.reason, "timeout");
	assert_true(testutil_read(f->dir, "pid", buf, sizeof(buf)) > 0);
	child = (pid_t)atoi(buf);
	assert_true(child > 1);
	for (int i = 0; i < 200 && !process_gone(child); i++)
		poll(NULL, 0, 10);
	assert_true(process_gone(child));
}

static void test_chatty_command_cannot_block_on_its_pipe(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	/* A megabyte is far more than a pipe holds; the backend must keep draining. */
	open_with(f, "head -c 1048576 /dev/zero", "timeout", "20s");
	run(f, 1, 2 * GIB, VMRD_URGENCY_NORMAL, &ev);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, 2 * GIB);
}

static void test_query_uses_memtotal_and_config_bounds(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;

	open_with(f, "true", "block", "128M");
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, MEMTOTAL_BYTES);
	/* Without `min`, never below the size it started with. */
	assert_int_equal(info.min_bytes, MEMTOTAL_BYTES);
	assert_int_equal(info.max_bytes, 8 * GIB);
	assert_int_equal(info.block_bytes, 128 * MIB);
}

static void test_query_runs_current_command(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;

	open_with(f, "true", "current_command", "echo 3G");
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, 3 * GIB);
	assert_int_equal(info.block_bytes, 2 * MIB);
}

static void test_query_fails_when_current_command_fails(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;

	open_with(f, "true", "current_command", "echo 3G; exit 1");
	assert_int_equal(f->ops->query(f->state, &info), -EIO);
}

static void test_second_request_while_running_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_request req = { .seq = 1, .target_bytes = GIB };
	struct vmrd_backend_event ev;
	struct pollfd p;

	open_with(f, "sleep 0.3", NULL, NULL);
	assert_int_equal(f->ops->request(f->state, &req), 0);
	req.seq = 2;
	assert_int_equal(f->ops->request(f->state, &req), -EBUSY);
	p = (struct pollfd){ .fd = f->ops->fd(f->state), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 10000), 1);
	assert_int_equal(ev.seq, 1);
	assert_int_equal(ev.status, 0);
	assert_int_equal(f->ops->next_event(f->state, &ev), 0);
}

static void test_open_requires_command_and_max(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->ops->open(&f->env, &f->state), -EINVAL);
	assert_non_null(strstr(backend_last_error(), "command"));
	f->cfg.kv[0] = "command";
	f->cfg.kv[1] = "true";
	assert_int_equal(f->ops->open(&f->env, &f->state), -EINVAL);
	assert_non_null(strstr(backend_last_error(), "max"));
	f->cfg.kv[2] = "max";
	f->cfg.kv[3] = "8G";
	f->cfg.kv[4] = "timeout";
	f->cfg.kv[5] = "soon";
	assert_int_equal(f->ops->open(&f->env, &f->state), -EINVAL);
	assert_non_null(strstr(backend_last_error(), "soon"));
	f->state = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success_passes_target_as_argument_and_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_printed_size_becomes_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonzero_exit_is_eio_with_the_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_death_by_signal_is_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_the_process_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chatty_command_cannot_block_on_its_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_uses_memtotal_and_config_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_runs_current_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_fails_when_current_command_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_request_while_running_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_requires_command_and_max, setup, teardown),
	};

	/* The backend reaps its own children; make sure nothing reaps them first. */
	signal(SIGCHLD, SIG_DFL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
