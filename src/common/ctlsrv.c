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

int ctlsrv_open(struct ctlsrv *srv, const char *path, int epfd, uint64_t tag,
		ctlsrv_handler handler, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	struct sockaddr_un sa;
	int fd, r;

	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = -1;
	for (int i = 0; i < CTLSRV_CLIENTS; i++)
		srv->clients[i].fd = -1;
	r = make_addr(path, &sa);
	if (r < 0)
		return r;
	mkdir_parent(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	srv->listen_fd = fd;
	srv->epfd = epfd;
	srv->tag = tag;
	srv->handler = handler;
	srv->ctx = ctx;
	return 0;
}

int ctlsrv_owns(const struct ctlsrv *srv, uint64_t tag)
{
	return srv->listen_fd >= 0 && tag >= srv->tag && tag <= srv->tag + CTLSRV_CLIENTS;
}

static void client_drop(struct ctlsrv *srv, struct ctlsrv_client *c)
{
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void client_accept(struct ctlsrv *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctlsrv_client *c = NULL;
		struct epoll_event ev = { .events = EPOLLIN };
		int i;

		if (fd < 0)
			return;
		for (i = 0; i < CTLSRV_CLIENTS; i++)
			if (srv->clients[i].fd < 0) {
				c = &srv->clients[i];
				break;
			}
		ev.data.u64 = srv->tag + 1 + (uint64_t)i;
		if (!c || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			/* Busy: the client sees the connection close and may retry. */
			close(fd);
			continue;
		}
		c->fd = fd;
		c->cmd_len = c->out_len = c->out_off = 0;
	}
}

static void client_flush(struct ctlsrv *srv, struct ctlsrv_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			return; /* EPOLLOUT brings us back */
		if (n <= 0)
			break;
		c->out_off += (size_t)n;
	}
	client_drop(srv, c);
}

static void client_read(struct ctlsrv *srv, struct ctlsrv_client *c)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	char *nl;
	ssize_t n;
	int len;

	n = recv(c->fd, c->cmd + c->cmd_len, sizeof(c->cmd) - 1 - c->cmd_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_drop(srv, c);
		return;
	}
	c->cmd_len += (size_t)n;
	c->cmd[c->cmd_len] = '\0';
	nl = strchr(c->cmd, '\n');
	if (!nl) {
		if (c->cmd_len == sizeof(c->cmd) - 1)
			client_drop(srv, c); /* a command never gets this long */
		return;
	}
	*nl = '\0';
	len = srv->handler(srv->ctx, c->cmd, c->out, sizeof(c->out));
	if (len < 0)
		len = snprintf(c->out, sizeof(c->out), "error: unknown command\n");
	c->out_len = (size_t)len < sizeof(c->out) ? (size_t)len : sizeof(c->out) - 1;
	ev.data.u64 = srv->tag + 1 + (uint64_t)(c - srv->clients);
	epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	client_flush(srv, c);
}

void ctlsrv_event(struct ctlsrv *srv, uint64_t tag, uint32_t events)
{
	struct ctlsrv_client *c;

	if (tag == srv->tag) {
		client_accept(srv);
		return;
	}
	c = &srv->clients[tag - srv->tag - 1];
	if (c->fd < 0)
		return;
	if (c->out_len)
		client_flush(srv, c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(srv, c);
}

void ctlsrv_close(struct ctlsrv *srv, const char *path)
{
	for (int i = 0; i < CTLSRV_CLIENTS; i++)
		if (srv->clients[i].fd >= 0)
			client_drop(srv, &srv->clients[i]);
	if (srv->listen_fd >= 0) {
		close(srv->listen_fd);
		srv->listen_fd = -1;
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
