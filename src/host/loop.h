/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_LOOP_H
#define VMRD_HOST_LOOP_H

/*
 * The broker runs one epoll loop.  Every file descriptor in it is a
 * struct loop_watch embedded in its owner, and epoll hands the watch back,
 * so dispatch is a single indirect call and owners need no lookup table.
 */

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

struct loop_watch {
	int fd;
	void (*fn)(struct loop_watch *w, uint32_t events);
};

int loop_watch_add(int epfd, struct loop_watch *w, uint32_t events);
int loop_watch_mod(int epfd, struct loop_watch *w, uint32_t events);

/*
 * Send as much of buf[0..*len) as the socket takes without blocking and
 * keep the rest at the front of buf; *len is what is left.  0 or -errno.
 */
int loop_flush(int fd, char *buf, size_t *len);
/* Removes the watch from epoll and closes its fd; fd becomes -1. */
void loop_watch_close(int epfd, struct loop_watch *w);

/*
 * A non-blocking, close-on-exec client connection to a unix stream socket.
 * Unix sockets connect at once or fail, so there is no in-progress state.
 */
int loop_connect_unix(const char *path);

#endif
