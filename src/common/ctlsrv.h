/* SPDX-License-Identifier: MIT */
#ifndef VMRD_CTLSRV_H
#define VMRD_CTLSRV_H

/*
 * A tiny control-socket server on the daemon's event loop: a client
 * connects to a unix stream socket, sends one command line, reads the
 * answer until the server closes.  Everything is non-blocking and bounded,
 * so a slow or hostile client can never stall the loop it shares with the
 * daemon's real work, nor keep other clients out:
 *  - at most CTLSRV_CLIENTS at once; when all are taken, a new client
 *    replaces the one that has waited longest without sending its command;
 *  - a client that makes no progress (no command, or an answer it does not
 *    read) for CTLSRV_IDLE_USEC is dropped;
 *  - a command is one line of at most CTLSRV_CMD_MAX - 1 bytes; a longer
 *    one, or one with a NUL byte, is answered "error: ..." and closed;
 *  - an answer grows up to CTLSRV_OUT_MAX bytes; a larger one is replaced
 *    by "error: reply larger than N bytes".
 * Every answer that is an error starts with "error: ", so a client can
 * tell (ctlsrv_query() does).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "common/strbuf.h"

#define CTLSRV_CLIENTS 8
#define CTLSRV_CMD_MAX 128
/* An answer starts at CTLSRV_OUT_MIN bytes and grows up to CTLSRV_OUT_MAX. */
#define CTLSRV_OUT_MIN (4 * 1024)
#define CTLSRV_OUT_MAX (4 * 1024 * 1024)
#define CTLSRV_IDLE_USEC (2 * 1000000ull)

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
	uint64_t progress_usec;  /* accepted, or last read or written */
	char cmd[CTLSRV_CMD_MAX];
	size_t cmd_len;
	struct strbuf out;       /* allocated while an answer is being sent */
	size_t out_off;
};

struct ctlsrv {
	struct loop_watch listen;
	struct loop_watch timer;     /* drops idle clients; runs while there are any */
	struct loop *loop;
	ctlsrv_handler handler;
	void *ctx;
	uint64_t idle_usec;          /* CTLSRV_IDLE_USEC; a test may shorten it */
	uint64_t dropped_idle;       /* clients dropped for making no progress */
	uint64_t replaced;           /* ...to make room for a new one */
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

/*
 * Client side: send cmd to the socket at path and copy the answer to
 * out_fd.  An answer that starts with "error: " goes to err_fd instead and
 * the result is -EREMOTEIO; a connection closed with no answer at all is
 * -ECONNRESET (the server was busy, or it is not a control socket);
 * -ETIMEDOUT when no byte came for timeout_ms.  Never raises SIGPIPE.
 */
int ctlsrv_query(const char *path, const char *cmd, int out_fd, int err_fd, int timeout_ms);

#endif
