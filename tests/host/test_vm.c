/* SPDX-License-Identifier: MIT */
/*
 * The untrusted boundary: vm.c and the guest reader's channel code
 * (privsep_read.c, here in this process: privsep_local) driven over a
 * socketpair with a fake clock, no broker.  The test plays the guest on one end and the owner on the
 * other (taking news, answering with vm_welcome()/vm_send()).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/loop.h"
#include "host/privsep.h"
#include "host/privsep_read.h"
#include "host/vm.h"

#define MIB (UINT64_C(1) << 20)
#define SEC UINT64_C(1000000)

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
	return fake_now;
}

struct fixture {
	struct loop loop;
	struct vm_env env;
	struct privsep_local local; /* the guest reader, in this process */
	struct vm vm;
	int guest; /* the test's end */
};

/* A new connection of the guest: the test's end is f->guest. */
static void guest_connects(struct fixture *f)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vm_attach(&f->vm, sv[0], fake_now), 0);
	f->guest = sv[1];
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_now = 1000 * SEC;
	assert_int_equal(loop_init(&f->loop), 0);
	f->env = (struct vm_env){ .loop = &f->loop, .lines_per_wakeup = 16, .error_limit = 3,
				  .error_window_usec = 10 * SEC, .penalty_usec = 5 * SEC,
				  .clock = fake_clock, .reader = &privsep_local_ops,
				  .reader_ctx = &f->local };
	f->local = (struct privsep_local){ .loop = &f->loop, .lines_per_wakeup = 16,
					   .clock = fake_clock };
	vm_init(&f->vm, &f->env, "t", "/nonexistent/vm-test.sock", fake_now);
	guest_connects(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_close(&f->vm);
	privsep_local_close(&f->local);
	close(f->guest);
	loop_close(&f->loop);
	free(f);
	return 0;
}

/* The guest sends text; the loop runs once (as many turns as it takes to read it). */
static void guest_says(struct fixture *f, const char *text)
{
	assert_int_equal(write(f->guest, text, strlen(text)), (ssize_t)strlen(text));
	assert_true(loop_run_once(&f->loop, 1000) >= 0);
}

/* Everything the host sent the guest so far. */
static const char *guest_reads(struct fixture *f)
{
	static char buf[16384];
	ssize_t n = read(f->guest, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The guest writes n `done` lines at once. */
static void guest_floods(struct fixture *f, int n)
{
	static char text[1000 * 32];
	size_t len = 0;

	assert_in_range(n, 0, 1000);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "done seq=1 current=536870912\n");
	assert_int_equal(write(f->guest, text, len), (ssize_t)len);
}

/* Ten turns of the host's loop at fake_now, what the reader left over handled first. */
static void host_turns(struct fixture *f)
{
	for (int i = 0; i < 10; i++) {
		privsep_local_drain(&f->local, fake_now);
		assert_true(loop_run_once(&f->loop, 10) >= 0);
	}
}

static void test_hello_waits_for_the_owners_welcome(void **state)
{
	struct fixture *f = *state;

	guest_says(f, "hello v=1 block=2097152 current=536870912 agent=vmrd-test\n");
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_HELLO);
	assert_int_equal(vm_take_news(&f->vm), 0);
	assert_true(f->vm.hello);
	assert_false(f->vm.welcomed);
	assert_string_equal(f->vm.agent, "vmrd-test");
	assert_string_equal(guest_reads(f), ""); /* vm.c never welcomes on its own */
	assert_int_equal(vm_welcome(&f->vm, 512 * MIB, 3072 * MIB, 512 * MIB, 2 * MIB, 0, fake_now), 0);
	assert_true(f->vm.welcomed);
	assert_string_equal(guest_reads(f),
			    "welcome v=1 min=536870912 max=3221225472 current=536870912 block=2097152\n");
	/* A hello again needs a welcome again. */
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_HELLO);
	assert_false(f->vm.welcomed);
	assert_string_equal(f->vm.agent, "");
	/* A VM with a balloon says so: the guest may then give back any page below it. */
	assert_int_equal(vm_welcome(&f->vm, 256 * MIB, 3072 * MIB, 512 * MIB, 2 * MIB, 512 * MIB,
				    fake_now), 0);
	assert_string_equal(guest_reads(f), "welcome v=1 min=268435456 max=3221225472 "
					    "current=536870912 block=2097152 balloon=536870912\n");
}

