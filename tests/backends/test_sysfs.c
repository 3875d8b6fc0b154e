/* SPDX-License-Identifier: MIT */
/*
 * The sysfs backend against a copy of tests/data/backends/sysfs-tree, never
 * the machine's own /sys.  The tree has 24 blocks of 128 MiB: memory0-15
 * boot memory (none/DMA32/Normal), memory16-19 online in ZONE_MOVABLE
 * (memory17 reads removable 0) and memory20-23 offline.
 *
 * A plain file cannot refuse a write from root the way the kernel refuses
 * to offline a busy block (a directory named `state` would also break the
 * scan that reads it), so most tests install a small fake kernel as the
 * state writer: it refuses what the test says with the errno the test
 * says, and otherwise rewrites state and valid_zones as the kernel would
 * show them.  One test uses the real writer (memblock_set_state).
 */
#include <errno.h>
#include <fcntl.h>
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
#include "backends/sysfs.h"
#include "testutil.h"

#define MIB (UINT64_C(1) << 20)
#define BLOCK (128 * MIB)

struct fake_kernel {
	int busy_ids[8];
	size_t n_busy;
	int busy_errno;
	int no_movable_ids[8];
	size_t n_no_movable;
	int gate_fd; /* >= 0: each write first waits for a byte here */
	char log[64][32];
	size_t n_log;
};

struct fixture {
	char *dir;
	int rootfd;
	struct testutil_config cfg;
	struct vmrd_backend_env env;
	const struct vmrd_backend_ops *ops;
	void *state;
	struct fake_kernel fk;
};

static bool in_list(const int *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if ((uint32_t)ids[i] == id)
			return true;
	return false;
}

static int put(int rootfd, uint32_t id, const char *attr, const char *text)
{
	char path[128];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "sys/devices/system/memory/memory%u/%s", id, attr);
	fd = openat(rootfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static int fake_kernel_write(int rootfd, uint32_t id, const char *state, void *ctx)
{
	struct fake_kernel *fk = ctx;
	char c;
	int r;

	if (fk->gate_fd >= 0 && read(fk->gate_fd, &c, 1) != 1)
		return -EIO;
	if (fk->n_log < 64)
		snprintf(fk->log[fk->n_log++], sizeof(fk->log[0]), "%u:%s", id, state);
	if (in_list(fk->busy_ids, fk->n_busy, id))
		return -fk->busy_errno;
	if (strcmp(state, "online_movable") == 0) {
		if (in_list(fk->no_movable_ids, fk->n_no_movable, id))
			return -EINVAL;
		r = put(rootfd, id, "state", "online\n");
		return r < 0 ? r : put(rootfd, id, "valid_zones", "Movable\n");
	}
	if (strcmp(state, "online") == 0 || strcmp(state, "online_kernel") == 0) {
		r = put(rootfd, id, "state", "online\n");
		return r < 0 ? r : put(rootfd, id, "valid_zones", "Normal\n");
	}
	if (strcmp(state, "offline") == 0) {
		r = put(rootfd, id, "state", "offline\n");
		return r < 0 ? r : put(rootfd, id, "valid_zones", "Normal Movable\n");
	}
	return -EINVAL;
}

static int setup_cfg(void **state, const char *const *kv, bool fake)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = testutil_tree_copy("sysfs-tree");
	f->rootfd = testutil_open_dir(f->dir);
	assert_true(f->rootfd >= 0);
	for (size_t i = 0; kv && kv[i]; i++)
		f->cfg.kv[i] = kv[i];
	f->env.abi_version = VMRD_BACKEND_ABI_VERSION;
	f->env.rootfd = f->rootfd;
	f->env.config_get = testutil_config_get;
	f->env.config_ctx = &f->cfg;
	f->ops = backend_lookup("sysfs");
	assert_non_null(f->ops);
	assert_int_equal(f->ops->open(&f->env, &f->state), 0);
	f->fk.gate_fd = -1;
	f->fk.busy_errno = EBUSY;
	if (fake)
		sysfs_backend_set_writer(f->state, fake_kernel_write, &f->fk);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cfg(state, NULL, true);
}

