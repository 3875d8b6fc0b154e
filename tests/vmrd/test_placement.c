/* SPDX-License-Identifier: MIT */
/* Where hot-plugged memory goes: auto_online_blocks read, checked and switched. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tmptree.h"
#include "vmrd/placement.h"

#define AUTO "sys/devices/system/memory/auto_online_blocks"
#define POLICY "sys/module/memory_hotplug/parameters/online_policy"

static void test_parse_knows_every_kernel_mode(void **state)
{
	static const struct {
		const char *in;
		int r;
		enum placement_mode mode;
	} cases[] = {
		{ "online_movable\n", 0, PLACEMENT_ONLINE_MOVABLE },
		{ "online_kernel\n", 0, PLACEMENT_ONLINE_KERNEL },
		{ "online\n", 0, PLACEMENT_ONLINE },
		{ "offline", 0, PLACEMENT_OFFLINE },
		{ "online_\n", -EINVAL, PLACEMENT_UNKNOWN },
		{ "unknown\n", -EINVAL, PLACEMENT_UNKNOWN },
		{ "", -EINVAL, PLACEMENT_UNKNOWN },
		{ "online\n\n", -EINVAL, PLACEMENT_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum placement_mode m = PLACEMENT_UNKNOWN;
		char *buf = testdata_exact(cases[i].in, strlen(cases[i].in));

		assert_int_equal(placement_parse_mode(buf, strlen(cases[i].in), &m), cases[i].r);
		assert_int_equal(m, cases[i].mode);
		free(buf);
	}
	assert_string_equal(placement_mode_name(PLACEMENT_ONLINE_KERNEL), "online_kernel");
	assert_string_equal(placement_mode_name((enum placement_mode)42), "unknown");
}

static void test_probe_and_switch_on_a_tree(void **state)
{
	struct tmptree t;
	struct placement p;
	char buf[64];

	tmptree_create(&t);
	assert_int_equal(placement_probe(t.fd, &p), -ENOENT);
	tmptree_write_str(&t, AUTO, "online_movable\n");
	assert_int_equal(placement_probe(t.fd, &p), 0);
	assert_int_equal(p.mode, PLACEMENT_ONLINE_MOVABLE);
	assert_true(p.writable);
	assert_false(p.auto_movable);
	tmptree_write_str(&t, POLICY, "auto-movable\n");
	assert_int_equal(placement_probe(t.fd, &p), 0);
	assert_true(p.auto_movable);

	assert_int_equal(placement_set(t.fd, PLACEMENT_ONLINE_KERNEL), 0);
	tmptree_read(&t, AUTO, buf, sizeof(buf));
	assert_string_equal(buf, "online_kernel");
	assert_int_equal(placement_set(t.fd, PLACEMENT_UNKNOWN), -EINVAL);

	/* Read-only (as for an unprivileged daemon): probed, not writable. */
	assert_int_equal(fchmodat(t.fd, AUTO, 0444, 0), 0);
	assert_int_equal(placement_probe(t.fd, &p), 0);
	assert_int_equal(p.mode, PLACEMENT_ONLINE_KERNEL);
	if (geteuid() != 0)
		assert_false(p.writable);
	assert_int_equal(fchmodat(t.fd, AUTO, 0644, 0), 0);
	tmptree_write_str(&t, AUTO, "bogus\n");
	assert_int_equal(placement_probe(t.fd, &p), -EINVAL);
	tmptree_remove(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_knows_every_kernel_mode),
		cmocka_unit_test(test_probe_and_switch_on_a_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