static void test_request_report_and_done_become_news(void **state)
{
	struct fixture *f = *state;

	guest_says(f, "request seq=1 target=1073741824 urgency=high reason=low\n");
	assert_int_equal(vm_take_news(&f->vm), 0); /* refused: no hello yet */
	assert_false(f->vm.request.valid);
	assert_string_equal(guest_reads(f), "error reason=no_hello\n");
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	vm_take_news(&f->vm);
	fake_now += 7;
	guest_says(f, "request seq=2 target=1073741824 urgency=high reason=low\n"
		      "report mem_total=1073741824 mem_available=104857600 psi_some_avg10=1234 "
		      "psi_full_avg10=150 psi_some_avg60=0 psi_full_avg60=0\n"
		      "done seq=2 current=1073741824\n");
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_REQUEST | VM_NEWS_REPORT | VM_NEWS_DONE);
	assert_true(f->vm.request.valid);
	assert_true(f->vm.request.seq == 2);
	assert_true(f->vm.request.target_bytes == 1024 * MIB);
	assert_int_equal(f->vm.request.urgency, URGENCY_HIGH);
	assert_true(f->vm.request.usec == fake_now);
	assert_true(f->vm.report.valid);
	assert_true(f->vm.report.mem_available_bytes == 100 * MIB);
	assert_int_equal(f->vm.report.psi_some_avg10_centi, 1234);
	assert_int_equal(f->vm.report.psi_full_avg10_centi, 150);
	assert_true(f->vm.lines_total == 5); /* the refused request counts too */
}

static void test_garbage_is_answered_with_a_reason(void **state)
{
	static const struct {
		const char *line;
		const char *answer;
	} cases[] = {
		{ "frobnicate now\n", "error reason=bad_verb\n" },
		{ "grant seq=1 target=1073741824 current=1073741824\n", "error reason=unexpected_verb\n" },
		{ "request seq=x target=1 urgency=high reason=a\n", "error reason=bad_value\n" },
		{ "request seq=3\n", "error reason=missing_key\n" },
	};
	struct fixture *f = *state;

	f->env.error_limit = 100;
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	vm_take_news(&f->vm);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		guest_says(f, cases[i].line);
		assert_string_equal(guest_reads(f), cases[i].answer);
		assert_int_equal(vm_take_news(&f->vm), 0);
	}
	/* An over-long line is dropped up to its newline, once. */
	{
		char line[3000];

		memset(line, 'a', sizeof(line) - 2);
		line[sizeof(line) - 2] = '\n';
		line[sizeof(line) - 1] = '\0';
		guest_says(f, line);
		while (privsep_local_drain(&f->local, fake_now))
			;
		assert_string_equal(guest_reads(f), "error reason=too_long\n");
	}
	assert_true(f->vm.errors_total == 5);
	assert_true(vm_channel_up(&f->vm));
	assert_true(f->vm.hello);
}

static void test_too_many_errors_kick_the_guest_for_the_penalty(void **state)
{
	struct fixture *f = *state;

	/* error_limit is 3 within 10 s: the fourth bad line disconnects. */
	guest_says(f, "bad\nbad\nbad\n");
	assert_true(vm_channel_up(&f->vm));
	fake_now += 11 * SEC; /* a new window: the count starts over */
	guest_says(f, "bad\nbad\nbad\n");
	assert_true(vm_channel_up(&f->vm));
	guest_says(f, "bad\n");
	assert_false(vm_channel_up(&f->vm));
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_DOWN);
	assert_true(f->vm.kicks_total == 1);
	assert_true(f->vm.retry_at_usec == fake_now + 5 * SEC);
	/* No reconnect before the penalty is over (the path does not exist: it fails then). */
	vm_tick(&f->vm, fake_now + 5 * SEC - 1);
	assert_true(f->vm.backoff.failures == 0);
	vm_tick(&f->vm, fake_now + 5 * SEC);
	assert_true(f->vm.backoff.failures == 1);
	assert_true(f->vm.retry_at_usec == fake_now + 5 * SEC + VM_BACKOFF_MIN_USEC);
}

