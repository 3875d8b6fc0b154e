/* SPDX-License-Identifier: MIT */
/*
 * What a VM costs the host: QEMU's /proc/PID/status (captured from QEMU
 * 7.2), the smoothing of its overhead, and the budget's cgroup as v2 and as
 * a hybrid host (v1 memory controller, unified PSI) keep it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fileio.h"
#include "host/footprint.h"
#include "host/hostmem.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)

static size_t load(const char *name, char *buf, size_t size)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/status/%s", HOST_TEST_DATA, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void test_status_of_qemu_and_of_a_kernel_thread(void **state)
{
	char buf[8192];
	size_t n = load("qemu-7.2-paused.status", buf, sizeof(buf));
	struct footprint_sample fs = { 0 };

	assert_int_equal(footprint_parse_status(buf, n, &fs), 0);
	assert_true(fs.rss_bytes == 38508 * KIB);
	assert_true(fs.anon_bytes == 16608 * KIB);
	assert_true(fs.file_bytes == 21900 * KIB);
	assert_true(fs.shmem_bytes == 0 && fs.swap_bytes == 0);
	/* A kernel thread holds no memory of its own: no VmRSS line at all. */
	n = load("kthread.status", buf, sizeof(buf));
	assert_int_equal(footprint_parse_status(buf, n, &fs), -ENODATA);
}

static void test_status_lines_it_knows_must_be_well_formed(void **state)
{
	static const struct {
		const char *text;
		int ret;
	} cases[] = {
		{ "Name:\tqemu\nVmRSS:\t  1024 kB\n", 0 },
		{ "VmRSS:\t1024 kB", 0 },                      /* no final newline */
		{ "VmRSS:\t1024\n", -EINVAL },                 /* no unit */
		{ "VmRSS:\t1024 MB\n", -EINVAL },
		{ "VmRSS:\t-5 kB\n", -EINVAL },
		{ "VmRSS:\t99999999999999999999 kB\n", -ERANGE },
		{ "VmRSS:\t18014398509481984 kB\n", -ERANGE }, /* 2^54 kB overflows bytes */
		{ "Name:\tqemu\n", -ENODATA },
		{ "", -ENODATA },
		{ "VmRSSx:\t1 kB\nVmRSS:\t2 kB\nGarbage without colon\n", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct footprint_sample fs = { .rss_bytes = 7 };
		int r = footprint_parse_status(cases[i].text, strlen(cases[i].text), &fs);

		if (r != cases[i].ret)
			fail_msg("case %zu: %d, want %d", i, r, cases[i].ret);
		if (r < 0)
			assert_true(fs.rss_bytes == 7); /* nothing written on failure */
	}
}

/* The overhead rises at once, falls slowly, and is what the guest's size does not explain. */
static void test_overhead_rises_at_once_and_falls_slowly(void **state)
{
	struct footprint f = { 0 };

	/* A guest that touched little: QEMU holds less than the guest's size, overhead 0. */
	footprint_update(&f, 300 * MIB, 512 * MIB);
	assert_true(f.valid && f.overhead_bytes == 0);
	/* It touches everything: 300M beyond its 512M show, at once. */
	footprint_update(&f, 812 * MIB, 512 * MIB);
	assert_true(f.overhead_bytes == 300 * MIB);
	/* It gives memory back (free page reporting): RSS drops, the overhead barely. */
	footprint_update(&f, 400 * MIB, 512 * MIB);
	assert_true(f.overhead_bytes < 300 * MIB && f.overhead_bytes > 290 * MIB);
	for (int i = 0; i < 59; i++)
		footprint_update(&f, 400 * MIB, 512 * MIB);
	/* A minute later about 1/e of it is left. */
	assert_true(f.overhead_bytes > 90 * MIB && f.overhead_bytes < 130 * MIB);
	assert_true(f.rss_bytes == 400 * MIB);
	/* The guest grew: its size explains more of the RSS. */
	footprint_update(&f, 2048 * MIB, 1792 * MIB);
	assert_true(f.overhead_bytes == 256 * MIB);
}

static int open_tree(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/cgroup/%s", HOST_TEST_DATA, name);
	return fileio_open_root(path);
}

static void test_cgroup_limit_usage_and_pressure(void **state)
{
	struct hostmem h;
	int root = open_tree("v2");

	assert_true(root >= 0);
	assert_int_equal(hostmem_read_cgroup(root, "/machine.slice", &h), 0);
	/* memory.high (3G) is below memory.max (4G): the kernel throttles there. */
	assert_true(h.limit_bytes == 3072 * MIB);
	assert_true(h.usage_bytes == 2048 * MIB && h.available_bytes == 1024 * MIB);
	assert_true(h.has_psi && h.psi_some_avg10_centi == 1250 && h.psi_full_avg10_centi == 425);
	assert_false(h.cgroup_v1);
	assert_int_equal(hostmem_read_cgroup(root, "/nope", &h), -ENOENT);
	close(root);

	/* A hybrid host: the limit from the v1 memory controller, PSI from the unified tree. */
	root = open_tree("hybrid");
	assert_int_equal(hostmem_read_cgroup(root, "/vms", &h), 0);
	assert_true(h.cgroup_v1);
	assert_true(h.limit_bytes == 3072 * MIB && h.usage_bytes == 1024 * MIB);
	assert_true(h.has_psi && h.psi_some_avg10_centi == 50);
	close(root);

	root = open_tree("nolimit");
	assert_int_equal(hostmem_read_cgroup(root, "/vms", &h), 0);
	assert_true(h.limit_bytes == HOSTMEM_UNLIMITED);
	assert_false(h.has_psi);
	close(root);
}

static void test_cgroup_limit_files_and_paths(void **state)
{
	static const struct {
		const char *text;
		int ret;
		uint64_t v;
	} limits[] = {
		{ "max\n", 0, HOSTMEM_UNLIMITED },
		{ "4294967296\n", 0, 4096 * MIB },
		{ "9223372036854771712\n", 0, HOSTMEM_UNLIMITED }, /* v1's "no limit" */
		{ "0\n", 0, 0 },
		{ "maximum\n", -EINVAL, 0 },
		{ "-1\n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	static const struct {
		const char *path;
		bool ok;
	} paths[] = {
		{ "/", true }, { "/machine.slice", true }, { "/a/b.scope", true },
		{ "machine.slice", false }, { "/a/../b", false }, { "/a/./b", false },
		{ "/a//b", false }, { "/a/", false }, { "", false },
	};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		uint64_t v = 1;
		int r = hostmem_parse_limit(limits[i].text, strlen(limits[i].text), &v);

		assert_int_equal(r, limits[i].ret);
		if (r == 0)
			assert_true(v == limits[i].v);
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (hostmem_cgroup_path_valid(paths[i].path) != paths[i].ok)
			fail_msg("path '%s'", paths[i].path);
}

#define SEC UINT64_C(1000000)

/* One RSS sample a second with the VM's virtio-mem and balloon sizes. */
static void gb(struct footprint_giveback *g, uint64_t t_sec, uint64_t rss_mib, uint64_t vmem_mib,
	       uint64_t balloon_mib)
{
	const uint64_t sizes[FOOTPRINT_MECH__MAX] = { vmem_mib * MIB, balloon_mib * MIB };

	footprint_giveback_sample(g, t_sec * SEC, rss_mib * MIB, sizes);
	/* The host never gets back more than the guest gave up. */
	for (int m = 0; m < FOOTPRINT_MECH__MAX; m++)
		assert_true(g->back_bytes[m] <= g->gave_up_bytes[m]);
}

/*
 * The balloon takes 256 MiB over three seconds while QEMU's RSS falls by
 * 184 MiB (the measured cache case): N counts at once, M once it settled.
 */
static void test_giveback_counts_the_rss_drop_once_settled(void **state)
{
	struct footprint_giveback g = { 0 };

	gb(&g, 0, 564, 0, 512);
	gb(&g, 1, 564, 0, 512);
	gb(&g, 2, 500, 0, 400);
	gb(&g, 3, 420, 0, 300);
	gb(&g, 4, 380, 0, 256);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_BALLOON], 256 * MIB);
	assert_int_equal(g.back_bytes[FOOTPRINT_BALLOON], 0);
	gb(&g, 13, 381, 0, 256);
	assert_true(g.open);
	gb(&g, 14, 380, 0, 256);
	assert_false(g.open);
	assert_int_equal(g.back_bytes[FOOTPRINT_BALLOON], 184 * MIB);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_VMEM], 0);
	assert_int_equal(g.back_bytes[FOOTPRINT_VMEM], 0);
}

