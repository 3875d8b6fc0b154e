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
#include "sensors/memblock.h"
#include "tmptree.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MEM "sys/devices/system/memory/"

static int open_tree(const char *tree)
{
	char dir[1024];
	int fd;

	snprintf(dir, sizeof(dir), "%s/%s", SENSORS_DATA_DIR, tree);
	fd = fileio_open_root(dir);
	assert_true(fd >= 0);
	return fd;
}

static void test_parse_block_size(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t want;
	} cases[] = {
		{ "8000000\n", 0, UINT64_C(0x8000000) },
		{ "8000000", 0, UINT64_C(0x8000000) },
		{ "80000000\n", 0, UINT64_C(0x80000000) },
		{ "ABCdef\n", 0, UINT64_C(0xabcdef) },
		{ "ffffffffffffffff\n", 0, UINT64_MAX },
		{ "10000000000000000\n", -ERANGE, 0 },
		{ "0\n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "0x8000000\n", -EINVAL, 0 },
		{ "8000000\n\n", -EINVAL, 0 },
		{ " 8000000\n", -EINVAL, 0 },
		{ "8000g00\n", -EINVAL, 0 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		uint64_t v = 42;

		assert_int_equal(memblock_parse_block_size(buf, len, &v), cases[i].ret);
		assert_true(v == (cases[i].ret == 0 ? cases[i].want : 42));
		free(buf);
	}
}

static void test_parse_state(void **state)
{
	static const struct {
		const char *in;
		int ret;
		enum memblock_state want;
	} cases[] = {
		{ "online\n", 0, MEMBLOCK_ONLINE },
		{ "offline\n", 0, MEMBLOCK_OFFLINE },
		{ "going-offline\n", 0, MEMBLOCK_GOING_OFFLINE },
		{ "online", 0, MEMBLOCK_ONLINE },
		{ "onlin", -EINVAL, 0 },
		{ "online_movable\n", -EINVAL, 0 },
		{ "Online\n", -EINVAL, 0 },
		{ "online \n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		enum memblock_state s = MEMBLOCK_UNKNOWN;

		assert_int_equal(memblock_parse_state(buf, len, &s), cases[i].ret);
		assert_int_equal(s, cases[i].ret == 0 ? cases[i].want : MEMBLOCK_UNKNOWN);
		free(buf);
	}
	assert_string_equal(memblock_state_name(MEMBLOCK_ONLINE), "online");
	assert_string_equal(memblock_state_name(MEMBLOCK_OFFLINE), "offline");
	assert_string_equal(memblock_state_name(MEMBLOCK_GOING_OFFLINE), "going-offline");
	assert_string_equal(memblock_state_name(MEMBLOCK_UNKNOWN), "unknown");
}

static void test_parse_zones(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint32_t want;
	} cases[] = {
		{ "Normal Movable\n", 0, MEMBLOCK_ZONE_NORMAL | MEMBLOCK_ZONE_MOVABLE },
		{ "Movable Normal\n", 0, MEMBLOCK_ZONE_NORMAL | MEMBLOCK_ZONE_MOVABLE },
		{ "Movable\n", 0, MEMBLOCK_ZONE_MOVABLE },
		{ "DMA32 Normal\n", 0, MEMBLOCK_ZONE_DMA32 | MEMBLOCK_ZONE_NORMAL },
		{ "DMA\n", 0, MEMBLOCK_ZONE_DMA },
		{ "none\n", 0, MEMBLOCK_ZONE_NONE },
		{ "Normal", 0, MEMBLOCK_ZONE_NORMAL },
		{ "", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "Device\n", -EINVAL, 0 },
		{ "normal\n", -EINVAL, 0 },
		{ "Normal Normal\n", -EINVAL, 0 },
		{ "none Normal\n", -EINVAL, 0 },
		{ "Normal Movabl", -EINVAL, 0 },
		{ "Normal\nMovable\n", -EINVAL, 0 },
	};

	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *buf = testdata_exact(cases[i].in, len);
		uint32_t z = 0xdead;

		assert_int_equal(memblock_parse_zones(buf, len, &z), cases[i].ret);
		assert_int_equal(z, cases[i].ret == 0 ? cases[i].want : 0xdead);
		free(buf);
	}
}