static void test_disconnect_drops_hello_and_request_and_backs_off(void **state)
{
	struct fixture *f = *state;
	uint64_t t;

	guest_says(f, "hello v=1 block=2097152 current=536870912\n"
		      "request seq=1 target=1073741824 urgency=normal reason=x\n");
	vm_take_news(&f->vm);
	close(f->guest);
	f->guest = open("/dev/null", O_RDONLY | O_CLOEXEC); /* for teardown */
	assert_true(loop_run_once(&f->loop, 1000) >= 0);
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_DOWN);
	assert_false(vm_channel_up(&f->vm));
	assert_false(f->vm.hello);
	assert_false(f->vm.request.valid);
	assert_true(f->vm.request.target_bytes == 1024 * MIB); /* still shown in status */
	/* Reconnecting doubles its delay from 100 ms up to 5 s while it fails. */
	t = f->vm.retry_at_usec;
	for (uint64_t want = VM_BACKOFF_MIN_USEC; want < 8 * SEC; want *= 2) {
		vm_tick(&f->vm, t);
		assert_true(f->vm.retry_at_usec - t == (want < VM_BACKOFF_MAX_USEC ? want : VM_BACKOFF_MAX_USEC));
		t = f->vm.retry_at_usec;
	}
}

static void test_lines_per_wakeup_bounds_one_guest(void **state)
{
	struct fixture *f = *state;
	char text[40 * 64];
	size_t len = 0;

	f->env.lines_per_wakeup = 16;
	len += (size_t)snprintf(text, sizeof(text), "hello v=1 block=2097152 current=536870912\n");
	for (int i = 1; i < 40; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"request seq=%d target=1073741824 urgency=low reason=x\n", i);
	guest_says(f, text);
	assert_true(f->local.chans[0]->backlog);
	assert_true(f->vm.lines_total == 16);
	assert_true(f->vm.request.seq == 15);
	privsep_local_drain(&f->local, fake_now);
	assert_true(f->vm.lines_total == 32);
	assert_false(privsep_local_drain(&f->local, fake_now));
	assert_true(f->vm.lines_total == 40);
	assert_true(f->vm.request.seq == 39);
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_HELLO | VM_NEWS_REQUEST);
}

static void test_a_guest_that_does_not_read_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct proto_msg m = { .verb = PROTO_VERB_LIMITS, .min_bytes = 512 * MIB, .max_bytes = 3072 * MIB };
	int sndbuf = 4096, r = 0, sent = 0;

	setsockopt(f->vm.ch.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	while (r == 0 && sent < 100000) {
		r = vm_send(&f->vm, &m, fake_now);
		sent++;
	}
	assert_int_equal(r, -ENOBUFS);
	assert_false(vm_channel_up(&f->vm));
	assert_true(f->vm.kicks_total == 1);
	assert_true(f->vm.retry_at_usec == fake_now + 5 * SEC);
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_DOWN);
	assert_int_equal(vm_send(&f->vm, &m, fake_now), -ENOTCONN);
}

static void test_a_hello_of_another_version_closes_the_channel(void **state)
{
	struct fixture *f = *state;

	guest_says(f, "hello v=2 block=2097152 current=536870912\n");
	assert_string_equal(guest_reads(f), "error reason=bad_version\n");
	assert_false(vm_channel_up(&f->vm));
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_DOWN);
	assert_true(f->vm.retry_at_usec == fake_now + 5 * SEC);
}

static void test_hellos_have_a_budget_of_their_own(void **state)
{
	struct fixture *f = *state;
	unsigned hellos = 0;

	f->env.error_limit = 1000;
	for (int i = 0; i < 50; i++) {
		guest_says(f, "hello v=1 block=2097152 current=536870912\n");
		hellos += !!(vm_take_news(&f->vm) & VM_NEWS_HELLO);
	}
	assert_int_equal(hellos, VM_HELLOS_BURST);
	assert_non_null(strstr(guest_reads(f), "error reason=rate_limited\n"));
	fake_now += VM_HELLO_USEC;
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	assert_int_equal(vm_take_news(&f->vm), VM_NEWS_HELLO);
}

