/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_QMP_H
#define VMRD_HOST_QMP_H

/*
 * A non-blocking QMP client for the broker's epoll loop.  It connects as a
 * client to the unix socket QEMU serves (-qmp unix:PATH,server=on,wait=off),
 * reads the greeting, negotiates capabilities, then matches replies to
 * commands by a numeric "id" and hands events to its owner.  When QEMU goes
 * away, every pending command fails with -ECONNRESET, the owner is told, and
 * the client reconnects with exponential backoff from qmp_tick().
 *
 * Recovery needs no person: a command not answered within
 * QMP_REPLY_TIMEOUT_USEC drops the connection (a QEMU that stopped
 * answering is reconnected, not waited for), and the reconnect backoff
 * starts over only when a command is answered with a "return": a QEMU that
 * accepts the connection and then closes it, or never answers, is retried
 * ever more slowly, up to QMP_BACKOFF_MAX_USEC.
 *
 * Buffers are fixed: a line from QEMU longer than QMP_IN_MAX is a protocol
 * error and drops the connection, and commands are refused with -ENOBUFS
 * when QMP_MAX_PENDING are outstanding or the output buffer is full.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "host/qmp_parse.h"

#define QMP_IN_MAX (64 * 1024)
#define QMP_OUT_MAX (16 * 1024)
#define QMP_MAX_PENDING 16
#define QMP_REPLY_TIMEOUT_USEC (5 * 1000000ull)
#define QMP_BACKOFF_MIN_USEC (100 * 1000ull) /* reconnect delays */
#define QMP_BACKOFF_MAX_USEC (5 * 1000000ull)

enum qmp_state {
	QMP_DOWN,
	QMP_GREETING,
	QMP_NEGOTIATING,
	QMP_READY,
};

struct qmp;

/*
 * A command's outcome: err 0 with the "return" message, -EREMOTEIO with the
 * "error" message (m->name is the class), or -ECONNRESET / -ETIMEDOUT with
 * m NULL.  Called exactly once per accepted command, except after
 * qmp_destroy().  Function types are spelled out rather than typedef'd.
 */
#define QMP_REPLY_FN(name) void (*name)(struct qmp *q, int err, const struct qmp_msg *m, void *arg)

struct qmp_ops {
	void (*ready)(struct qmp *q, void *ctx);
	/*
	 * The connection was lost (err says why; -ETIMEDOUT: a command was not
	 * answered); reconnection is automatic.  Called before the commands in
	 * flight fail.
	 */
	void (*down)(struct qmp *q, int err, void *ctx);
	/* An attempt to connect failed before the connection was ready (err says why). */
	void (*unreachable)(struct qmp *q, int err, void *ctx);
	void (*event)(struct qmp *q, const struct qmp_msg *m, void *ctx);
};

struct qmp_pending {
	uint64_t id;
	uint64_t deadline_usec;
	QMP_REPLY_FN(fn);
	void *arg;
};

struct qmp {
	struct loop_watch watch;
	struct loop *loop;
	char path[108];
	enum qmp_state state;
	const struct qmp_ops *ops;
	void *ctx;
	uint64_t next_id;
	/* Reconnection; only a command answered with "return" counts as a success. */
	struct backoff backoff;
	uint64_t state_since_usec;
	/* The last reason the connection failed, for status output. */
	int last_err;
	unsigned connects;
	/* The process serving the socket (SO_PEERCRED when connected): QEMU.  0: not known. */
	int peer_pid;
	struct qmp_pending pending[QMP_MAX_PENDING];
	size_t in_len;
	size_t out_len;
	char in[QMP_IN_MAX];
	char out[QMP_OUT_MAX];
};

void qmp_init(struct qmp *q, struct loop *loop, const char *path, const struct qmp_ops *ops, void *ctx);

/* Reconnect when due, time out commands and stalled greetings.  Call often. */
void qmp_tick(struct qmp *q, uint64_t now_usec);

/*
 * Send a command; args (may be NULL) is always consumed.  -EPERM for a
 * command or argument not on the allow-list (host/qmp_allow.h), -ENOTCONN
 * when not ready, -ENOBUFS when the queue is full.  fn may be NULL.
 */
int qmp_execute(struct qmp *q, const char *cmd, json_t *args, QMP_REPLY_FN(fn), void *arg,
		uint64_t now_usec);

static inline bool qmp_is_ready(const struct qmp *q)
{
	return q->state == QMP_READY;
}

/* Close without calling any callback; the owner is going away. */
void qmp_destroy(struct qmp *q);

#endif
