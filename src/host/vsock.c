/* SPDX-License-Identifier: MIT */
/* The host side of vsock guest channels: see vsock.h. */
#include "host/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "common/array.h"
#include "common/clock.h"
#include "common/log.h"

#define VSOCK_BACKLOG 16

/* Hand a connection to a VM's link; a VM already connected keeps its connection. */
static void hand_over(struct vm *vm, int fd, const char *from)
{
	uint64_t now = clock_now_usec();
	int r = vm_attach(vm, fd, now);

	/* The guest decides how often it connects: what it makes us log comes from its budget. */
	if (r < 0) {
		if (vm_log_ok(vm, now))
			log_warnc(r, "vm %s: connection from %s refused", vm->name, from);
		close(fd);
		return;
	}
	if (vm_log_ok(vm, now))
		log_info("vm %s: channel connected from %s", vm->name, from);
}

static void on_vsock(struct loop_watch *w, uint32_t events)
{
	struct vsock_host *h = LOOP_OWNER(w, struct vsock_host, w);
	struct sockaddr_vm sa;
	socklen_t len = sizeof(sa);
	char from[32];
	struct vm *vm;
	int fd;

	while ((fd = accept4(w->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		snprintf(from, sizeof(from), "vsock CID %u", sa.svm_cid);
		vm = vsock_host_lookup(h, sa.svm_cid);
		if (!vm) {
			h->refused++;
			log_warnx("vsock: connection from CID %u on port %u: no VM has that cid; closed",
				  sa.svm_cid, h->port);
			close(fd);
		} else {
			hand_over(vm, fd, from);
		}
		len = sizeof(sa);
	}
}

/* A non-blocking listening socket at sa, watched by w.  0 or -errno (w->fd stays -1). */
static int listen_on(struct loop *loop, struct loop_watch *w, const struct sockaddr *sa, socklen_t len)
{
	int r = 0;

	w->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return -errno;
	if (bind(w->fd, sa, len) < 0 || listen(w->fd, VSOCK_BACKLOG) < 0)
		r = -errno;
	if (r == 0)
		r = loop_add(loop, w, EPOLLIN);
	if (r < 0) {
		close(w->fd);
		w->fd = -1;
	}
	return r;
}

int vsock_host_open(struct vsock_host *h, struct loop *loop, uint32_t port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };

	memset(h, 0, sizeof(*h));
	loop_watch_init(&h->w, on_vsock);
	h->loop = loop;
	h->port = port;
	return listen_on(loop, &h->w, (const struct sockaddr *)&sa, sizeof(sa));
}

void vsock_host_close(struct vsock_host *h)
{
	if (h->loop)
		loop_watch_close(h->loop, &h->w);
	free(h->map);
	h->map = NULL;
	h->n = 0;
	h->map_cap = 0;
}

struct vm *vsock_host_lookup(const struct vsock_host *h, uint32_t cid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->map[i].cid == cid)
			return h->map[i].vm;
	return NULL;
}

int vsock_host_map(struct vsock_host *h, uint32_t cid, struct vm *vm)
{
	if (vsock_host_lookup(h, cid))
		return -EEXIST;
	if (ARRAY_GROW(h->map, h->map_cap, h->n + 1) < 0)
		return -ENOMEM;
	h->map[h->n].cid = cid;
	h->map[h->n].vm = vm;
	h->n++;
	return 0;
}

void vsock_host_unmap(struct vsock_host *h, const struct vm *vm)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->map[i].vm == vm) {
			h->map[i] = h->map[--h->n];
			return;
		}
}

static void on_hybrid(struct loop_watch *w, uint32_t events)
{
	struct vsock_hybrid *x = LOOP_OWNER(w, struct vsock_hybrid, w);
	int fd;

	while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		hand_over(x->vm, fd, x->path);
}

int vsock_hybrid_open(struct vsock_hybrid *x, struct loop *loop, const char *base, uint32_t port,
		      struct vm *vm)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n;

	memset(x, 0, sizeof(*x));
	loop_watch_init(&x->w, on_hybrid);
	x->loop = loop;
	x->vm = vm;
	n = snprintf(x->path, sizeof(x->path), "%s_%u", base, port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, x->path, (size_t)n);
	/* A socket file left by an earlier broker would make bind fail. */
	unlink(x->path);
	return listen_on(loop, &x->w, (const struct sockaddr *)&sa, sizeof(sa));
}

void vsock_hybrid_close(struct vsock_hybrid *x)
{
	if (x->w.fd < 0)
		return;
	loop_watch_close(x->loop, &x->w);
	unlink(x->path);
}