static void test_scan_of_guest_tree_lists_blocks_in_id_order(void **state)
{
	static const struct memblock want[] = {
		{ 0, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_NONE, true },
		{ 1, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 2, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 3, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 32, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
		{ 33, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
		{ 34, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
		{ 35, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
		{ 36, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
		{ 37, MEMBLOCK_OFFLINE, MEMBLOCK_ZONE_MOVABLE | MEMBLOCK_ZONE_NORMAL, true },
		{ 38, MEMBLOCK_OFFLINE, MEMBLOCK_ZONE_MOVABLE | MEMBLOCK_ZONE_NORMAL, true },
	};
	struct memblock blocks[64];
	struct memblock_set set = { .cap = N(blocks), .blocks = blocks };
	int rootfd = open_tree("guest-tree");

	assert_int_equal(memblock_scan(rootfd, &set), 0);
	assert_true(set.block_size_bytes == 128 << 20);
	assert_int_equal(set.n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		assert_int_equal(blocks[i].id, want[i].id);
		assert_int_equal(blocks[i].state, want[i].state);
		assert_int_equal(blocks[i].valid_zones, want[i].valid_zones);
		assert_int_equal(blocks[i].removable, want[i].removable);
	}
	close(rootfd);
}

/* The capture of this machine: boot blocks 0-3 and the last one, 199. */
static void test_scan_of_host_capture(void **state)
{
	static const struct memblock want[] = {
		{ 0, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_NONE, true },
		{ 1, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 2, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 3, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 199, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_NORMAL, true },
	};
	struct memblock blocks[8];
	struct memblock_set set = { .cap = N(blocks), .blocks = blocks };
	int rootfd = open_tree("host");

	assert_int_equal(memblock_scan(rootfd, &set), 0);
	assert_true(set.block_size_bytes == 0x8000000);
	assert_int_equal(set.n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		assert_int_equal(blocks[i].id, want[i].id);
		assert_int_equal(blocks[i].state, want[i].state);
		assert_int_equal(blocks[i].valid_zones, want[i].valid_zones);
		assert_int_equal(blocks[i].removable, want[i].removable);
	}
	close(rootfd);
}

/*
 * A real QEMU guest after virtio-mem plugged 256 MiB with
 * memhp_default_state=online_movable.  Its memoryN/node0 symlinks dangle in
 * the fixture; the scan must not care.
 */
static void test_scan_of_qemu_capture_after_plug(void **state)
{
	static const struct memblock want[] = {
		{ 0, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_NONE, true },
		{ 1, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 2, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 3, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_DMA32, true },
		{ 32, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
		{ 33, MEMBLOCK_ONLINE, MEMBLOCK_ZONE_MOVABLE, true },
	};
	struct memblock blocks[8];
	struct memblock_set set = { .cap = N(blocks), .blocks = blocks };
	int rootfd = open_tree("qemu/plugged");

	assert_int_equal(memblock_scan(rootfd, &set), 0);
	assert_true(set.block_size_bytes == 128 << 20);
	assert_int_equal(set.n, N(want));
	for (size_t i = 0; i < N(want); i++) {
		assert_int_equal(blocks[i].id, want[i].id);
		assert_int_equal(blocks[i].state, want[i].state);
		assert_int_equal(blocks[i].valid_zones, want[i].valid_zones);
		assert_int_equal(blocks[i].removable, want[i].removable);
	}
	close(rootfd);
}

static void test_scan_with_too_small_array_is_enospc(void **state)
{
	struct memblock blocks[4];
	struct memblock_set set = { .n = 99, .cap = N(blocks), .blocks = blocks };
	struct memblock_set empty = { .n = 99 };
	int rootfd = open_tree("guest-tree");

	assert_int_equal(memblock_scan(rootfd, &set), -ENOSPC);
	assert_int_equal(set.n, 99);
	assert_int_equal(memblock_scan(rootfd, &empty), -ENOSPC);
	close(rootfd);
}

static void test_scan_without_memory_dir_is_enoent(void **state)
{
	struct memblock blocks[4];
	struct memblock_set set = { .cap = N(blocks), .blocks = blocks };
	struct tmptree tree;

	tmptree_create(&tree);
	assert_int_equal(memblock_scan(tree.fd, &set), -ENOENT);
	tmptree_write_str(&tree, MEM "memory0/state", "online\n");
	/* No block_size_bytes: nothing can be computed from the blocks. */
	assert_int_equal(memblock_scan(tree.fd, &set), -ENOENT);
	tmptree_remove(&tree);
}

/* Old kernels lack valid_zones and removable; other entries are not blocks. */
static void test_scan_tolerates_missing_attributes_and_other_entries(void **state)
{
	struct memblock blocks[4];
	struct memblock_set set = { .cap = N(blocks), .blocks = blocks };
	struct tmptree tree;

	tmptree_create(&tree);
	tmptree_write_str(&tree, MEM "block_size_bytes", "8000000\n");
	tmptree_write_str(&tree, MEM "auto_online_blocks", "offline\n");
	tmptree_write_str(&tree, MEM "power/async", "disabled\n");
	tmptree_write_str(&tree, MEM "memoryX/state", "online\n");
	tmptree_write_str(&tree, MEM "memory99999999999/state", "online\n");
	tmptree_write_str(&tree, MEM "memory7/state", "going-offline\n");
	tmptree_write_str(&tree, MEM "memory5/state", "offline\n");
	tmptree_write_str(&tree, MEM "memory5/removable", "0\n");
	tmptree_write_str(&tree, MEM "memory5/valid_zones", "Normal Movable\n");
	assert_int_equal(memblock_scan(tree.fd, &set), 0);
	assert_int_equal(set.n, 2);
	assert_int_equal(blocks[0].id, 5);
	assert_int_equal(blocks[0].state, MEMBLOCK_OFFLINE);
	assert_false(blocks[0].removable);
	assert_int_equal(blocks[0].valid_zones, MEMBLOCK_ZONE_NORMAL | MEMBLOCK_ZONE_MOVABLE);
	assert_int_equal(blocks[1].id, 7);
	assert_int_equal(blocks[1].state, MEMBLOCK_GOING_OFFLINE);
	assert_true(blocks[1].removable);
	assert_int_equal(blocks[1].valid_zones, 0);
	tmptree_remove(&tree);
}

static void test_scan_refuses_malformed_attributes(void **state)
{
	static const struct {
		const char *file, *text;
		int err;
	} cases[] = {
		{ MEM "block_size_bytes", "zz\n", -EINVAL },
		{ MEM "memory3/state", "sleeping\n", -EINVAL },
		{ MEM "memory3/valid_zones", "Elsewhere\n", -EINVAL },
		{ MEM "memory3/removable", "maybe\n", -EINVAL },
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct memblock blocks[4];
		struct memblock_set set = { .n = 77, .cap = N(blocks), .blocks = blocks };
		struct tmptree tree;

		tmptree_create(&tree);
		tmptree_write_str(&tree, MEM "block_size_bytes", "8000000\n");
		tmptree_write_str(&tree, MEM "memory3/state", "online\n");
		tmptree_write_str(&tree, cases[i].file, cases[i].text);
		assert_int_equal(memblock_scan(tree.fd, &set), cases[i].err);
		assert_int_equal(set.n, 77);
		tmptree_remove(&tree);
	}
}

/* Only ever against a scratch tree: the real /sys of this machine is not ours. */
static void test_set_state_writes_the_state_file(void **state)
{
	struct tmptree tree;
	char buf[64];
	size_t len;

	tmptree_create(&tree);
	tmptree_write_str(&tree, MEM "memory37/state", "");
	assert_int_equal(memblock_set_state(tree.fd, 37, "online_movable"), 0);
	len = tmptree_read(&tree, MEM "memory37/state", buf, sizeof(buf));
	assert_int_equal(len, strlen("online_movable"));
	assert_string_equal(buf, "online_movable");

	tmptree_write_str(&tree, MEM "memory37/state", "");
	assert_int_equal(memblock_set_state(tree.fd, 37, "offline"), 0);
	tmptree_read(&tree, MEM "memory37/state", buf, sizeof(buf));
	assert_string_equal(buf, "offline");

	assert_int_equal(memblock_set_state(tree.fd, 37, "online_kernel_please"), -EINVAL);
	assert_int_equal(memblock_set_state(tree.fd, 37, ""), -EINVAL);
	assert_int_equal(memblock_set_state(tree.fd, 38, "online"), -ENOENT);
	tmptree_remove(&tree);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_block_size),
		cmocka_unit_test(test_parse_state),
		cmocka_unit_test(test_parse_zones),
		cmocka_unit_test(test_scan_of_guest_tree_lists_blocks_in_id_order),
		cmocka_unit_test(test_scan_of_host_capture),
		cmocka_unit_test(test_scan_of_qemu_capture_after_plug),
		cmocka_unit_test(test_scan_with_too_small_array_is_enospc),
		cmocka_unit_test(test_scan_without_memory_dir_is_enoent),
		cmocka_unit_test(test_scan_tolerates_missing_attributes_and_other_entries),
		cmocka_unit_test(test_scan_refuses_malformed_attributes),
		cmocka_unit_test(test_set_state_writes_the_state_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
