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
#include "host/state.h"

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

	st.n = 2;
	snprintf(st.entries[0].name, sizeof(st.entries[0].name), "web");
	st.entries[0].target_bytes = 1536 * MIB;
	snprintf(st.entries[1].name, sizeof(st.entries[1].name), "db");
	st.entries[1].target_bytes = 512 * MIB;
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
	st.n = 1;
	snprintf(st.entries[0].name, sizeof(st.entries[0].name), "vm1");
	st.entries[0].target_bytes = 42;
	assert_int_equal(state_save(path, &st), 0);
	assert_int_equal(access(tmp, F_OK), -1); /* no temporary left behind */
	assert_int_equal(state_load(path, &back), 0);
	assert_int_equal(back.n, 1);
	assert_true(back.entries[0].target_bytes == 42);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file_sets_every_value),
		cmocka_unit_test(test_vm_argument_matches_file_keys),
		cmocka_unit_test(test_budget_auto_is_memtotal_minus_reserve),
		cmocka_unit_test(test_state_round_trip_and_damage),
		cmocka_unit_test(test_state_save_is_atomic_and_loadable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
