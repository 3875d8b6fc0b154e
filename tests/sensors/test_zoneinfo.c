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
#include "sensors/zoneinfo.h"
#include "tmptree.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PG(x) ((uint64_t)(x) * 4096)

static void assert_zoneinfo_equal(const struct zoneinfo *got, const struct zoneinfo *want)
{
	assert_true(got->normal_free_bytes == want->normal_free_bytes);
	assert_true(got->normal_managed_bytes == want->normal_managed_bytes);
	assert_true(got->movable_free_bytes == want->movable_free_bytes);
	assert_true(got->movable_managed_bytes == want->movable_managed_bytes);
	assert_true(got->dma32_free_bytes == want->dma32_free_bytes);
	assert_true(got->dma32_managed_bytes == want->dma32_managed_bytes);
}

static const struct {
	const char *file;
	struct zoneinfo want; /* with 4 KiB pages */
} captured[] = {
	{ "host/proc/zoneinfo",
	  { .normal_free_bytes = PG(274274), .normal_managed_bytes = PG(524288),
	    .movable_free_bytes = 0, .movable_managed_bytes = 0,
	    .dma32_free_bytes = PG(772808), .dma32_managed_bytes = PG(772808) } },
	/* 512 MiB of boot memory in DMA32, 640 MiB of virtio-mem in Movable. */
	{ "guest-tree/proc/zoneinfo",
	  { .normal_free_bytes = 0, .normal_managed_bytes = 0,
	    .movable_free_bytes = PG(141203), .movable_managed_bytes = PG(163840),
	    .dma32_free_bytes = PG(52317), .dma32_managed_bytes = PG(110813) } },
	/* Real QEMU guest: boot, then 256 MiB of virtio-mem in Movable, then memhog. */
	{ "qemu/boot/proc/zoneinfo",
	  { .normal_free_bytes = 0, .normal_managed_bytes = 0,
	    .movable_free_bytes = 0, .movable_managed_bytes = 0,
	    .dma32_free_bytes = PG(86355), .dma32_managed_bytes = PG(96121) } },
	{ "qemu/plugged/proc/zoneinfo",
	  { .normal_free_bytes = 0, .normal_managed_bytes = 0,
	    .movable_free_bytes = PG(65491), .movable_managed_bytes = PG(65536),
	    .dma32_free_bytes = PG(85296), .dma32_managed_bytes = PG(96121) } },
	{ "qemu/pressure/proc/zoneinfo",
	  { .normal_free_bytes = 0, .normal_managed_bytes = 0,
	    .movable_free_bytes = PG(128), .movable_managed_bytes = PG(65536),
	    .dma32_free_bytes = PG(1545), .dma32_managed_bytes = PG(96121) } },
};

static void test_parse_returns_the_values_of_captured_files(void **state)
{
	static char file[ZONEINFO_READ_MAX];

	for (size_t i = 0; i < N(captured); i++) {
		size_t len = testdata_load(captured[i].file, file, sizeof(file));
		char *buf = testdata_exact(file, len);
		struct zoneinfo zi;

		assert_int_equal(zoneinfo_parse(buf, len, 4096, &zi), 0);
		assert_zoneinfo_equal(&zi, &captured[i].want);
		free(buf);
	}
}

/* zoneinfo_read converts with this machine's page size. */
static void test_read_uses_the_page_size_of_the_machine(void **state)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct zoneinfo zi;
	char dir[1024];
	int rootfd;

	snprintf(dir, sizeof(dir), "%s/guest-tree", SENSORS_DATA_DIR);
	rootfd = fileio_open_root(dir);
	assert_true(rootfd >= 0);
	assert_int_equal(zoneinfo_read(rootfd, &zi), 0);
	assert_true(zi.movable_managed_bytes == 163840 * page);
	assert_true(zi.dma32_free_bytes == 52317 * page);
	close(rootfd);
}

static void test_parse_sums_zones_over_nodes(void **state)
{
	static const char in[] = "Node 0, zone   Normal\n"
				 "  pages free     10\n"
				 "        managed  100\n"
				 "Node 0, zone  Movable\n"
				 "  pages free     1\n"
				 "        managed  2\n"
				 "Node 1, zone   Normal\n"
				 "  pages free     20\n"
				 "        min      5\n"
				 "        managed  200\n"
				 "      nr_free_pages 20\n"
				 "  pagesets\n"
				 "Node 1, zone  Movable\n"
				 "        managed  4\n"
				 "  pages free     3\n"
				 "Node 1, zone   Device\n"
				 "  pages free     0\n";
	char *buf = testdata_exact(in, sizeof(in) - 1);
	struct zoneinfo zi;

	assert_int_equal(zoneinfo_parse(buf, sizeof(in) - 1, 65536, &zi), 0);
	assert_true(zi.normal_free_bytes == 30 * 65536);
	assert_true(zi.normal_managed_bytes == 300 * 65536);
	assert_true(zi.movable_free_bytes == 4 * 65536);
	assert_true(zi.movable_managed_bytes == 6 * 65536);
	assert_true(zi.dma32_free_bytes == 0 && zi.dma32_managed_bytes == 0);
	free(buf);
}

