/* SPDX-License-Identifier: MIT */
#include "host/qmp.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "host/qmp_allow.h"

/* At most this much is read per wakeup, so one chatty QEMU cannot starve others. */
#define QMP_READ_BUDGET (64 * 1024)

static void qmp_io(struct loop_watch *w, uint32_t events);

void qmp_init(struct qmp *q, struct loop *loop, const char *path, const struct qmp_ops *ops, void *ctx)
{
	memset(q, 0, sizeof(*q));
	loop_watch_init(&q->watch, qmp_io);
	q->loop = loop;
	snprintf(q->path, sizeof(q->path), "%s", path);
	q->ops = ops;
	q->ctx = ctx;
	q->next_id = 1;
	backoff_init(&q->backoff, QMP_BACKOFF_MIN_USEC, QMP_BACKOFF_MAX_USEC);
}

static void fail_pending(struct qmp *q, int err)
{
	for (size_t i = 0; i < QMP_MAX_PENDING; i++) {
		struct qmp_pending p = q->pending[i];

		memset(&q->pending[i], 0, sizeof(q->pending[i]));
		if (p.fn)
			p.fn(q, err, NULL, p.arg);
	}
}

/*
 * Drop the connection and schedule a retry; the owner hears of it first,
 * then every command that was outstanding fails.
 */
static void qmp_drop(struct qmp *q, int err, uint64_t now_usec)
{
	bool was_ready = q->state == QMP_READY;

	loop_watch_close(q->loop, &q->watch);
	q->state = QMP_DOWN;
	q->state_since_usec = now_usec;
	q->in_len = 0;
	q->out_len = 0;
	q->last_err = err;
	backoff_failed(&q->backoff, now_usec);
	if (was_ready && q->ops->down)
		q->ops->down(q, err, q->ctx);
	else if (!was_ready && q->ops->unreachable)
		q->ops->unreachable(q, err, q->ctx);
	fail_pending(q, -ECONNRESET);
}

static int flush_out(struct qmp *q)
{
	int r = loop_flush(q->watch.fd, q->out, &q->out_len);

	if (r < 0)
		return r;
	return loop_mod(q->loop, &q->watch, EPOLLIN | (q->out_len ? EPOLLOUT : 0));
}

static int queue_line(struct qmp *q, const char *line, size_t len)
{
	if (len + 1 > QMP_OUT_MAX - q->out_len)
		return -ENOBUFS;
	memcpy(q->out + q->out_len, line, len);
	q->out[q->out_len + len] = '\n';
	q->out_len += len + 1;
	return flush_out(q);
}

static int send_json(struct qmp *q, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	int r;

	if (!text)
		return -ENOMEM;
	r = queue_line(q, text, strlen(text));
	free(text);
	return r;
}

static int send_command(struct qmp *q, const char *cmd, json_t *args, uint64_t id)
{
	json_t *obj = json_pack("{s:s, s:I}", "execute", cmd, "id", (json_int_t)id);
	int r;

	if (!obj) {
		json_decref(args);
		return -ENOMEM;
	}
	if (args)
		json_object_set_new(obj, "arguments", args);
	r = send_json(q, obj);
	json_decref(obj);
	return r;
}

int qmp_execute(struct qmp *q, const char *cmd, json_t *args, QMP_REPLY_FN(fn), void *arg,
		uint64_t now_usec)
{
	struct qmp_pending *slot = NULL;
	uint64_t id;
	int r;

	/* Whatever the caller: only what vmrd-host needs reaches QEMU (qmp_allow.h). */
	r = qmp_allow_check(cmd, args);
	if (r < 0) {
		json_decref(args);
		return r;
	}
	if (q->state != QMP_READY) {
		json_decref(args);
		return -ENOTCONN;
	}
	for (size_t i = 0; i < QMP_MAX_PENDING && !slot; i++)
		if (!q->pending[i].fn && q->pending[i].id == 0)
			slot = &q->pending[i];
	if (!slot) {
		json_decref(args);
		return -ENOBUFS;
	}
	id = q->next_id++;
	r = send_command(q, cmd, args, id);
	if (r < 0)
		return r;
	/* A slot with an id but no callback still waits for its reply. */
	slot->id = id;
	slot->fn = fn;
	slot->arg = arg;
	slot->deadline_usec = now_usec + QMP_REPLY_TIMEOUT_USEC;
	return 0;
}

static struct qmp_pending *find_pending(struct qmp *q, uint64_t id)
{
	for (size_t i = 0; i < QMP_MAX_PENDING; i++)
		if (q->pending[i].id == id && id != 0)
			return &q->pending[i];
	return NULL;
}

static void handle_reply(struct qmp *q, const struct qmp_msg *m)
{
	struct qmp_pending *p;
	struct qmp_pending copy;

	if (!m->has_id)
		return;
	p = find_pending(q, m->id);
	if (!p)
		return;
	copy = *p;
	memset(p, 0, sizeof(*p));
	/* QEMU did what it was asked: this connection works, the next failure starts over. */
	if (m->kind == QMP_MSG_RETURN)
		backoff_succeeded(&q->backoff);
	if (copy.fn)
		copy.fn(q, m->kind == QMP_MSG_ERROR ? -EREMOTEIO : 0, m, copy.arg);
}

