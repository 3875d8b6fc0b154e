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

#include "common/fileio.h"
#include "sensors/meminfo.h"
#include "tmptree.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define KB(x) ((uint64_t)(x) * 1024)

static void assert_meminfo_equal(const struct meminfo *got, const struct meminfo *want)
{
	assert_true(got->mem_total_bytes == want->mem_total_bytes);
	assert_true(got->mem_free_bytes == want->mem_free_bytes);
	assert_true(got->mem_available_bytes == want->mem_available_bytes);
	assert_true(got->buffers_bytes == want->buffers_bytes);
	assert_true(got->cached_bytes == want->cached_bytes);
	assert_true(got->active_file_bytes == want->active_file_bytes);
	assert_true(got->inactive_file_bytes == want->inactive_file_bytes);
	assert_true(got->shmem_bytes == want->shmem_bytes);
	assert_true(got->swap_total_bytes == want->swap_total_bytes);
	assert_true(got->swap_free_bytes == want->swap_free_bytes);
	assert_true(got->committed_as_bytes == want->committed_as_bytes);
	assert_true(got->anon_pages_bytes == want->anon_pages_bytes);
	assert_true(got->slab_reclaimable_bytes == want->slab_reclaimable_bytes);
	assert_true(got->slab_unreclaimable_bytes == want->slab_unreclaimable_bytes);
	assert_true(got->kernel_stack_bytes == want->kernel_stack_bytes);
	assert_true(got->page_tables_bytes == want->page_tables_bytes);
}

static void test_read_returns_the_values_of_captured_files(void **state)
{
	static const struct {
		const char *tree;
		struct meminfo want;
	} cases[] = {
		{ "host",
		  { .mem_total_bytes = KB(24683620), .mem_free_bytes = KB(23683512),
		    .mem_available_bytes = KB(24274992), .buffers_bytes = KB(149692),
		    .cached_bytes = KB(579416), .active_file_bytes = KB(217320),
		    .inactive_file_bytes = KB(502904), .shmem_bytes = KB(8884),
		    .swap_total_bytes = 0, .swap_free_bytes = 0,
		    .committed_as_bytes = KB(64732) ,
		    .anon_pages_bytes = KB(17908), .slab_reclaimable_bytes = KB(160940),
		    .slab_unreclaimable_bytes = KB(27568), .kernel_stack_bytes = KB(1504),
		    .page_tables_bytes = KB(1948) } },
		{ "guest-tree",
		  { .mem_total_bytes = KB(1113972), .mem_free_bytes = KB(788400),
		    .mem_available_bytes = KB(871236), .buffers_bytes = KB(11204),
		    .cached_bytes = KB(98552), .active_file_bytes = KB(60760),
		    .inactive_file_bytes = KB(47548), .shmem_bytes = KB(764),
		    .swap_total_bytes = 0, .swap_free_bytes = 0,
		    .committed_as_bytes = KB(164988) ,
		    .anon_pages_bytes = KB(48120), .slab_reclaimable_bytes = KB(14228),
		    .slab_unreclaimable_bytes = KB(19644), .kernel_stack_bytes = KB(1888),
		    .page_tables_bytes = KB(1236) } },
		/* Real QEMU guest: boot, +256 MiB virtio-mem, then memhog with zram swap. */
		{ "qemu/boot",
		  { .mem_total_bytes = KB(399844), .mem_free_bytes = KB(360652),
		    .mem_available_bytes = KB(362156), .buffers_bytes = KB(4),
		    .cached_bytes = KB(6832), .active_file_bytes = 0, .inactive_file_bytes = 0,
		    .shmem_bytes = KB(6836), .swap_total_bytes = KB(262140),
		    .swap_free_bytes = KB(262140), .committed_as_bytes = KB(8180) ,
		    .anon_pages_bytes = KB(212), .slab_reclaimable_bytes = KB(9800),
		    .slab_unreclaimable_bytes = KB(8792), .kernel_stack_bytes = KB(912),
		    .page_tables_bytes = KB(36) } },
		{ "qemu/plugged",
		  { .mem_total_bytes = KB(661988), .mem_free_bytes = KB(618600),
		    .mem_available_bytes = KB(617972), .buffers_bytes = KB(4),
		    .cached_bytes = KB(6956), .active_file_bytes = 0, .inactive_file_bytes = KB(4),
		    .shmem_bytes = KB(6956), .swap_total_bytes = KB(262140),
		    .swap_free_bytes = KB(262140), .committed_as_bytes = KB(8636) ,
		    .anon_pages_bytes = KB(244), .slab_reclaimable_bytes = KB(9908),
		    .slab_unreclaimable_bytes = KB(9060), .kernel_stack_bytes = KB(928),
		    .page_tables_bytes = KB(116) } },
		{ "qemu/pressure",
		  { .mem_total_bytes = KB(661988), .mem_free_bytes = KB(9140),
		    .mem_available_bytes = KB(6764), .buffers_bytes = 0,
		    .cached_bytes = KB(6276), .active_file_bytes = 0, .inactive_file_bytes = 0,
		    .shmem_bytes = KB(6276), .swap_total_bytes = KB(262140),
		    .swap_free_bytes = KB(215804), .committed_as_bytes = KB(9452) ,
		    .anon_pages_bytes = KB(607328), .slab_reclaimable_bytes = KB(9992),
		    .slab_unreclaimable_bytes = KB(9248), .kernel_stack_bytes = KB(960),
		    .page_tables_bytes = KB(1428) } },
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct meminfo mi;
		char dir[1024];
		int rootfd;

		snprintf(dir, sizeof(dir), "%s/%s", SENSORS_DATA_DIR, cases[i].tree);
		rootfd = fileio_open_root(dir);
		assert_true(rootfd >= 0);
		assert_int_equal(meminfo_read(rootfd, &mi), 0);
		assert_meminfo_equal(&mi, &cases[i].want);
		close(rootfd);
	}
}

