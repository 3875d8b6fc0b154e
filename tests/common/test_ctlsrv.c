/* SPDX-License-Identifier: MIT */
/*
 * The control-socket server's bounds, with a real socket: the server runs
 * its loop in a child process, the test is the client.  Idle clients are
 * dropped after the idle time, a new client replaces the oldest idle one
 * when all slots are taken, answers grow past their first allocation, and
 * ctlsrv_query() tells error answers and silent closes apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/ctlsrv.h"
#include "common/loop.h"
#include "common/strbuf.h"

#define IDLE_USEC (300 * 1000ull)

struct fixture {
	char dir[64];
	char path[128];
	pid_t server;
};

/* "ping": pong; "big N": N bytes of 'x' and a newline; "fail": an error of the handler. */
static int handler(void *ctx, const char *cmd, struct strbuf *out)
{
	unsigned long n;

	if (strcmp(cmd, "ping") == 0) {
		strbuf_puts(out, "pong\n");
		return 0;
	}
	if (sscanf(cmd, "big %lu", &n) == 1) {
		while (n-- > 0)
			strbuf_append(out, "x", 1);
		strbuf_puts(out, "\n");
		return 0;
	}
	return -EINVAL;
}

static void serve(const char *path)
{
	static struct ctlsrv srv;
	struct loop loop;

	if (loop_init(&loop) < 0 || ctlsrv_open(&srv, path, &loop, handler, NULL) < 0)
		_exit(1);
	srv.idle_usec = IDLE_USEC;
	for (;;)
		loop_run_once(&loop, -1);
}

/*
 * True when the server accepts connections.  Its socket file exists from
 * bind(), before listen(): a connect in between is refused.
 */
static bool listening(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;
	bool ok;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >= (int)sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmrd-ctlsrv.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s", f->dir);
	f->server = fork();
	assert_true(f->server >= 0);
	if (f->server == 0)
		serve(f->path);
	for (int i = 0; i < 500 && !listening(f->path); i++)
		usleep(10000);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kill(f->server, SIGKILL);
	waitpid(f->server, NULL, 0);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* True when the server closed fd (read gives EOF) within ms. */
static bool closed_within(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	char c;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return read(fd, &c, 1) == 0;
}

/* The answer to cmd as text (memfd), and ctlsrv_query()'s result. */
static int query(const char *path, const char *cmd, char *buf, size_t size)
{
	int fd = memfd_create("answer", 0);
	int r;
	ssize_t n;

	assert_true(fd >= 0);
	r = ctlsrv_query(path, cmd, fd, fd, 5000);
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return r;
}

static void test_an_idle_client_is_dropped_after_the_idle_time(void **state)
{
	struct fixture *f = *state;
	int fd = client(f->path);

	assert_false(closed_within(fd, (int)(IDLE_USEC / 4000)));
	assert_true(closed_within(fd, 3000));
	close(fd);
}

static void test_a_new_client_replaces_the_oldest_idle_one(void **state)
{
	struct fixture *f = *state;
	int idle[CTLSRV_CLIENTS];
	char buf[64];

	for (int i = 0; i < CTLSRV_CLIENTS; i++)
		idle[i] = client(f->path);
	usleep(20000);
	assert_int_equal(query(f->path, "ping", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "pong\n");
	/* The first idle client made the room. */
	assert_true(closed_within(idle[0], 100));
	for (int i = 0; i < CTLSRV_CLIENTS; i++)
		close(idle[i]);
}

static void test_an_answer_grows_to_the_cap_and_no_further(void **state)
{
	struct fixture *f = *state;
	static char buf[CTLSRV_OUT_MAX + 64];
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "big %d", 200 * 1024);
	assert_int_equal(query(f->path, cmd, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 200 * 1024 + 1);
	snprintf(cmd, sizeof(cmd), "big %d", CTLSRV_OUT_MAX);
	assert_int_equal(query(f->path, cmd, buf, sizeof(buf)), -EREMOTEIO);
	assert_non_null(strstr(buf, "error: reply larger than"));
}

static void test_query_tells_errors_and_silent_closes(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	int fd;

	assert_int_equal(query(f->path, "nonsense", buf, sizeof(buf)), -EREMOTEIO);
	assert_string_equal(buf, "error: unknown command\n");
	/* A client that says nothing and closes; a server that closes on it. */
	fd = client(f->path);
	assert_int_equal(write(fd, "pi\0ng\n", 6), 6);
	assert_int_equal(read(fd, buf, sizeof(buf)), (ssize_t)strlen("error: NUL byte in the command\n"));
	close(fd);
	kill(f->server, SIGKILL);
	waitpid(f->server, NULL, 0);
	assert_int_equal(query(f->path, "ping", buf, sizeof(buf)), -ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_an_idle_client_is_dropped_after_the_idle_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_new_client_replaces_the_oldest_idle_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_answer_grows_to_the_cap_and_no_further, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_tells_errors_and_silent_closes, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