static void test_a_flood_is_read_at_the_line_budget(void **state)
{
	struct fixture *f = *state;

	f->local.chans[0]->lines_per_wakeup = 100000;
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	guest_floods(f, 1000);
	host_turns(f);
	/* The burst, then nothing until time passes; the channel stays up. */
	assert_true(f->vm.lines_total == PRIVSEP_LINES_BURST);
	assert_true(f->local.chans[0]->throttled);
	assert_true(f->vm.throttled_total == 1);
	assert_true(vm_channel_up(&f->vm));
	fake_now += SEC;
	privsep_local_tick(&f->local, fake_now);
	assert_false(f->local.chans[0]->throttled);
	host_turns(f);
	assert_true(f->vm.lines_total == PRIVSEP_LINES_BURST + PRIVSEP_LINES_PER_SEC);
	assert_true(f->local.chans[0]->throttled);
	assert_true(f->vm.throttled_total == 2);
	assert_true(f->vm.errors_total == 0);
}

/* A guest that spent its line budget does not get a new one by connecting again. */
static void test_a_reconnect_keeps_the_line_budget(void **state)
{
	struct fixture *f = *state;

	f->env.error_limit = 1000;
	f->local.chans[0]->lines_per_wakeup = 100000;
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	guest_floods(f, 300);
	host_turns(f);
	assert_true(f->vm.lines_total == PRIVSEP_LINES_BURST);
	assert_int_equal(vm_line_tokens(&f->vm), 0);

	vm_disconnect(&f->vm, "test", 0, fake_now);
	close(f->guest);
	guest_connects(f);
	f->local.chans[0]->lines_per_wakeup = 100000;
	guest_says(f, "hello v=1 block=2097152 current=536870912\n");
	guest_floods(f, 300);
	host_turns(f);
	/* Nothing read on the new connection until time gives the budget back. */
	assert_true(f->vm.lines_total == PRIVSEP_LINES_BURST);
	fake_now += SEC;
	privsep_local_tick(&f->local, fake_now);
	host_turns(f);
	assert_true(f->vm.lines_total == PRIVSEP_LINES_BURST + PRIVSEP_LINES_PER_SEC);
	assert_true(f->vm.errors_total == 0);
}

/* The parent trusts the reader no more than a guest: only what proto_parse() could have made. */
static void test_records_from_the_reader_are_checked(void **state)
{
	struct proto_msg req = { .verb = PROTO_VERB_REQUEST, .seq = 1, .target_bytes = 1024 * MIB,
				 .urgency = URGENCY_HIGH };
	struct privsep_rec ok = { .type = PRIVSEP_MSG, .msg = req }, r;

	(void)state;
	snprintf(ok.msg.reason, sizeof(ok.msg.reason), "test");
	assert_int_equal(privsep_rec_check(&ok), 0);
	r = ok; /* a host verb */
	r.msg.verb = PROTO_VERB_GRANT;
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
	r = ok; /* a word without its NUL */
	memset(r.msg.reason, 'a', sizeof(r.msg.reason));
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
	r = ok; /* a word proto_parse() would not have taken */
	snprintf(r.msg.reason, sizeof(r.msg.reason), "a b");
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
	r = ok; /* a request without its target */
	r.msg.target_bytes = 0;
	r.msg.urgency = (enum urgency)99;
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
	r = (struct privsep_rec){ .type = PRIVSEP_BAD, .err = PRIVSEP_BAD__MAX };
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
	r.err = PRIVSEP_BAD_VERSION;
	assert_int_equal(privsep_rec_check(&r), 0);
	r = (struct privsep_rec){ .type = PRIVSEP_EOF, .err = 5 };
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
	r = (struct privsep_rec){ .type = PRIVSEP_ADD };
	assert_int_equal(privsep_rec_check(&r), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_waits_for_the_owners_welcome, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_report_and_done_become_news, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_is_answered_with_a_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_errors_kick_the_guest_for_the_penalty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_drops_hello_and_request_and_backs_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines_per_wakeup_bounds_one_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_guest_that_does_not_read_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_hello_of_another_version_closes_the_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hellos_have_a_budget_of_their_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_flood_is_read_at_the_line_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_reconnect_keeps_the_line_budget, setup, teardown),
		cmocka_unit_test(test_records_from_the_reader_are_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
