/* SPDX-License-Identifier: MIT */
#include "common/ctlsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static void mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	(void)mkdir(dir, 0755); /* EEXIST is the normal case; bind() reports the rest */
}

static void client_io(struct loop_watch *w, uint32_t events);
static void listen_io(struct loop_watch *w, uint32_t events);

int ctlsrv_open(struct ctlsrv *srv, const char *path, struct loop *loop, ctlsrv_handler handler,
		void *ctx)
{
	struct sockaddr_un sa;
	int fd, r;

	memset(srv, 0, sizeof(*srv));
	loop_watch_init(&srv->listen, listen_io);
	for (int i = 0; i < CTLSRV_CLIENTS; i++) {
		loop_watch_init(&srv->clients[i].watch, client_io);
		srv->clients[i].srv = srv;
	}
	r = make_addr(path, &sa);
	if (r < 0)
		return r;
	mkdir_parent(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	srv->listen.fd = fd;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		r = -errno;
		goto out;
	}
	r = loop_add(loop, &srv->listen, EPOLLIN);
	if (r < 0)
		goto out;
	srv->loop = loop;
	srv->handler = handler;
	srv->ctx = ctx;
	return 0;
out:
	close(fd);
	srv->listen.fd = -1;
	return r;
}

static void client_drop(struct ctlsrv_client *c)
{
	loop_watch_close(c->srv->loop, &c->watch);
	strbuf_free(&c->out);
}

static void listen_io(struct loop_watch *w, uint32_t events)
{
	struct ctlsrv *srv = LOOP_OWNER(w, struct ctlsrv, listen);

	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctlsrv_client *c = NULL;

		if (fd < 0)
			return;
		for (int i = 0; i < CTLSRV_CLIENTS && !c; i++)
			if (srv->clients[i].watch.fd < 0)
				c = &srv->clients[i];
		if (!c) {
			/* Busy: the client sees the connection close and may retry. */
			close(fd);
			continue;
		}
		c->watch.fd = fd;
		if (loop_add(srv->loop, &c->watch, EPOLLIN) < 0) {
			close(fd);
			c->watch.fd = -1;
			continue;
		}
		c->cmd_len = c->out_off = 0;
	}
}

static void client_flush(struct ctlsrv_client *c)
{
	const struct strbuf *out = &c->out;

	while (c->out_off < strbuf_len(out)) {
		ssize_t n = send(c->watch.fd, strbuf_str(out) + c->out_off, strbuf_len(out) - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return; /* EPOLLOUT brings us back */
		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	client_drop(c);
}

/* The handler's answer, or the error that replaces it. */
static void answer(struct ctlsrv_client *c)
{
	struct ctlsrv *srv = c->srv;
	int r;

	if (strbuf_init_growable(&c->out, CTLSRV_OUT_MIN, CTLSRV_OUT_MAX) < 0) {
		client_drop(c);
		return;
	}
	r = srv->handler(srv->ctx, c->cmd, &c->out);
	if (r < 0 || strbuf_truncated(&c->out)) {
		bool too_large = (r >= 0 || r == -ENOSPC) && !c->out.failed;

		strbuf_reset(&c->out);
		if (r == -EINVAL)
			strbuf_puts(&c->out, "error: unknown command\n");
		else if (too_large)
			strbuf_printf(&c->out, "error: reply larger than %d bytes\n", CTLSRV_OUT_MAX);
		else
			strbuf_printf(&c->out, "error: %s\n", strerror(r < 0 && r != -ENOSPC ? -r : ENOMEM));
	}
	c->out_off = 0;
	if (loop_mod(srv->loop, &c->watch, EPOLLOUT) < 0) {
		client_drop(c);
		return;
	}
	client_flush(c);
}

static void client_read(struct ctlsrv_client *c)
{
	char *nl;
	ssize_t n;

	n = recv(c->watch.fd, c->cmd + c->cmd_len, sizeof(c->cmd) - 1 - c->cmd_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_drop(c);
		return;
	}
	c->cmd_len += (size_t)n;
	c->cmd[c->cmd_len] = '\0';
	nl = strchr(c->cmd, '\n');
	if (!nl) {
		if (c->cmd_len == sizeof(c->cmd) - 1)
			client_drop(c); /* a command never gets this long */
		return;
	}
	*nl = '\0';
	answer(c);
}

static void client_io(struct loop_watch *w, uint32_t events)
{
	struct ctlsrv_client *c = LOOP_OWNER(w, struct ctlsrv_client, watch);

	if (strbuf_str(&c->out))
		client_flush(c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(c);
}

void ctlsrv_close(struct ctlsrv *srv, const char *path)
{
	for (int i = 0; i < CTLSRV_CLIENTS; i++)
		if (srv->clients[i].watch.fd >= 0)
			client_drop(&srv->clients[i]);
	if (srv->listen.fd >= 0) {
		loop_watch_close(srv->loop, &srv->listen);
		if (path)
			(void)unlink(path);
	}
}

int ctlsrv_query(const char *path, const char *cmd, int out_fd, int timeout_ms)
{
	struct pollfd pfd = { .events = POLLIN };
	struct sockaddr_un sa;
	char buf[4096];
	int fd, r;

	r = make_addr(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    dprintf(fd, "%s\n", cmd) < 0) {
		r = -errno;
		goto out;
	}
	pfd.fd = fd;
	for (;;) {
		ssize_t n;

		r = poll(&pfd, 1, timeout_ms);
		if (r == 0) {
			r = -ETIMEDOUT;
			goto out;
		}
		if (r < 0) {
			r = -errno;
			goto out;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (write(out_fd, buf, (size_t)n) != n) {
			r = -EIO;
			goto out;
		}
	}
	r = 0;
out:
	close(fd);
	return r;
}