static int setup_real_writer(void **state)
{
	return setup_cfg(state, NULL, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->ops->close(f->state);
	close(f->rootfd);
	testutil_tree_remove(f->dir);
	free(f);
	return 0;
}

static const char *block_state(struct fixture *f, int id)
{
	static char buf[64];
	char rel[96];

	snprintf(rel, sizeof(rel), "sys/devices/system/memory/memory%d/state", id);
	assert_true(testutil_read(f->dir, rel, buf, sizeof(buf)) > 0);
	return buf;
}

/* Request target and wait for the DONE event (5 s at most). */
static void run_zone(struct fixture *f, uint64_t seq, uint64_t target, enum vmrd_zone zone,
		     struct vmrd_backend_event *ev)
{
	struct vmrd_backend_request req = { .seq = seq, .target_bytes = target, .zone = zone };

	assert_int_equal(f->ops->request(f->state, &req), 0);
	assert_int_equal(testutil_wait_event(f->ops, f->state, ev, 5000), 1);
	assert_int_equal(ev->type, VMRD_BACKEND_EV_DONE);
	assert_int_equal(ev->seq, seq);
}

static void run(struct fixture *f, uint64_t seq, uint64_t target, struct vmrd_backend_event *ev)
{
	run_zone(f, seq, target, VMRD_ZONE_MOVABLE, ev);
}

static void test_survey_counts_online_blocks_and_unremovable_memory(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;
	uint64_t rel;

	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.block_bytes, BLOCK);
	assert_int_equal(info.current_bytes, 20 * BLOCK);
	/* Boot memory (16 blocks) and the non-removable memory17. */
	assert_int_equal(info.min_bytes, 17 * BLOCK);
	assert_int_equal(info.max_bytes, 24 * BLOCK);
	assert_non_null(f->ops->releasable);
	assert_int_equal(f->ops->releasable(f->state, &rel), 0);
	assert_int_equal(rel, 3 * BLOCK);
}

static void test_grow_onlines_lowest_offline_blocks_as_movable(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	struct vmrd_backend_info info;

	run(f, 7, 22 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	assert_int_equal(ev.current_bytes, 22 * BLOCK);
	assert_string_equal(block_state(f, 20), "online\n");
	assert_string_equal(block_state(f, 21), "online\n");
	assert_string_equal(block_state(f, 22), "offline\n");
	assert_string_equal(block_state(f, 23), "offline\n");
	assert_int_equal(f->fk.n_log, 2);
	assert_string_equal(f->fk.log[0], "20:online_movable");
	assert_string_equal(f->fk.log[1], "21:online_movable");
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, 22 * BLOCK);
}

/* A grow for unmovable memory onlines its blocks into the kernel zones, which are not releasable. */
static void test_kernel_zone_grow_onlines_kernel_blocks(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	uint64_t rel;

	run_zone(f, 3, 21 * BLOCK, VMRD_ZONE_KERNEL, &ev);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, 21 * BLOCK);
	assert_int_equal(f->fk.n_log, 1);
	assert_string_equal(f->fk.log[0], "20:online_kernel");
	assert_string_equal(block_state(f, 20), "online\n");
	assert_int_equal(f->ops->releasable(f->state, &rel), 0);
	assert_int_equal(rel, 3 * BLOCK);
}

static void test_grow_falls_back_to_online_when_movable_refused(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char zones[64];

	f->fk.no_movable_ids[f->fk.n_no_movable++] = 20;
	run(f, 1, 21 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	assert_string_equal(block_state(f, 20), "online\n");
	assert_string_equal(f->fk.log[0], "20:online_movable");
	assert_string_equal(f->fk.log[1], "20:online");
	assert_true(testutil_read(f->dir, "sys/devices/system/memory/memory20/valid_zones", zones,
				  sizeof(zones)) > 0);
	assert_string_equal(zones, "Normal\n");
}

static void test_grow_rounds_a_partial_block_up(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	run(f, 1, 20 * BLOCK + 1, &ev);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, 21 * BLOCK);
	assert_string_equal(block_state(f, 21), "offline\n");
}

