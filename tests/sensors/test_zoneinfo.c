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

static void assert_group_equal(const struct zoneinfo_group *got, const struct zoneinfo_group *want)
{
	assert_true(got->free_bytes == want->free_bytes);
	assert_true(got->min_bytes == want->min_bytes);
	assert_true(got->low_bytes == want->low_bytes);
	assert_true(got->high_bytes == want->high_bytes);
	assert_true(got->present_bytes == want->present_bytes);
	assert_true(got->managed_bytes == want->managed_bytes);
	assert_true(got->file_bytes == want->file_bytes);
	assert_true(got->anon_bytes == want->anon_bytes);
}

static void assert_zoneinfo_equal(const struct zoneinfo *got, const struct zoneinfo *want)
{
	assert_group_equal(&got->kernel, &want->kernel);
	assert_group_equal(&got->movable, &want->movable);
}

/* free, min, low, high, present, managed, file, anon in 4 KiB pages. */
#define GROUP(f, mi, lo, hi, pr, ma, fi, an)                                               \
	{ PG(f), PG(mi), PG(lo), PG(hi), PG(pr), PG(ma), PG(fi), PG(an) }

static const struct {
	const char *file;
	struct zoneinfo want; /* with 4 KiB pages */
} captured[] = {
	{ "host/proc/zoneinfo",
	  { .kernel = GROUP(1050922, 16894, 21117, 25340, 6291358, 1300936, 180056, 2526),
	    /* The kernel prints a Movable zone with watermarks but no memory. */
	    .movable = GROUP(0, 32, 32, 32, 0, 0, 0, 0) } },
	/* 512 MiB of boot memory in DMA32, 640 MiB of virtio-mem in Movable. */
	{ "guest-tree/proc/zoneinfo",
	  { .kernel = GROUP(55897, 2963, 3703, 4444, 130940, 114653, 0, 0),
	    .movable = GROUP(141203, 4246, 5307, 6369, 163840, 163840, 180056, 2526) } },
	/* Real QEMU guest: boot, then 256 MiB of virtio-mem in Movable, then memhog. */
	{ "qemu/boot/proc/zoneinfo",
	  { .kernel = GROUP(90163, 622, 777, 932, 130942, 99961, 0, 1764),
	    .movable = GROUP(0, 0, 0, 0, 0, 0, 0, 0) } },
	{ "qemu/plugged/proc/zoneinfo",
	  { .kernel = GROUP(89104, 379, 478, 577, 130942, 99961, 1, 1801),
	    .movable = GROUP(65491, 249, 314, 379, 65536, 65536, 0, 26) } },
	{ "qemu/pressure/proc/zoneinfo",
	  { .kernel = GROUP(2187, 1726, 1825, 1924, 130942, 99961, 0, 88400),
	    .movable = GROUP(128, 249, 314, 379, 65536, 65536, 0, 65172) } },
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
	assert_true(zi.movable.managed_bytes == 163840 * page);
	assert_true(zi.kernel.free_bytes == 55897 * page);
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
	assert_true(zi.kernel.free_bytes == 30 * 65536);
	assert_true(zi.kernel.managed_bytes == 300 * 65536);
	assert_true(zi.kernel.min_bytes == 5 * 65536);
	assert_true(zi.movable.free_bytes == 4 * 65536);
	assert_true(zi.movable.managed_bytes == 6 * 65536);
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
		{ "Node 0, zone DMA\n  per-node stats\n", 4096, -ENODATA },
		{ "Node 0, zone Normal\n  pages free 1\n  managed 1\n  min 1\n  min 1\n", 4096, -EINVAL },
		{ "Node 0, zone Normal\n  pages free 1\n  managed 1\n  nr_zone_active_file x\n", 4096, -EINVAL },
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
		assert_true(zi.kernel.free_bytes == UINT64_C(0xa5a5a5a5a5a5a5a5));
		free(buf);
	}
}

/* ZONE_DEVICE holds no allocatable memory: it may lack anything without failing the parse. */
static void test_parse_ignores_device_zones(void **state)
{
	static const char in[] = "Node 0, zone      DMA\n  pages free 1\n        managed 2\n"
				 "Node 0, zone   Normal\n  pages free 5\n        managed 6\n"
				 "Node 0, zone   Device\n";
	struct zoneinfo zi;

	assert_int_equal(zoneinfo_parse(in, sizeof(in) - 1, 4096, &zi), 0);
	assert_true(zi.kernel.free_bytes == PG(6) && zi.kernel.managed_bytes == PG(8));
	assert_true(zi.movable.managed_bytes == 0);
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
			assert_true(zi.kernel.managed_bytes <= captured[0].want.kernel.managed_bytes);
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
		cmocka_unit_test(test_parse_ignores_device_zones),
		cmocka_unit_test(test_parse_of_every_truncation_of_real_file),
		cmocka_unit_test(test_read_of_oversized_file_is_efbig),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