static void test_parse_refuses_malformed_input(void **state)
{
	static const struct {
		const char *in;
		uint64_t page;
		int err;
	} cases[] = {
		{ "", 4096, -ENODATA },
		{ "\n\n", 4096, -ENODATA },
		{ "Node 0, zone Normal\n  pages free 1\n  managed 1\n", 0, -EINVAL },
		{ "garbage\nNode 0, zone Normal\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node x, zone Normal\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0 zone Normal\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, Normal\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, zone\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, zone Normal extra\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, zone Normal\n  pages free abc\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, zone Normal\n  pages free\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, zone Normal\n  pages free 1\n  managed 1 2\n", 4096, -EINVAL },
		{ "Node 0, zone Normal\n  pages free 1\n  managed 1\n  managed 1\n", 4096, -EINVAL },
		{ "Node 0, zone Normal\n  pages free 1\n  pages free 1\n  managed 1\n", 4096, -EINVAL },
		/* A zone we sum without its numbers: the file is not what we think. */
		{ "Node 0, zone Normal\n  pages free 1\n", 4096, -ENODATA },
		{ "Node 0, zone Movable\n  managed 1\nNode 0, zone Device\n", 4096, -ENODATA },
		{ "Node 0, zone DMA32\n  pages free 1\n  managed 1\nNode 0, zone Normal\n", 4096, -ENODATA },
		{ "Node 0, zone Normal\n  pages free 4503599627370496\n  managed 1\n", 4096, -ERANGE },
		{ "Node 0, zone Normal\n  pages free 99999999999999999999\n  managed 1\n", 4096, -ERANGE },
		{ "Node 0, zone Normal\n  pages free 4503599627370495\n  managed 1\n"
		  "Node 1, zone Normal\n  pages free 1\n  managed 1\n", 4096, -ERANGE },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		struct zoneinfo zi;

		memset(&zi, 0xa5, sizeof(zi));
		assert_int_equal(zoneinfo_parse(buf, len, cases[i].page, &zi), cases[i].err);
		assert_true(zi.normal_free_bytes == UINT64_C(0xa5a5a5a5a5a5a5a5));
		free(buf);
	}
}

/* Zones we do not sum may lack anything without failing the parse. */
static void test_parse_ignores_incomplete_zones_it_does_not_sum(void **state)
{
	static const char in[] = "Node 0, zone      DMA\n  per-node stats\n"
				 "Node 0, zone   Normal\n  pages free 5\n        managed 6\n"
				 "Node 0, zone   Device\n";
	struct zoneinfo zi;

	assert_int_equal(zoneinfo_parse(in, sizeof(in) - 1, 4096, &zi), 0);
	assert_true(zi.normal_free_bytes == PG(5) && zi.normal_managed_bytes == PG(6));
}

/* Every truncation of the real file either fails or parses without over-read. */
static void test_parse_of_every_truncation_of_real_file(void **state)
{
	static char file[ZONEINFO_READ_MAX];
	size_t len = testdata_load("host/proc/zoneinfo", file, sizeof(file));

	for (size_t cut = 0; cut < len; cut++) {
		char *buf = testdata_exact(file, cut);
		struct zoneinfo zi;
		int r = zoneinfo_parse(buf, cut, 4096, &zi);

		assert_true(r == 0 || r == -EINVAL || r == -ENODATA);
		if (r == 0)
			assert_true(zi.dma32_managed_bytes <= captured[0].want.dma32_managed_bytes);
		free(buf);
	}
}

/* A zoneinfo of a guest with very many CPUs that exceeds the buffer is -EFBIG, not cut. */
static void test_read_of_oversized_file_is_efbig(void **state)
{
	static const char pageset[] = "    cpu: 0\n              count:    0\n"
				      "              high:     0\n              batch:    1\n";
	static char big[ZONEINFO_READ_MAX + 4096];
	struct tmptree tree;
	struct zoneinfo zi;
	size_t len;

	len = (size_t)snprintf(big, sizeof(big),
			       "Node 0, zone   Normal\n  pages free 1\n        managed 2\n  pagesets\n");
	while (len + sizeof(pageset) < sizeof(big)) {
		memcpy(big + len, pageset, sizeof(pageset) - 1);
		len += sizeof(pageset) - 1;
	}
	tmptree_create(&tree);
	tmptree_write(&tree, "proc/zoneinfo", big, len);
	assert_int_equal(zoneinfo_read(tree.fd, &zi), -EFBIG);
	/* The same text, short enough, parses. */
	tmptree_write(&tree, "proc/zoneinfo", big, ZONEINFO_READ_MAX / 2);
	assert_int_equal(zoneinfo_read(tree.fd, &zi), 0);
	tmptree_remove(&tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_returns_the_values_of_captured_files),
		cmocka_unit_test(test_read_uses_the_page_size_of_the_machine),
		cmocka_unit_test(test_parse_sums_zones_over_nodes),
		cmocka_unit_test(test_parse_refuses_malformed_input),
		cmocka_unit_test(test_parse_ignores_incomplete_zones_it_does_not_sum),
		cmocka_unit_test(test_parse_of_every_truncation_of_real_file),
		cmocka_unit_test(test_read_of_oversized_file_is_efbig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