static void test_grow_beyond_max_onlines_every_present_block(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	run(f, 1, 1000 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	assert_int_equal(ev.current_bytes, 24 * BLOCK);
	for (int id = 20; id < 24; id++)
		assert_string_equal(block_state(f, id), "online\n");
}

static void test_shrink_offlines_highest_movable_blocks_first(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	run(f, 3, 18 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	assert_int_equal(ev.current_bytes, 18 * BLOCK);
	assert_string_equal(block_state(f, 19), "offline\n");
	assert_string_equal(block_state(f, 18), "offline\n");
	assert_string_equal(block_state(f, 16), "online\n");
	assert_string_equal(f->fk.log[0], "19:offline");
	assert_string_equal(f->fk.log[1], "18:offline");
}

static void test_shrink_never_touches_boot_or_unremovable_blocks(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	run(f, 1, 0, &ev);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, 17 * BLOCK);
	assert_int_equal(f->fk.n_log, 3);
	assert_string_equal(block_state(f, 16), "offline\n");
	assert_string_equal(block_state(f, 17), "online\n");
	for (int id = 0; id < 16; id++)
		assert_string_equal(block_state(f, id), "online\n");
}

static void test_shrink_skips_busy_block_and_keeps_going(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	f->fk.busy_ids[f->fk.n_busy++] = 19;
	run(f, 1, 19 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	assert_string_equal(block_state(f, 19), "online\n");
	assert_string_equal(block_state(f, 18), "offline\n");
}

static void test_shrink_with_busy_blocks_reports_partial(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	f->fk.busy_ids[f->fk.n_busy++] = 19;
	f->fk.busy_ids[f->fk.n_busy++] = 18;
	run(f, 1, 18 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "partial");
	assert_int_equal(ev.current_bytes, 19 * BLOCK);
	assert_string_equal(block_state(f, 16), "offline\n");
	assert_string_equal(block_state(f, 18), "online\n");
	assert_string_equal(block_state(f, 19), "online\n");
}

static void test_shrink_all_busy_reports_ebusy(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	f->fk.busy_ids[f->fk.n_busy++] = 16;
	f->fk.busy_ids[f->fk.n_busy++] = 18;
	f->fk.busy_ids[f->fk.n_busy++] = 19;
	run(f, 1, 18 * BLOCK, &ev);
	assert_int_equal(ev.status, -EBUSY);
	assert_string_equal(ev.reason, "ebusy");
	assert_int_equal(ev.current_bytes, 20 * BLOCK);
}

static void test_grow_eagain_everywhere_reports_ebusy(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	f->fk.busy_errno = EAGAIN;
	for (int id = 20; id < 24; id++)
		f->fk.busy_ids[f->fk.n_busy++] = id;
	run(f, 1, 22 * BLOCK, &ev);
	assert_int_equal(ev.status, -EBUSY);
	assert_string_equal(ev.reason, "ebusy");
	assert_int_equal(ev.current_bytes, 20 * BLOCK);
}

static void test_other_errors_are_named_in_the_reason(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	f->fk.busy_errno = EIO;
	for (int id = 20; id < 24; id++)
		f->fk.busy_ids[f->fk.n_busy++] = id;
	run(f, 1, 21 * BLOCK, &ev);
	assert_int_equal(ev.status, -EIO);
	assert_string_equal(ev.reason, "eio");
}

static void test_target_equal_to_current_is_a_noop(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	run(f, 9, 20 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "noop");
	assert_int_equal(f->fk.n_log, 0);
}

static void test_request_completes_on_worker_through_fd(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_request req = { .seq = 5, .target_bytes = 22 * BLOCK };
	struct vmrd_backend_event ev;
	struct pollfd p;
	int gate[2];

	assert_int_equal(pipe(gate), 0);
	f->fk.gate_fd = gate[0];
	/* The writer is held at the gate: request() must return regardless. */
	assert_int_equal(f->ops->request(f->state, &req), 0);
	assert_int_equal(f->ops->next_event(f->state, &ev), 0);
	p = (struct pollfd){ .fd = f->ops->fd(f->state), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 50), 0);
	/* At most one request is outstanding. */
	req.seq = 6;
	assert_int_equal(f->ops->request(f->state, &req), -EBUSY);
	assert_int_equal(write(gate[1], "xxxxxxxx", 8), 8);
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 5000), 1);
	assert_int_equal(ev.seq, 5);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, 22 * BLOCK);
	/* Exactly one event per request. */
	assert_int_equal(f->ops->next_event(f->state, &ev), 0);
	close(gate[0]);
	close(gate[1]);
	f->fk.gate_fd = -1;
}

