/* SPDX-License-Identifier: MIT */
/*
 * libvirt discovery's pure half (domain XML -> managed or not, and why;
 * the virtio-mem update XML) on fixtures shaped like libvirt 9.0's live
 * XML, and the vsock listeners' halves that run without a vsock device
 * (the CID map; a hybrid vsock socket handing its connection to a VM).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/loop.h"
#include "host/discover.h"
#include "host/privsep.h"
#include "host/vsock.h"

#define MIB (UINT64_C(1) << 20)

/* A running domain as libvirt 9.0 dumps it: 512 MiB boot, a 1536 MiB virtio-mem device. */
static const char *domain(const char *name, const char *channel, const char *metadata,
			  const char *balloon)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "<domain type='qemu' id='3'><name>%s</name>"
		 "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>%s"
		 "<maxMemory slots='1' unit='KiB'>2097152</maxMemory>"
		 "<memory unit='KiB'>2097152</memory><currentMemory unit='KiB'>524288</currentMemory>"
		 "<devices>%s"
		 "<memory model='virtio-mem'><target><size unit='KiB'>1572864</size><node>0</node>"
		 "<block unit='KiB'>2048</block><requested unit='KiB'>262144</requested>"
		 "<current unit='KiB'>131072</current></target><alias name='virtiomem0'/>"
		 "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></memory>"
		 "%s</devices></domain>",
		 name, metadata, channel, balloon);
	return buf;
}

#define CHANNEL "<channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-3-web/org.vmrd.0'/>" \
		"<target type='virtio' name='org.vmrd.0' state='connected'/><alias name='channel0'/></channel>"
#define BALLOON "<memballoon model='virtio'><alias name='balloon0'/></memballoon>"
#define META(attrs) "<metadata><vmrd:vm xmlns:vmrd='" DISCOVER_XMLNS "' " attrs "/></metadata>"

static struct discover_dom parse(const char *xml)
{
	struct discover_dom d;

	assert_int_equal(discover_parse_xml(xml, strlen(xml), &d), 0);
	return d;
}

static void test_managed_defaults(void **state)
{
	struct discover_dom d = parse(domain("web", CHANNEL, "", BALLOON));

	assert_true(d.managed);
	assert_string_equal(d.name, "web");
	assert_int_equal(d.boot_bytes, 512 * MIB);
	assert_int_equal(d.vmem_max_bytes, 1536 * MIB);
	assert_int_equal(d.vmem_block_bytes, 2 * MIB);
	assert_int_equal(d.vmem_requested_bytes, 256 * MIB);
	assert_int_equal(d.vmem_current_bytes, 128 * MIB);
	assert_int_equal(d.balloon_actual_bytes, 512 * MIB);
	assert_string_equal(d.vmem_alias, "virtiomem0");
	assert_string_equal(d.balloon_alias, "balloon0");
	assert_string_equal(d.channel_path, "/var/lib/libvirt/qemu/channel/target/domain-3-web/org.vmrd.0");
	/* Defaults: min the boot memory, max boot + the device, weight 100. */
	assert_int_equal(d.min_bytes, 512 * MIB);
	assert_int_equal(d.max_bytes, 2048 * MIB);
	assert_int_equal(d.weight, 100);
}

static void test_metadata(void **state)
{
	struct discover_dom d = parse(domain("web", CHANNEL, META("min='768M' max='1536M' weight='300'"), ""));

	assert_true(d.managed);
	assert_int_equal(d.min_bytes, 768 * MIB);
	assert_int_equal(d.max_bytes, 1536 * MIB);
	assert_int_equal(d.weight, 300);
	/* Only what is given changes the defaults. */
	d = parse(domain("web", CHANNEL, META("weight='5'"), ""));
	assert_true(d.managed);
	assert_int_equal(d.min_bytes, 512 * MIB);
	assert_int_equal(d.weight, 5);
	/* Metadata in another namespace is not ours. */
	d = parse(domain("web", CHANNEL, "<metadata><x:vm xmlns:x='urn:other' min='1'/></metadata>", ""));
	assert_true(d.managed);
	assert_int_equal(d.min_bytes, 512 * MIB);
}

