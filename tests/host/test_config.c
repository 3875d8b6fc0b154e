/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "host/config.h"
#include "common/loop.h"
#include "host/state.h"
#include "host/state_writer.h"

#define MIB (1ull << 20)

static void test_good_file_sets_every_value(void **state)
{
	static struct config cfg;
	char *errs = NULL;
	size_t n = 0;
	FILE *err = open_memstream(&errs, &n);

	config_defaults(&cfg);
	assert_int_equal(config_load(HOST_TEST_DATA "/config/good.conf", &cfg, err), 0);
	assert_int_equal(config_finish(&cfg, "good.conf", 0, 0, 0, err), 0);
	fclose(err);
	assert_string_equal(errs, "");
	free(errs);
	assert_false(cfg.budget_auto);
	assert_true(cfg.budget_bytes == 6144 * MIB);
	assert_true(cfg.reserve_bytes == 512 * MIB);
	assert_int_equal(cfg.host_psi_some_centi, 1550);
	assert_int_equal(cfg.host_psi_full_centi, 500); /* default */
	assert_int_equal(cfg.error_limit, 10);
	assert_int_equal(cfg.n_vms, 2);
	assert_string_equal(cfg.vms[0].name, "web");
	assert_string_equal(cfg.vms[0].vmem_id, "vmem0");
	assert_true(cfg.vms[0].max_bytes == 4096 * MIB);
	assert_int_equal(cfg.vms[0].weight, 200);
	assert_string_equal(cfg.vms[1].balloon_id, "balloon0");
	assert_int_equal(cfg.vms[1].weight, 100);
	config_free(&cfg);
	assert_int_equal(cfg.n_vms, 0);
}

/*
 * No VM limit: 2,000 [vm] sections and 2,000 --vm are all kept, in order,
 * a copy owns its own list, and a duplicate name among them is still an
 * error with its file:line.
 */
static void test_thousands_of_vms(void **state)
{
	static struct config cfg, copy;
	char path[] = "/tmp/vmrd-host-conf.XXXXXX", arg[160];
	FILE *f, *err = fopen("/dev/null", "w");
	char *errs = NULL;
	size_t n = 0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "budget = 100T\n");
	for (int i = 0; i < 2000; i++)
		fprintf(f, "[vm f%d]\nqmp = /q/f%d\nchannel = /c/f%d\nvirtio_mem = m\nmin = 1G\nmax = 2G\n",
			i, i, i);
	fclose(f);
	config_defaults(&cfg);
	assert_int_equal(config_load(path, &cfg, err), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(arg, sizeof(arg), "name=a%d,qmp=/q/a%d,channel=/c/a%d,virtio-mem=m,min=1G,max=2G",
			 i, i, i);
		assert_int_equal(config_add_vm_arg(&cfg, arg, err), 0);
	}
	assert_int_equal(cfg.n_vms, 4000);
	assert_string_equal(cfg.vms[1999].name, "f1999");
	assert_string_equal(cfg.vms[3999].name, "a1999");
	assert_int_equal(config_finish(&cfg, path, 0, 0, 0, err), 0);
	assert_int_equal(config_copy(&copy, &cfg), 0);
	assert_ptr_not_equal(copy.vms, cfg.vms);
	config_free(&cfg);
	assert_string_equal(copy.vms[3999].qmp_path, "/q/a1999");

	/* A second f7 after the 2,000 file VMs: the error names both places. */
	fclose(err);
	err = open_memstream(&errs, &n);
	assert_int_equal(config_add_vm_arg(&copy, "name=f7,qmp=/q/x,channel=/c/x,virtio-mem=m,min=1G,max=2G",
					   err), 0);
	assert_int_equal(config_finish(&copy, path, 0, 0, 0, err), -EINVAL);
	fclose(err);
	assert_non_null(strstr(errs, "--vm: [vm f7] name already used at "));
	assert_non_null(strstr(errs, ":44\n"));
	free(errs);
	config_free(&copy);
	unlink(path);
}