#define REQUIRED "MemTotal: 4 kB\nMemFree: 2 kB\nMemAvailable: 3 kB\n"

static void test_parse_accepts_kernel_variants(void **state)
{
	static const struct {
		const char *in;
		uint64_t total, free, avail, swap_total;
	} cases[] = {
		{ REQUIRED, KB(4), KB(2), KB(3), 0 },
		/* No final newline, tabs, no blank after the colon. */
		{ "MemTotal:\t8 kB\nMemFree:1 kB\nMemAvailable:  5 kB", KB(8), KB(1), KB(5), 0 },
		/* Unknown and odd lines are ignored, also without a unit. */
		{ "HugePages_Total:       0\ngarbage line\n" REQUIRED "SwapTotal: 7 kB\n", KB(4),
		  KB(2), KB(3), KB(7) },
		/* The largest kB count that still fits in bytes. */
		{ "MemTotal: 18014398509481983 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n",
		  UINT64_C(18014398509481983) * 1024, 0, 0, 0 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		struct meminfo mi;

		assert_int_equal(meminfo_parse(buf, len, &mi), 0);
		assert_true(mi.mem_total_bytes == cases[i].total);
		assert_true(mi.mem_free_bytes == cases[i].free);
		assert_true(mi.mem_available_bytes == cases[i].avail);
		assert_true(mi.swap_total_bytes == cases[i].swap_total);
		free(buf);
	}
}

static void test_parse_refuses_malformed_input(void **state)
{
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		{ "", -ENODATA },
		{ "garbage\n\x01\x02\xff", -ENODATA },
		{ "MemTotal: 4 kB\nMemFree: 2 kB\n", -ENODATA },
		{ "MemFree: 2 kB\nMemAvailable: 3 kB\n", -ENODATA },
		{ "MemTotal: 4 kB\nMemAvailable: 3 kB\n", -ENODATA },
		{ REQUIRED "Cached:\n", -EINVAL },
		{ REQUIRED "Cached: 12\n", -EINVAL },
		{ REQUIRED "Cached: 12 MB\n", -EINVAL },
		{ REQUIRED "Cached: 12 kB extra\n", -EINVAL },
		{ REQUIRED "Cached: abc kB\n", -EINVAL },
		{ REQUIRED "Cached: -1 kB\n", -EINVAL },
		{ REQUIRED "Cached: 1.5 kB\n", -EINVAL },
		{ REQUIRED "Cached: 1 k", -EINVAL },
		{ "MemTotal: 4 kB\nMemTotal: 4 kB\nMemFree: 2 kB\nMemAvailable: 3 kB\n", -EINVAL },
		{ "MemTotal: 18014398509481984 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n", -ERANGE },
		{ "MemTotal: 99999999999999999999999 kB\nMemFree: 0 kB\nMemAvailable: 0 kB\n", -ERANGE },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		struct meminfo mi;

		memset(&mi, 0xa5, sizeof(mi));
		assert_int_equal(meminfo_parse(buf, len, &mi), cases[i].err);
		assert_true(mi.mem_total_bytes == UINT64_C(0xa5a5a5a5a5a5a5a5));
		free(buf);
	}
}

/* Cutting the real file anywhere never yields a wrong value: error, or a prefix parse. */
static void test_parse_of_every_truncation_of_real_file(void **state)
{
	static char file[8192];
	size_t len = testdata_load("host/proc/meminfo", file, sizeof(file));
	struct meminfo whole;

	assert_int_equal(meminfo_parse(file, len, &whole), 0);
	for (size_t cut = 0; cut < len; cut++) {
		char *buf = testdata_exact(file, cut);
		struct meminfo mi;
		int r = meminfo_parse(buf, cut, &mi);

		assert_true(r == 0 || r == -EINVAL || r == -ENODATA);
		/* Once MemAvailable is complete the three required values are final. */
		if (r == 0) {
			assert_true(mi.mem_total_bytes == whole.mem_total_bytes);
			assert_true(mi.mem_free_bytes == whole.mem_free_bytes);
		}
		free(buf);
	}
}

static void test_read_of_missing_file_is_enoent(void **state)
{
	struct tmptree tree;
	struct meminfo mi;

	tmptree_create(&tree);
	assert_int_equal(meminfo_read(tree.fd, &mi), -ENOENT);
	tmptree_remove(&tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_returns_the_values_of_captured_files),
		cmocka_unit_test(test_parse_accepts_kernel_variants),
		cmocka_unit_test(test_parse_refuses_malformed_input),
		cmocka_unit_test(test_parse_of_every_truncation_of_real_file),
		cmocka_unit_test(test_read_of_missing_file_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