/* Returns < 0 when the connection must be dropped. */
static int handle_message(struct qmp *q, const struct qmp_msg *m, uint64_t now_usec)
{
	switch (q->state) {
	case QMP_GREETING:
		if (m->kind != QMP_MSG_GREETING)
			return -EPROTO;
		q->state = QMP_NEGOTIATING;
		q->state_since_usec = now_usec;
		return queue_line(q, "{\"execute\":\"qmp_capabilities\"}",
				  strlen("{\"execute\":\"qmp_capabilities\"}"));
	case QMP_NEGOTIATING:
		if (m->kind == QMP_MSG_EVENT)
			return 0;
		if (m->kind != QMP_MSG_RETURN)
			return -EPROTO;
		q->state = QMP_READY;
		q->state_since_usec = now_usec;
		q->last_err = 0;
		q->connects++;
		if (q->ops->ready)
			q->ops->ready(q, q->ctx);
		return 0;
	case QMP_READY:
		if (m->kind == QMP_MSG_EVENT) {
			if (q->ops->event)
				q->ops->event(q, m, q->ctx);
		} else if (m->kind == QMP_MSG_RETURN || m->kind == QMP_MSG_ERROR) {
			handle_reply(q, m);
		}
		return 0;
	case QMP_DOWN:
		break;
	}
	return -EPROTO;
}

/* Split the input into lines; keeps a partial line for the next read. */
static int process_input(struct qmp *q, uint64_t now_usec)
{
	size_t start = 0;
	int r = 0;

	while (start < q->in_len && q->watch.fd >= 0) {
		char *nl = memchr(q->in + start, '\n', q->in_len - start);
		size_t len;
		struct qmp_msg m;

		if (!nl)
			break;
		len = (size_t)(nl - (q->in + start));
		/* A line we cannot parse is skipped; QEMU never sends one on purpose. */
		if (qmp_parse_message(q->in + start, len, &m) == 0) {
			r = handle_message(q, &m, now_usec);
			json_decref(m.root);
		}
		start += len + 1;
		if (r < 0)
			return r;
	}
	if (q->watch.fd < 0)
		return 0;
	memmove(q->in, q->in + start, q->in_len - start);
	q->in_len -= start;
	if (q->in_len == QMP_IN_MAX)
		return -EMSGSIZE;
	return 0;
}

static int read_input(struct qmp *q, uint64_t now_usec)
{
	size_t budget = QMP_READ_BUDGET;

	while (budget > 0 && q->watch.fd >= 0) {
		size_t room = QMP_IN_MAX - q->in_len;
		ssize_t n;
		int r;

		if (room > budget)
			room = budget;
		n = recv(q->watch.fd, q->in + q->in_len, room, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		q->in_len += (size_t)n;
		budget -= (size_t)n;
		r = process_input(q, now_usec);
		if (r < 0)
			return r;
	}
	return 0;
}

static void qmp_io(struct loop_watch *w, uint32_t events)
{
	struct qmp *q = LOOP_OWNER(w, struct qmp, watch);
	uint64_t now_usec = clock_now_usec();
	int r = 0;

	if (w->fd < 0)
		return;
	if (events & EPOLLIN)
		r = read_input(q, now_usec);
	if (r == 0 && q->watch.fd >= 0 && (events & EPOLLOUT))
		r = flush_out(q);
	if (r == 0 && q->watch.fd >= 0 && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		r = -ECONNRESET;
	if (r < 0 && q->watch.fd >= 0)
		qmp_drop(q, r, now_usec);
}

/* Who listens on the socket: QEMU itself, for its footprint (host/footprint.h). */
static int peer_pid(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || len != sizeof(uc))
		return 0;
	return uc.pid > 0 ? uc.pid : 0;
}

static void try_connect(struct qmp *q, uint64_t now_usec)
{
	int fd = loop_connect_unix(q->path);
	int r;

	if (fd < 0) {
		qmp_drop(q, fd, now_usec);
		return;
	}
	q->peer_pid = peer_pid(fd);
	q->watch.fd = fd;
	r = loop_add(q->loop, &q->watch, EPOLLIN);
	if (r < 0) {
		qmp_drop(q, r, now_usec);
		return;
	}
	q->state = QMP_GREETING;
	q->state_since_usec = now_usec;
}

void qmp_tick(struct qmp *q, uint64_t now_usec)
{
	if (q->state == QMP_DOWN) {
		if (!backoff_waiting(&q->backoff, now_usec))
			try_connect(q, now_usec);
		return;
	}
	/*
	 * QEMU serves one client per monitor socket and leaves others in the
	 * listen backlog without a greeting; do not wait for ever.
	 */
	if (q->state != QMP_READY) {
		if (now_usec - q->state_since_usec > QMP_REPLY_TIMEOUT_USEC)
			qmp_drop(q, -ETIMEDOUT, now_usec);
		return;
	}
	/*
	 * A command QEMU does not answer in time: QEMU is stuck, or the
	 * connection is.  Either way waiting longer on it helps nothing, and a
	 * reply that came later would find its command given up; reconnecting
	 * (with backoff) is what recovers.
	 */
	for (size_t i = 0; i < QMP_MAX_PENDING; i++) {
		struct qmp_pending p = q->pending[i];

		if (p.id == 0 || now_usec < p.deadline_usec)
			continue;
		memset(&q->pending[i], 0, sizeof(q->pending[i]));
		qmp_drop(q, -ETIMEDOUT, now_usec);
		if (p.fn)
			p.fn(q, -ETIMEDOUT, NULL, p.arg);
		return;
	}
}

void qmp_destroy(struct qmp *q)
{
	loop_watch_close(q->loop, &q->watch);
	memset(q->pending, 0, sizeof(q->pending));
	q->state = QMP_DOWN;
}