static void test_vm_argument_matches_file_keys(void **state)
{
	static const struct {
		const char *arg;
		int ret;
		const char *err;
	} cases[] = {
		{ "name=a,qmp=/q,channel=/c,virtio-mem=vmem0,min=512M,max=2G,weight=3", 0, "" },
		{ "name=a,qmp=/q,colour=red", -EINVAL, "--vm: colour: unknown key\n" },
		{ "qmp=/q", -EINVAL, "--vm: name= is required\n" },
		{ "name=a b", -EINVAL, "--vm: invalid VM name 'a b'\n--vm: name= is required\n" },
		{ "name=a,min=lots", -EINVAL, "--vm: min = 'lots': expected a size such as 4096, 512M or 2G\n" },
		{ "name=a,qmp", -EINVAL, "--vm: expected key=value, got 'qmp'\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct config cfg;
		char *errs = NULL;
		size_t n = 0;
		FILE *err = open_memstream(&errs, &n);

		config_defaults(&cfg);
		assert_int_equal(config_add_vm_arg(&cfg, cases[i].arg, err), cases[i].ret);
		fclose(err);
		assert_string_equal(errs, cases[i].err);
		free(errs);
		assert_int_equal(cfg.n_vms, cases[i].ret == 0);
		config_free(&cfg);
	}
}

static void test_budget_auto_is_memtotal_minus_reserve(void **state)
{
	static struct config cfg;
	FILE *err = fopen("/dev/null", "w");

	config_defaults(&cfg);
	assert_true(cfg.budget_auto);
	assert_int_equal(config_finish(&cfg, "x", 8192 * MIB, 0, 0, err), 0);
	assert_true(cfg.budget_bytes == 7168 * MIB);
	config_defaults(&cfg);
	assert_int_equal(config_finish(&cfg, "x", 512 * MIB, 0, 0, err), -EINVAL);
	fclose(err);
}

static void test_state_round_trip_and_damage(void **unused)
{
	static struct state st, back;
	char buf[4096];
	const char *damaged = "# vmrd-host state v1\nvm a target=1073741824\nvm b target=12x\n"
			      "garbage\nvm a target=5\nvm c target=536870912";
	int len;

	assert_int_equal(state_add(&st, "web", 1536 * MIB), 0);
	assert_int_equal(state_add(&st, "db", 512 * MIB), 0);
	len = state_format(&st, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(state_parse(buf, (size_t)len, &back), 0);
	assert_int_equal(back.n, 2);
	assert_true(state_find(&back, "web")->target_bytes == 1536 * MIB);
	assert_int_equal(state_format(&st, buf, 30), -ENOSPC);

	/* Bad lines are skipped, the first entry for a name wins, a last line needs no newline. */
	assert_int_equal(state_parse(damaged, strlen(damaged), &back), 0);
	assert_int_equal(back.n, 2);
	assert_true(state_find(&back, "a")->target_bytes == 1024 * MIB);
	assert_null(state_find(&back, "b"));
	assert_true(state_find(&back, "c")->target_bytes == 512 * MIB);
	state_free(&st);
	state_free(&back);
}

/* 5,000 VMs in the state: every one is found, the first of a repeated name wins, and it round-trips. */
static void test_state_of_thousands(void **unused)
{
	static struct state st, back;
	char name[CONFIG_NAME_MAX];
	size_t size = 5001 * STATE_LINE_MAX + STATE_HEADER_MAX;
	char *buf = malloc(size);
	int len;

	assert_non_null(buf);
	for (int i = 4999; i >= 0; i--) {
		snprintf(name, sizeof(name), "vm-%d", i);
		assert_int_equal(state_add(&st, name, (uint64_t)i * MIB), 0);
	}
	assert_int_equal(state_add(&st, "vm-17", 1), 0);
	assert_int_equal(state_sort(&st), 0);
	assert_int_equal(st.n, 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "vm-%d", i);
		assert_non_null(state_find(&st, name));
		assert_true(state_find(&st, name)->target_bytes == (uint64_t)i * MIB);
	}
	assert_null(state_find(&st, "vm-5000"));
	len = state_format(&st, buf, size);
	assert_true(len > 0);
	assert_int_equal(state_parse(buf, (size_t)len, &back), 0);
	assert_int_equal(back.n, 5000);
	assert_true(state_find(&back, "vm-4321")->target_bytes == 4321 * MIB);
	free(buf);
	state_free(&st);
	state_free(&back);
}

struct written {
	unsigned calls;
	int last_r;
	size_t last_n;
};

static void on_written(void *ctx, int r, struct state *st)
{
	struct written *w = ctx;

	w->calls++;
	w->last_r = r;
	w->last_n = st->n;
}

/*
 * The writer thread: states submitted while a write runs are coalesced to
 * the newest, the file ends with the last one submitted, and done() says
 * so on the loop; a path that cannot be written is reported, not lost.
 */
static void test_state_writer_keeps_the_latest(void **unused)
{
	static const struct state_writer_ops ops = { .done = on_written };
	static struct state st, back;
	static struct state_writer sw;
	struct written w = { 0 };
	struct loop loop;
	char dir[] = "/tmp/vmrd-host-writer.XXXXXX";
	char path[64], name[16];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(loop_init(&loop), 0);
	state_writer_init(&sw, &loop, &ops, &w);
	assert_int_equal(state_writer_start(&sw), 0);
	for (int k = 1; k <= 20; k++) {
		st.n = 0;
		for (int i = 0; i < k; i++) {
			snprintf(name, sizeof(name), "vm%d", i);
			assert_int_equal(state_add(&st, name, (uint64_t)k * MIB), 0);
		}
		assert_int_equal(state_sort(&st), 0);
		state_writer_submit(&sw, path, &st);
		assert_int_equal(st.n, 0);
	}
	while (state_writer_busy(&sw))
		assert_true(loop_run_once(&loop, 5000) >= 0);
	/* The loop did not run between the submits: the first write, then only the last. */
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.last_r, 0);
	assert_int_equal(w.last_n, 20);
	assert_int_equal(state_load(path, &back), 0);
	assert_int_equal(back.n, 20);
	assert_true(state_find(&back, "vm19")->target_bytes == 20 * MIB);

	assert_int_equal(state_add(&st, "vm0", 1), 0);
	state_writer_submit(&sw, "/nonexistent-dir/state", &st);
	while (state_writer_busy(&sw))
		assert_true(loop_run_once(&loop, 5000) >= 0);
	assert_int_equal(w.last_r, -ENOENT);
	state_writer_close(&sw);
	loop_close(&loop);
	state_free(&st);
	state_free(&back);
	unlink(path);
	rmdir(dir);
}

static void test_state_save_is_atomic_and_loadable(void **unused)
{
	static struct state st, back;
	char dir[] = "/tmp/vmrd-host-state.XXXXXX";
	char path[64], tmp[80];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(state_load(path, &back), 0); /* missing is empty */
	assert_int_equal(back.n, 0);
	assert_int_equal(state_add(&st, "vm1", 42), 0);
	assert_int_equal(state_save(path, &st), 0);
	assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */
	assert_int_equal(state_load(path, &back), 0);
	assert_int_equal(back.n, 1);
	assert_true(back.entries[0].target_bytes == 42);
	unlink(path);
	rmdir(dir);
	state_free(&st);
	state_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file_sets_every_value),
		cmocka_unit_test(test_vm_argument_matches_file_keys),
		cmocka_unit_test(test_thousands_of_vms),
		cmocka_unit_test(test_state_of_thousands),
		cmocka_unit_test(test_state_writer_keeps_the_latest),
		cmocka_unit_test(test_budget_auto_is_memtotal_minus_reserve),
		cmocka_unit_test(test_state_round_trip_and_damage),
		cmocka_unit_test(test_state_save_is_atomic_and_loadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
