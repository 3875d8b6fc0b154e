/* SPDX-License-Identifier: MIT */
#include "common/ctlsrv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"

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
static void timer_io(struct loop_watch *w, uint32_t events);

int ctlsrv_open(struct ctlsrv *srv, const char *path, struct loop *loop, ctlsrv_handler handler,
		void *ctx)
{
	struct sockaddr_un sa;
	int fd, r;

	memset(srv, 0, sizeof(*srv));
	loop_watch_init(&srv->listen, listen_io);
	loop_watch_init(&srv->timer, timer_io);
	srv->idle_usec = CTLSRV_IDLE_USEC;
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
	if ((r = loop_timer_open(&srv->timer)) < 0 || (r = loop_add(loop, &srv->timer, EPOLLIN)) < 0 ||
	    (r = loop_add(loop, &srv->listen, EPOLLIN)) < 0)
		goto out;
	srv->loop = loop;
	srv->handler = handler;
	srv->ctx = ctx;
	return 0;
out:
	if (srv->timer.fd >= 0) {
		loop_del(loop, &srv->timer);
		close(srv->timer.fd);
		srv->timer.fd = -1;
	}
	close(fd);
	srv->listen.fd = -1;
	return r;
}

static void client_drop(struct ctlsrv_client *c)
{
	loop_watch_close(c->srv->loop, &c->watch);
	strbuf_free(&c->out);
}

/* The idle check runs a few times per idle period while any client is connected. */
static void timer_arm(struct ctlsrv *srv, bool on)
{
	uint64_t period = srv->idle_usec / 4 ? srv->idle_usec / 4 : 1;

	(void)loop_timer_set(&srv->timer, on ? period : 0, on ? period : 0);
}

static void timer_io(struct loop_watch *w, uint32_t events)
{
	struct ctlsrv *srv = LOOP_OWNER(w, struct ctlsrv, timer);
	uint64_t now = clock_now_usec();
	bool any = false;

	loop_timer_read(w);
	for (int i = 0; i < CTLSRV_CLIENTS; i++) {
		struct ctlsrv_client *c = &srv->clients[i];

		if (c->watch.fd >= 0 && now - c->progress_usec >= srv->idle_usec) {
			srv->dropped_idle++;
			client_drop(c);
		}
		any |= c->watch.fd >= 0;
	}
	if (!any)
		timer_arm(srv, false);
}

/* A free slot; when none is, the one that has waited longest for its command makes room. */
static struct ctlsrv_client *client_slot(struct ctlsrv *srv)
{
	struct ctlsrv_client *oldest = NULL;

	for (int i = 0; i < CTLSRV_CLIENTS; i++) {
		struct ctlsrv_client *c = &srv->clients[i];

		if (c->watch.fd < 0)
			return c;
		if (!strbuf_str(&c->out) && (!oldest || c->progress_usec < oldest->progress_usec))
			oldest = c;
	}
	if (oldest) {
		srv->replaced++;
		client_drop(oldest);
	}
	return oldest;
}

static void listen_io(struct loop_watch *w, uint32_t events)
{
	struct ctlsrv *srv = LOOP_OWNER(w, struct ctlsrv, listen);

	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctlsrv_client *c;

		if (fd < 0)
			return;
		c = client_slot(srv);
		if (!c) {
			/* Every slot is sending an answer: the client sees the close and may retry. */
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
		c->progress_usec = clock_now_usec();
		timer_arm(srv, true);
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
		c->progress_usec = clock_now_usec();
	}
	client_drop(c);
}

/* Send text (an answer or an error) and close once it is out. */
static void client_answer(struct ctlsrv_client *c)
{
	c->out_off = 0;
	if (loop_mod(c->srv->loop, &c->watch, EPOLLOUT) < 0) {
		client_drop(c);
		return;
	}
	client_flush(c);
}

/* Answer with "error: ..." alone (the command is not run). */
__attribute__((format(printf, 2, 3))) static void client_refuse(struct ctlsrv_client *c,
								 const char *fmt, ...)
{
	va_list ap;

	if (strbuf_init_growable(&c->out, 128, 128) < 0) {
		client_drop(c);
		return;
	}
	strbuf_puts(&c->out, "error: ");
	va_start(ap, fmt);
	strbuf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	strbuf_puts(&c->out, "\n");
	client_answer(c);
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
	client_answer(c);
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
	c->progress_usec = clock_now_usec();
	nl = memchr(c->cmd, '\n', c->cmd_len);
	/* A NUL would end the command early for the handler and hide what follows it. */
	if (memchr(c->cmd, '\0', nl ? (size_t)(nl - c->cmd) : c->cmd_len)) {
		client_refuse(c, "%s", "NUL byte in the command");
		return;
	}
	if (!nl) {
		if (c->cmd_len == sizeof(c->cmd) - 1)
			client_refuse(c, "command line longer than %d bytes with its newline",
				      CTLSRV_CMD_MAX - 1);
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
	if (srv->timer.fd >= 0)
		loop_watch_close(srv->loop, &srv->timer);
	if (srv->listen.fd >= 0) {
		loop_watch_close(srv->loop, &srv->listen);
		if (path)
			(void)unlink(path);
	}
}

/* All of buf to fd (a pipe or a file: short writes are retried). */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int connect_send(const char *path, const char *cmd)
{
	struct sockaddr_un sa;
	char line[CTLSRV_CMD_MAX + 1];
	int fd, n, r;

	r = make_addr(path, &sa);
	if (r < 0)
		return r;
	n = snprintf(line, sizeof(line), "%s\n", cmd);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* MSG_NOSIGNAL: a server that closed at once is an error to report, not a SIGPIPE death. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int ctlsrv_query(const char *path, const char *cmd, int out_fd, int err_fd, int timeout_ms)
{
	static const char err_prefix[] = "error: ";
	struct pollfd pfd = { .events = POLLIN };
	char buf[4096];
	size_t total = 0;
	bool is_error = false;
	int r;

	pfd.fd = connect_send(path, cmd);
	if (pfd.fd < 0)
		return pfd.fd;
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
		n = read(pfd.fd, buf, sizeof(buf));
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		/* The first bytes say whether the whole answer is an error. */
		if (total == 0 && (size_t)n >= sizeof(err_prefix) - 1 &&
		    memcmp(buf, err_prefix, sizeof(err_prefix) - 1) == 0)
			is_error = true;
		total += (size_t)n;
		if ((r = write_all(is_error ? err_fd : out_fd, buf, (size_t)n)) < 0)
			goto out;
	}
	r = total == 0 ? -ECONNRESET : is_error ? -EREMOTEIO : 0;
out:
	close(pfd.fd);
	return r;
}
