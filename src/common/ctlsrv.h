/* SPDX-License-Identifier: MIT */
#ifndef VMRD_CTLSRV_H
#define VMRD_CTLSRV_H

/*
 * A tiny control-socket server for an epoll loop: a client connects to a
 * unix stream socket, sends one command line, reads the answer until the
 * server closes.  Everything is non-blocking and bounded (a few clients, a
 * short command, a fixed answer buffer each), so a slow or hostile client
 * can never stall the loop it shares with the daemon's real work.
 */

#include <stddef.h>
#include <stdint.h>

#define CTLSRV_CLIENTS 4
#define CTLSRV_CMD_MAX 128
#define CTLSRV_OUT_MAX (64 * 1024)

/* Writes the answer to cmd into out; returns its length (or <0: "error" is sent). */
typedef int (*ctlsrv_handler)(void *ctx, const char *cmd, char *out, size_t size);

struct ctlsrv_client {
	int fd; /* -1: free */
	char cmd[CTLSRV_CMD_MAX];
	size_t cmd_len;
	char out[CTLSRV_OUT_MAX];
	size_t out_len;
	size_t out_off;
};

struct ctlsrv {
	int listen_fd;
	int epfd;
	uint64_t tag; /* epoll data of the listening socket; clients get tag + 1 + index */
	ctlsrv_handler handler;
	void *ctx;
	struct ctlsrv_client clients[CTLSRV_CLIENTS];
};

/*
 * Listen on path (a stale socket there is replaced; its directory is
 * created with mode 0755) and register with epfd.
 */
int ctlsrv_open(struct ctlsrv *srv, const char *path, int epfd, uint64_t tag,
		ctlsrv_handler handler, void *ctx);
/* True if tag belongs to this server; then handles the event. */
int ctlsrv_owns(const struct ctlsrv *srv, uint64_t tag);
void ctlsrv_event(struct ctlsrv *srv, uint64_t tag, uint32_t events);
void ctlsrv_close(struct ctlsrv *srv, const char *path);

/* Client side: send cmd to the socket at path and copy the answer to out_fd. */
int ctlsrv_query(const char *path, const char *cmd, int out_fd, int timeout_ms);

#endif
