/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_VSOCK_H
#define VMRD_HOST_VSOCK_H

/*
 * The guest channel over vsock, host side.  vmrd in the guest connects to
 * the host (CID 2) on vsock_port and speaks first, so the host only
 * listens and hands each accepted connection to the VM's link
 * (vm_attach()):
 *
 *  - QEMU with vhost-vsock-pci: one AF_VSOCK listener for all VMs
 *    (struct vsock_host); the peer's CID, which the host assigned with
 *    guest-cid=, says which VM it is (the CID map).  A CID in no VM's
 *    config is refused and logged.
 *  - Cloud Hypervisor and Firecracker (hybrid vsock): the VMM turns a
 *    guest's connection to port P into a connection to the unix socket
 *    PATH_P, PATH being the VM's vsock socket (--vsock socket=PATH,
 *    uds_path).  One listener per VM (struct vsock_hybrid), so the socket
 *    says which VM it is.  (The VMM's other direction, the host connecting
 *    to PATH and writing "CONNECT <port>\n", would need a listening guest;
 *    vmrd does not listen.)
 *
 * The listeners know nothing of the broker: they map to struct vm.
 */

#include <stdint.h>

#include "common/loop.h"
#include "host/config.h"
#include "host/vm.h"

struct vsock_host {
	struct loop_watch w;
	struct loop *loop;
	uint32_t port;
	/* CID -> VM, one per VM with a cid (common/array.h; freed by vsock_host_close). */
	struct vsock_map {
		uint32_t cid;
		struct vm *vm;
	} *map;
	size_t n;
	size_t map_cap;
	uint64_t refused;    /* connections from CIDs of no VM */
};

/* Listen on AF_VSOCK, any CID, port.  0 or -errno (no vsock in this kernel: -EAFNOSUPPORT). */
int vsock_host_open(struct vsock_host *h, struct loop *loop, uint32_t port);
void vsock_host_close(struct vsock_host *h);
/* Connections from cid go to vm.  -EEXIST when the CID is taken, -ENOMEM. */
int vsock_host_map(struct vsock_host *h, uint32_t cid, struct vm *vm);
void vsock_host_unmap(struct vsock_host *h, const struct vm *vm);
/* The VM of cid, or NULL (pure). */
struct vm *vsock_host_lookup(const struct vsock_host *h, uint32_t cid);

struct vsock_hybrid {
	struct loop_watch w;
	struct loop *loop;
	struct vm *vm;
	char path[CONFIG_PATH_MAX + 12];
};

/* Listen on the unix socket base_PORT for vm (an old socket file there is replaced). */
int vsock_hybrid_open(struct vsock_hybrid *x, struct loop *loop, const char *base, uint32_t port,
		      struct vm *vm);
/* Stop listening and remove the socket file. */
void vsock_hybrid_close(struct vsock_hybrid *x);

#endif