/* A growth ends the episode at the sample before it; the RSS it adds is not the give-back's. */
static void test_giveback_ends_when_the_guest_grows(void **state)
{
	struct footprint_giveback g = { 0 };

	gb(&g, 0, 900, 512, 0);
	gb(&g, 1, 644, 256, 0);
	gb(&g, 2, 700, 384, 0);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_VMEM], 256 * MIB);
	assert_int_equal(g.back_bytes[FOOTPRINT_VMEM], 256 * MIB);
	/* RSS that rises over a give-back gives back nothing, never less. */
	gb(&g, 3, 700, 256, 0);
	gb(&g, 20, 760, 256, 0);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_VMEM], 384 * MIB);
	assert_int_equal(g.back_bytes[FOOTPRINT_VMEM], 256 * MIB);
	/*
	 * The guest touches memory again while it settles (e2e-balloon without
	 * FPR: 532 -> 313 MiB, then its next burst): the lowest RSS counts.
	 */
	gb(&g, 21, 532, 256, 0);
	gb(&g, 22, 400, 128, 0);
	gb(&g, 23, 313, 0, 0);
	gb(&g, 25, 330, 0, 0);
	gb(&g, 27, 380, 0, 0);
	gb(&g, 28, 380, 128, 0);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_VMEM], 640 * MIB);
	assert_int_equal(g.back_bytes[FOOTPRINT_VMEM], (256 + 219) * MIB);
}

/* Both mechanisms in one episode share the drop by what each gave up. */
static void test_giveback_shares_the_drop(void **state)
{
	struct footprint_giveback g = { 0 };

	gb(&g, 0, 1000, 300, 512);
	gb(&g, 1, 700, 0, 412);
	gb(&g, 20, 700, 0, 412);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_VMEM], 300 * MIB);
	assert_int_equal(g.gave_up_bytes[FOOTPRINT_BALLOON], 100 * MIB);
	assert_int_equal(g.back_bytes[FOOTPRINT_VMEM], 225 * MIB);
	assert_int_equal(g.back_bytes[FOOTPRINT_BALLOON], 75 * MIB);
	assert_string_equal(footprint_mech_name(FOOTPRINT_VMEM), "virtio-mem");
	assert_string_equal(footprint_mech_name(FOOTPRINT_BALLOON), "balloon");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_of_qemu_and_of_a_kernel_thread),
		cmocka_unit_test(test_status_lines_it_knows_must_be_well_formed),
		cmocka_unit_test(test_overhead_rises_at_once_and_falls_slowly),
		cmocka_unit_test(test_cgroup_limit_usage_and_pressure),
		cmocka_unit_test(test_cgroup_limit_files_and_paths),
		cmocka_unit_test(test_giveback_counts_the_rss_drop_once_settled),
		cmocka_unit_test(test_giveback_ends_when_the_guest_grows),
		cmocka_unit_test(test_giveback_shares_the_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
