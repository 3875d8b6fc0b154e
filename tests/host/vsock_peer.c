/* SPDX-License-Identifier: MIT */
/*
 * The host end of the vsock loopback test, run inside a test guest (it is
 * linked statically for that): vmrd-host's own AF_VSOCK listener and CID
 * map (vsock.c) and guest link (vm.c) meet the guest's real vmrd, which
 * connects to CID 2 like on a real host; with only vsock_loopback loaded
 * the kernel loops that back, and the peer CID is VMADDR_CID_LOCAL (1).
 *
 * Usage: vsock-peer PORT CID SECONDS
 * Maps CID to a VM "loop", answers its hello with a welcome (min = max =
 * current = the guest's MemTotal, so vmrd has nothing to ask), waits for a
 * report, and prints one "VMRD-E2E: vsock-peer status=..." line.  Exits 0
 * when the hello, the welcome and a report went through.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/loop.h"
#include "host/privsep.h"
#include "host/vsock.h"
#include "host/vm.h"

static void result(const char *status, const struct vm *vm, unsigned cid)
{
	printf("VMRD-E2E: vsock-peer status=%s cid=%u hello=%d agent=%s lines=%llu\n", status, cid,
	       vm->hello, vm->agent[0] ? vm->agent : "none", (unsigned long long)vm->lines_total);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct vm_env env = { .lines_per_wakeup = 16, .error_limit = 10,
			      .error_window_usec = 10 * 1000000ull, .penalty_usec = 1000000ull };
	static struct vsock_host h;
	static struct vm vm;
	static struct privsep_local reader;
	struct loop loop;
	unsigned port, cid, seconds;
	uint64_t end;
	bool reported = false;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: vsock-peer PORT CID SECONDS\n");
		return 2;
	}
	port = (unsigned)atoi(argv[1]);
	cid = (unsigned)atoi(argv[2]);
	seconds = (unsigned)atoi(argv[3]);
	if (loop_init(&loop) < 0)
		return 1;
	env.loop = &loop;
	/* The guest reader in this process: no fork, no filter inside the test guest. */
	reader = (struct privsep_local){ .loop = &loop, .lines_per_wakeup = 16 };
	env.reader = &privsep_local_ops;
	env.reader_ctx = &reader;
	vm_init(&vm, &env, "loop", "", clock_now_usec());
	r = vsock_host_open(&h, &loop, port);
	if (r < 0) {
		printf("VMRD-E2E: vsock-peer status=listen-failed error=\"%s\"\n", strerror(-r));
		return 1;
	}
	vsock_host_map(&h, cid, &vm);
	printf("VMRD-E2E: vsock-peer status=listening port=%u\n", port);
	fflush(stdout);
	end = clock_now_usec() + seconds * 1000000ull;
	while (clock_now_usec() < end && !reported) {
		unsigned news;

		loop_run_once(&loop, 100);
		news = vm_take_news(&vm);
		if (news & VM_NEWS_HELLO)
			/* The guest's own size as its current, min and max: it has nothing to ask. */
			vm_welcome(&vm, 512ull << 20, 4096ull << 20, 512ull << 20, 2ull << 20, 0,
				   clock_now_usec());
		reported = vm.hello && vm.welcomed && vm.report.valid;
	}
	result(reported ? "ok" : h.refused ? "refused" : "timeout", &vm, cid);
	vm_close(&vm);
	vsock_host_close(&h);
	return reported ? 0 : 1;
}
