/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/loop.h"

/* An owner with two watches: the handler finds its owner from the watch alone. */
struct peer {
	int id;
	struct loop_watch a;
	struct loop_watch b;
	char got[64];
	size_t len;
	int calls_a;
	int calls_b;
	struct loop *loop;
	bool close_b_from_a;
};

static void on_a(struct loop_watch *w, uint32_t events)
{
	struct peer *p = LOOP_OWNER(w, struct peer, a);
	ssize_t n = read(w->fd, p->got + p->len, sizeof(p->got) - 1 - p->len);

	if (n > 0)
		p->len += (size_t)n;
	p->calls_a++;
	if (p->close_b_from_a)
		loop_watch_close(p->loop, &p->b);
}

static void on_b(struct loop_watch *w, uint32_t events)
{
	struct peer *p = LOOP_OWNER(w, struct peer, b);
	char c;

	if (read(w->fd, &c, 1) == 1)
		p->calls_b++;
}

static void test_watches_dispatch_to_their_owner(void **state)
{
	struct loop l;
	struct peer p = { .id = 7 };
	int sa[2], sb[2];

	assert_int_equal(loop_init(&l), 0);
	p.loop = &l;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	loop_watch_init(&p.a, on_a);
	loop_watch_init(&p.b, on_b);
	p.a.fd = sa[0];
	p.b.fd = sb[0];
	assert_int_equal(loop_add(&l, &p.a, EPOLLIN), 0);
	assert_int_equal(loop_add(&l, &p.b, EPOLLIN), 0);
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(write(sa[1], "hello", 5), 5);
	assert_int_equal(loop_run_once(&l, 1000), 1);
	assert_int_equal(p.calls_a, 1);
	assert_int_equal(p.calls_b, 0);
	assert_string_equal(p.got, "hello");
	/* Both ready; a's handler closes b: b's event of the same turn is not delivered. */
	assert_int_equal(write(sa[1], "!", 1), 1);
	assert_int_equal(write(sb[1], "x", 1), 1);
	p.close_b_from_a = true;
	loop_run_once(&l, 1000);
	assert_int_equal(p.calls_a, 2);
	assert_int_equal(p.calls_b, 0);
	assert_int_equal(p.b.fd, -1);
	/* Closed twice is harmless. */
	loop_watch_close(&l, &p.b);
	loop_watch_close(&l, &p.a);
	assert_int_equal(loop_run_once(&l, 0), 0);
	close(sa[1]);
	close(sb[0]);
	close(sb[1]);
	loop_close(&l);
}

static int ticks_seen;
static uint32_t signo_seen;

static void on_timer(struct loop_watch *w, uint32_t events)
{
	ticks_seen += (int)loop_timer_read(w);
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		signo_seen = si.ssi_signo;
}

static void test_timer_and_signal_are_watches_too(void **state)
{
	struct loop l;
	struct loop_watch t, s;
	sigset_t mask;

	assert_int_equal(loop_init(&l), 0);
	loop_watch_init(&t, on_timer);
	loop_watch_init(&s, on_signal);
	assert_int_equal(loop_timer_open(&t), 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	assert_int_equal(loop_signal_open(&s, &mask), 0);
	assert_int_equal(loop_add(&l, &t, EPOLLIN), 0);
	assert_int_equal(loop_add(&l, &s, EPOLLIN), 0);
	assert_int_equal(loop_timer_set(&t, 1000, 0), 0);
	while (ticks_seen == 0)
		assert_true(loop_run_once(&l, 2000) >= 0);
	assert_int_equal(ticks_seen, 1);
	/* Disarmed: nothing more. */
	assert_int_equal(loop_timer_set(&t, 0, 0), 0);
	assert_int_equal(loop_run_once(&l, 20), 0);
	assert_int_equal(raise(SIGUSR1), 0);
	assert_int_equal(loop_run_once(&l, 2000), 1);
	assert_int_equal(signo_seen, SIGUSR1);
	loop_watch_close(&l, &t);
	loop_watch_close(&l, &s);
	loop_close(&l);
}

static void test_flush_keeps_what_the_socket_did_not_take(void **state)
{
	static char buf[1 << 20];
	int sv[2], sndbuf = 4096;
	size_t len = sizeof(buf);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	memset(buf, 'z', sizeof(buf));
	buf[0] = 'a';
	assert_int_equal(loop_flush(sv[0], buf, &len), 0);
	assert_true(len > 0 && len < sizeof(buf));
	assert_int_equal(buf[len - 1], 'z');
	close(sv[1]);
	/* The peer is gone: an error, not a signal. */
	assert_true(loop_flush(sv[0], buf, &len) < 0);
	close(sv[0]);
	assert_int_equal(loop_connect_unix("/nonexistent/socket"), -ENOENT);
}

/* A handler that takes one byte per call and asks to be called again while more wait. */
struct flooded {
	struct loop *loop;
	struct loop_watch w;
	int calls;
	int zero_event_calls;
};

static void on_flooded(struct loop_watch *w, uint32_t events)
{
	struct flooded *f = LOOP_OWNER(w, struct flooded, w);
	char c;

	f->calls++;
	if (events == 0)
		f->zero_event_calls++;
	if (read(w->fd, &c, 1) == 1)
		assert_int_equal(loop_again(f->loop, w), 0);
}

static void test_again_lets_others_run_and_does_not_wait(void **state)
{
	struct loop l;
	struct flooded f = { .loop = &l };
	struct peer p = { .loop = &l };
	int sf[2], sp[2];

	assert_int_equal(loop_init(&l), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sf), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	loop_watch_init(&f.w, on_flooded);
	loop_watch_init(&p.b, on_b);
	f.w.fd = sf[0];
	p.b.fd = sp[0];
	assert_int_equal(loop_add(&l, &f.w, EPOLLIN), 0);
	assert_int_equal(loop_add(&l, &p.b, EPOLLIN), 0);

	/* Three bytes for the flooded watch, then it stops ever being readable again. */
	assert_int_equal(write(sf[1], "abc", 3), 3);
	assert_int_equal(loop_run_once(&l, -1), 1);
	assert_int_equal(f.calls, 1);
	/* The other descriptor is served on the next turn, between the flooded calls. */
	assert_int_equal(write(sp[1], "x", 1), 1);
	assert_true(loop_run_once(&l, -1) >= 2);
	assert_int_equal(p.calls_b, 1);
	assert_true(f.calls >= 2);
	/* Nothing is readable now, yet the asked-for calls come without waiting. */
	close(sf[1]);
	for (int i = 0; i < 4; i++)
		assert_true(loop_run_once(&l, -1) >= 0);
	assert_true(f.zero_event_calls >= 1);

	/* Asking twice is asking once; a deleted watch is not called again. */
	assert_int_equal(loop_again(&l, &f.w), 0);
	assert_int_equal(loop_again(&l, &f.w), 0);
	assert_int_equal(l.n_again, 1);
	loop_del(&l, &f.w);
	assert_int_equal(l.n_again, 0);
	f.calls = 0;
	assert_int_equal(loop_run_once(&l, 0), 0);
	assert_int_equal(f.calls, 0);

	close(sf[0]);
	close(sp[0]);
	close(sp[1]);
	loop_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watches_dispatch_to_their_owner),
		cmocka_unit_test(test_timer_and_signal_are_watches_too),
		cmocka_unit_test(test_flush_keeps_what_the_socket_did_not_take),
		cmocka_unit_test(test_again_lets_others_run_and_does_not_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