static void test_real_writer_writes_online_movable_to_state_file(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	run(f, 1, 21 * BLOCK, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "ok");
	/* The tree is no kernel: the file keeps the word that was written. */
	assert_memory_equal(block_state(f, 20), "online_movable", 14);
	assert_string_equal(block_state(f, 21), "offline\n");
	assert_int_equal(ev.current_bytes, 21 * BLOCK);
}

static void test_config_min_and_max_narrow_the_range(void **state)
{
	static const char *const kv[] = { "min", "2560M", "max", "2816M", NULL };
	struct vmrd_backend_info info;
	struct vmrd_backend_event ev;
	struct fixture *f;

	setup_cfg(state, kv, true);
	f = *state;
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.min_bytes, 20 * BLOCK);
	assert_int_equal(info.max_bytes, 22 * BLOCK);
	run(f, 1, 0, &ev);
	assert_string_equal(ev.reason, "noop");
	run(f, 2, 24 * BLOCK, &ev);
	assert_int_equal(ev.current_bytes, 22 * BLOCK);
	teardown(state);
}

static void test_open_refuses_bad_config_and_missing_tree(void **state)
{
	static const char *const bad[] = { "min", "lots", NULL };
	struct testutil_config cfg = { 0 };
	struct vmrd_backend_env env = { .abi_version = VMRD_BACKEND_ABI_VERSION,
					.config_get = testutil_config_get,
					.config_ctx = &cfg };
	const struct vmrd_backend_ops *ops = backend_lookup("sysfs");
	char *dir = testutil_tree_copy("exec-tree"); /* no sys/ in it */
	void *st;

	env.rootfd = testutil_open_dir(dir);
	assert_int_equal(ops->open(&env, &st), -ENOENT);
	assert_non_null(backend_last_error());
	close(env.rootfd);
	testutil_tree_remove(dir);

	dir = testutil_tree_copy("sysfs-tree");
	env.rootfd = testutil_open_dir(dir);
	cfg.kv[0] = bad[0];
	cfg.kv[1] = bad[1];
	assert_int_equal(ops->open(&env, &st), -EINVAL);
	assert_non_null(strstr(backend_last_error(), "lots"));
	close(env.rootfd);
	testutil_tree_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_survey_counts_online_blocks_and_unremovable_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_onlines_lowest_offline_blocks_as_movable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_falls_back_to_online_when_movable_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_rounds_a_partial_block_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_beyond_max_onlines_every_present_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_offlines_highest_movable_blocks_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_never_touches_boot_or_unremovable_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_skips_busy_block_and_keeps_going, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_with_busy_blocks_reports_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shrink_all_busy_reports_ebusy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow_eagain_everywhere_reports_ebusy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_errors_are_named_in_the_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_equal_to_current_is_a_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_completes_on_worker_through_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_writer_writes_online_movable_to_state_file, setup_real_writer, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_zone_grow_onlines_kernel_blocks, setup, teardown),
		cmocka_unit_test(test_config_min_and_max_narrow_the_range),
		cmocka_unit_test(test_open_refuses_bad_config_and_missing_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
