/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM told from QEMU's own memory in /proc/PID/smaps: the parser on
 * the layout of a QEMU 7.2 TCG process (boot RAM, a virtio-mem memdev, the
 * 1 GiB rwx translation buffer, malloc arenas), and the reader on this
 * process's own smaps with mappings it makes and touches.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fileio.h"
#include "host/guestram.h"

#define MIB (UINT64_C(1) << 20)

static int feed(struct guestram *g, const char *text)
{
	guestram_begin(g);
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		int r = guestram_line(g, text, len);

		if (r < 0)
			return r;
		text += len + (nl != NULL);
	}
	return 0;
}

/* Mapping headers as QEMU 7.2 -m 512M with a 1 GiB virtio-mem memdev has them. */
static const char qemu_smaps[] =
	"55d0c2a00000-55d0c3200000 r-xp 00000000 08:01 1234   /usr/bin/qemu-system-x86_64\n"
	"Size:               8192 kB\n"
	"Rss:                6000 kB\n"
	"VmFlags: rd ex mr mw me dw\n"
	"7fac40021000-7fac44000000 ---p 00000000 00:00 0\n"
	"Rss:                   0 kB\n"
	"7fac44000000-7fac44021000 rw-p 00000000 00:00 0\n"
	"Rss:                 132 kB\n"
	"7fac47e00000-7fac67e00000 rw-p 00000000 00:00 0\n"
	"Size:             524288 kB\n"
	"Rss:              400000 kB\n"
	"Pss:              400000 kB\n"
	"7fac6fe00000-7facafe00000 rw-p 00000000 00:00 0\n"
	"Rss:              262144 kB\n"
	"7facb0000000-7faceffff000 rwxp 00000000 00:00 0\n"
	"Rss:               90000 kB\n"
	"7fad00000000-7fad04000000 rw-p 00000000 00:00 0 \n"
	"Rss:               20000 kB\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]\n"
	"Rss:                   0 kB\n";

static void test_guest_ram_is_the_big_writable_mappings(void **state)
{
	struct guestram g;

	(void)state;
	assert_int_equal(feed(&g, qemu_smaps), 0);
	assert_int_equal(g.guest_mappings, 2);
	assert_int_equal(g.guest_bytes, (400000 + 262144) * UINT64_C(1024));
	assert_int_equal(g.rss_bytes, (6000 + 132 + 400000 + 262144 + 90000 + 20000) * UINT64_C(1024));
}

static void test_a_memfd_backend_counts_as_guest_ram(void **state)
{
	struct guestram g;

	(void)state;
	assert_int_equal(feed(&g, "7f0000000000-7f0040000000 rw-s 00000000 00:01 77 /memfd:mem0 (deleted)\n"
				  "Rss:    4096 kB\n"), 0);
	assert_int_equal(g.guest_bytes, 4096 * UINT64_C(1024));
}

static void test_malformed_lines_are_refused(void **state)
{
	static const char *bad[] = {
		"7fac47e00000 rw-p 00000000 00:00 0\nRss: 1 kB\n",    /* no end address */
		"7fac67e00000-7fac47e00000 rw-p 00000000 00:00 0\n",  /* end before start */
		"7fac47e00000-7fac67e0zz00 rw-p 00000000 00:00 0\n",
		"7fac47e00000-7fac67e00000\n",                         /* no perms */
		"Rss: lots kB\n",
		"Rss: 12 MB\n",
		"Rss: 99999999999999999999 kB\n",
	};
	struct guestram g;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(feed(&g, bad[i]), -EINVAL);
}

static int root(void)
{
	int fd = fileio_open_root("/");

	assert_true(fd >= 0);
	return fd;
}

/* This process's smaps: a touched 256 MiB mapping counts, an executable one does not. */
static void test_reads_a_live_process(void **state)
{
	size_t len = 256 * MIB, touched = 24 * MIB;
	char *ram = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *code = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_EXEC,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct guestram before, after;
	int fd = root();

	(void)state;
	assert_true(ram != MAP_FAILED && code != MAP_FAILED);
	assert_int_equal(guestram_read(fd, getpid(), &before), 0);
	memset(ram, 1, touched);
	memset(code, 1, touched);
	assert_int_equal(guestram_read(fd, getpid(), &after), 0);
	/*
	 * The writable mapping counts, the executable one does not (that
	 * would be twice as much).  Under ASan the shadow of both, an eighth
	 * of what was written, lies in its own huge writable mapping and
	 * counts too.
	 */
	assert_true(after.guest_bytes - before.guest_bytes >= touched);
	assert_true(after.guest_bytes - before.guest_bytes < touched + touched / 2);
	assert_true(after.rss_bytes - before.rss_bytes >= 2 * touched);
	munmap(ram, len);
	munmap(code, len);
	assert_int_equal(guestram_read(fd, 999999999, &after), -ENOENT);
	assert_int_equal(guestram_read(fd, 0, &after), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_ram_is_the_big_writable_mappings),
		cmocka_unit_test(test_a_memfd_backend_counts_as_guest_ram),
		cmocka_unit_test(test_malformed_lines_are_refused),
		cmocka_unit_test(test_reads_a_live_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
