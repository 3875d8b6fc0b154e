/* SPDX-License-Identifier: MIT */
#ifndef VMRD_CTLSRV_H
#define VMRD_CTLSRV_H

/*
 * A tiny control-socket server on the daemon's event loop: a client
 * connects to a unix stream socket, sends one command line, reads the
 * answer until the server closes.  Everything is non-blocking and bounded
 * (a few clients, a short command, an answer of at most CTLSRV_OUT_MAX
 * bytes each), so a slow or hostile client can never stall the loop it
 * shares with the daemon's real work.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "common/strbuf.h"

#define CTLSRV_CLIENTS 4
#define CTLSRV_CMD_MAX 128
/* An answer starts at CTLSRV_OUT_MIN bytes and grows up to CTLSRV_OUT_MAX. */
#define CTLSRV_OUT_MIN (4 * 1024)
#define CTLSRV_OUT_MAX (64 * 1024)

/*
 * Writes the answer to cmd into out.  0, or -EINVAL for a command it does
 * not know ("error: unknown command" is sent).  An answer that did not fit
 * is replaced by "error: reply larger than N bytes".
 */
typedef int (*ctlsrv_handler)(void *ctx, const char *cmd, struct strbuf *out);

struct ctlsrv;

struct ctlsrv_client {
	struct loop_watch watch; /* fd -1: free */
	struct ctlsrv *srv;
	char cmd[CTLSRV_CMD_MAX];
	size_t cmd_len;
	struct strbuf out;       /* allocated while an answer is being sent */
	size_t out_off;
};

struct ctlsrv {
	struct loop_watch listen;
	struct loop *loop;
	ctlsrv_handler handler;
	void *ctx;
	struct ctlsrv_client clients[CTLSRV_CLIENTS];
};

/*
 * Listen on path (a stale socket there is replaced; its directory is
 * created with mode 0755) and register with the loop.
 */
int ctlsrv_open(struct ctlsrv *srv, const char *path, struct loop *loop, ctlsrv_handler handler,
		void *ctx);
/* Close every connection and the socket; unlink path when given. */
void ctlsrv_close(struct ctlsrv *srv, const char *path);

/* Client side: send cmd to the socket at path and copy the answer to out_fd. */
int ctlsrv_query(const char *path, const char *cmd, int out_fd, int timeout_ms);

#endif