/* Each bad value makes the domain unmanaged, and the reason names the field. */
static void test_bad_metadata(void **state)
{
	static const struct {
		const char *attrs;
		const char *reason;
	} cases[] = {
		{ "min='lots'", "vmrd metadata: min=\"lots\" is not valid" },
		{ "max='-1G'", "vmrd metadata: max=\"-1G\" is not valid" },
		{ "max='0'", "vmrd metadata: max=\"0\" is not valid" },
		{ "weight='0'", "vmrd metadata: weight=\"0\" is not valid" },
		{ "weight='10001'", "vmrd metadata: weight=\"10001\" is not valid" },
		{ "weight='1.5'", "vmrd metadata: weight=\"1.5\" is not valid" },
		{ "min='2G' max='1G'", "vmrd metadata: min is larger than max" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char meta[256];
		struct discover_dom d;

		snprintf(meta, sizeof(meta), META("%s"), cases[i].attrs);
		d = parse(domain("web", CHANNEL, meta, ""));
		assert_false(d.managed);
		assert_string_equal(d.reason, cases[i].reason);
	}
}

static void test_not_managed(void **state)
{
	struct discover_dom d = parse(domain("web", "", "", BALLOON));

	assert_false(d.managed);
	assert_string_equal(d.reason, "no unix channel named org.vmrd.0");
	d = parse(domain("web", "<channel type='unix'><source mode='connect' path='/x'/>"
				"<target type='virtio' name='org.vmrd.0'/></channel>", "", ""));
	assert_false(d.managed);
	assert_string_equal(d.reason, "channel org.vmrd.0 has no socket that QEMU serves (mode connect)");
	d = parse(domain("a name with spaces", CHANNEL, "", ""));
	assert_false(d.managed);
	d = parse(domain("this-domain-name-is-far-too-long-for-vmrd", CHANNEL, "", ""));
	assert_false(d.managed);
}

static void test_not_a_domain(void **state)
{
	struct discover_dom d;

	assert_int_equal(discover_parse_xml("<domain>", 8, &d), -EINVAL);
	assert_int_equal(discover_parse_xml("<network><name>x</name></network>", 33, &d), -EINVAL);
	assert_int_equal(discover_parse_xml("", 0, &d), -EINVAL);
	/* A size that is not a number: listed, not managed. */
	d = parse("<domain><name>n</name><memory unit='KiB'>x</memory></domain>");
	assert_false(d.managed);
	d = parse("<domain><name>n</name><memory unit='parsecs'>1</memory></domain>");
	assert_false(d.managed);
}

static void test_vmem_update_xml(void **state)
{
	const char *xml = domain("web", CHANNEL, "", "");
	struct discover_dom d;
	char *dev = NULL;
	char wrapped[4096];

	assert_int_equal(discover_vmem_update_xml(xml, strlen(xml), "virtiomem0", 1024 * MIB, &dev), 0);
	assert_non_null(strstr(dev, "<requested unit=\"KiB\">1048576</requested>"));
	assert_non_null(strstr(dev, "<alias name=\"virtiomem0\"/>"));
	assert_non_null(strstr(dev, "<size unit=\"KiB\">1572864</size>"));
	/* The device XML is the device alone: as a domain's only device it parses the same. */
	snprintf(wrapped, sizeof(wrapped),
		 "<domain><name>w</name><memory unit='KiB'>2097152</memory><devices>%s</devices></domain>", dev);
	d = parse(wrapped);
	assert_int_equal(d.vmem_requested_bytes, 1024 * MIB);
	free(dev);
	dev = NULL;
	assert_int_equal(discover_vmem_update_xml(xml, strlen(xml), "nosuch", MIB, &dev), -ENOENT);
	assert_int_equal(discover_vmem_update_xml(xml, strlen(xml), "x']|//*['", MIB, &dev), -EINVAL);
	assert_null(dev);
}

static void test_cid_map(void **state)
{
	struct vsock_host h = { .n = 0 };
	struct vm a, b;

	assert_int_equal(vsock_host_map(&h, 3, &a), 0);
	assert_int_equal(vsock_host_map(&h, 7, &b), 0);
	assert_int_equal(vsock_host_map(&h, 7, &a), -EEXIST);
	assert_ptr_equal(vsock_host_lookup(&h, 3), &a);
	assert_ptr_equal(vsock_host_lookup(&h, 7), &b);
	assert_null(vsock_host_lookup(&h, 2));
	vsock_host_unmap(&h, &a);
	assert_null(vsock_host_lookup(&h, 3));
	assert_ptr_equal(vsock_host_lookup(&h, 7), &b);
	vsock_host_close(&h);
	assert_null(vsock_host_lookup(&h, 7));
}

/* A guest's connection to port 5571, as the VMM delivers it, reaches the VM's link. */
static void test_hybrid(void **state)
{
	char dir[] = "/tmp/vmrd-hybrid-XXXXXX", base[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct privsep_local reader = { .lines_per_wakeup = 16 };
	struct vm_env env = { .lines_per_wakeup = 16, .error_limit = 3, .error_window_usec = 1000000,
			      .penalty_usec = 1000000, .reader = &privsep_local_ops,
			      .reader_ctx = &reader };
	struct vsock_hybrid x;
	struct loop loop;
	struct vm vm;
	const char *hello = "hello v=1 block=2097152 current=536870912\n";
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(base, sizeof(base), "%s/vm.vsock", dir);
	assert_int_equal(loop_init(&loop), 0);
	env.loop = &loop;
	reader.loop = &loop;
	vm_init(&vm, &env, "t", "", 0);
	assert_int_equal(vsock_hybrid_open(&x, &loop, base, 5571, &vm), 0);
	assert_string_equal(x.path + strlen(dir), "/vm.vsock_5571");
	assert_true(strlen(x.path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, x.path, strlen(x.path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, hello, strlen(hello)), (ssize_t)strlen(hello));
	for (int i = 0; i < 10 && !vm.hello; i++)
		loop_run_once(&loop, 100);
	assert_true(vm_channel_up(&vm));
	assert_true(vm.hello);
	assert_int_equal(vm_take_news(&vm) & VM_NEWS_HELLO, VM_NEWS_HELLO);
	close(fd);
	vm_close(&vm);
	privsep_local_close(&reader);
	vsock_hybrid_close(&x);
	assert_int_equal(access(x.path, F_OK), -1);
	loop_close(&loop);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_managed_defaults),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_bad_metadata),
		cmocka_unit_test(test_not_managed),
		cmocka_unit_test(test_not_a_domain),
		cmocka_unit_test(test_vmem_update_xml),
		cmocka_unit_test(test_cid_map),
		cmocka_unit_test(test_hybrid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
