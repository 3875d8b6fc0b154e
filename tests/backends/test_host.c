/* SPDX-License-Identifier: MIT */
/*
 * The host-link backend against a fake host in the test: a unix socket
 * stands in for the virtio-serial port (config `device`), and one test
 * finds a pty through sys/class/virtio-ports as the real port is found.
 * The guest's MemTotal is proc/meminfo of a copied fixture tree, which
 * the tests rewrite to play the kernel plugging memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/backend.h"
#include "backends/host.h"
#include "common/clock.h"
#include "core/proto.h"
#include "testutil.h"

#define MIB (UINT64_C(1) << 20)
#define BASE_KB UINT64_C(1113972)
#define HOST_CURRENT (1280 * MIB)

struct fixture {
	char *dir;
	int rootfd;
	char sock_path[256];
	int listen_fd;
	int peer; /* the fake host's end */
	char in[4096];
	size_t in_len;
	struct testutil_config cfg;
	struct vmrd_backend_env env;
	const struct vmrd_backend_ops *ops;
	void *state;
};

static void set_memtotal_kb(struct fixture *f, uint64_t kb)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/proc/meminfo", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "MemTotal:       %llu kB\nMemFree:          788400 kB\nMemAvailable:     871236 kB\n",
		(unsigned long long)kb);
	fclose(fp);
}

/* The fake host reads one line (5 s at most) and parses it. */
static void host_read_msg(struct fixture *f, struct proto_msg *m)
{
	for (;;) {
		char *nl = memchr(f->in, '\n', f->in_len);
		struct pollfd p = { .fd = f->peer, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - f->in) + 1;

			assert_int_equal(proto_parse(f->in, len, m, NULL), 0);
			memmove(f->in, f->in + len, f->in_len - len);
			f->in_len -= len;
			return;
		}
		assert_int_equal(poll(&p, 1, 5000), 1);
		n = read(f->peer, f->in + f->in_len, sizeof(f->in) - f->in_len);
		assert_true(n > 0);
		f->in_len += (size_t)n;
	}
}

static void host_say(struct fixture *f, const char *line)
{
	assert_int_equal(write(f->peer, line, strlen(line)), (ssize_t)strlen(line));
}

static void host_accept(struct fixture *f)
{
	struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 5000), 1);
	f->peer = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->peer >= 0);
	f->in_len = 0;
}

static void expect_event(struct fixture *f, uint32_t type, struct vmrd_backend_event *ev)
{
	assert_int_equal(testutil_wait_event(f->ops, f->state, ev, 5000), 1);
	assert_int_equal(ev->type, type);
}

/* Welcome the guest (1-4 GiB) and see the link come up. */
static void host_welcome(struct fixture *f)
{
	struct vmrd_backend_event ev;
	char line[256];

	snprintf(line, sizeof(line), "welcome v=1 min=%llu max=%llu current=%llu block=%llu\n",
		 (unsigned long long)(1024 * MIB), (unsigned long long)(4096 * MIB),
		 (unsigned long long)HOST_CURRENT, (unsigned long long)(128 * MIB));
	host_say(f, line);
	expect_event(f, VMRD_BACKEND_EV_LINK, &ev);
	assert_int_equal(ev.status, 1);
}

/* Connect, check the hello, welcome the guest and see the link come up. */
static void handshake(struct fixture *f)
{
	struct vmrd_backend_event ev;
	struct proto_msg m;

	host_accept(f);
	host_read_msg(f, &m);
	assert_int_equal(m.verb, PROTO_VERB_HELLO);
	assert_int_equal(m.current_bytes, BASE_KB * 1024);
	assert_int_equal(m.block_bytes, 128 * MIB);
	host_welcome(f);
	expect_event(f, VMRD_BACKEND_EV_LIMITS, &ev);
	assert_int_equal(ev.min_bytes, 1024 * MIB);
	assert_int_equal(ev.max_bytes, 4096 * MIB);
}

/* The backend open on a fake host that has not accepted it yet. */
static int setup_open(void **state, const char *const *kv)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t i = 0;

	assert_non_null(f);
	f->dir = testutil_tree_copy("host-tree");
	f->rootfd = testutil_open_dir(f->dir);
	snprintf(f->sock_path, sizeof(f->sock_path), "%s/host.sock", f->dir);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(strlen(f->sock_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->sock_path, strlen(f->sock_path));
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	f->peer = -1;
	/* Relative: under rootfd, like every path the backend opens. */
	f->cfg.kv[i++] = "device";
	f->cfg.kv[i++] = "host.sock";
	f->cfg.kv[i++] = "backoff_min";
	f->cfg.kv[i++] = "100ms";
	for (size_t k = 0; kv && kv[k]; k++)
		f->cfg.kv[i++] = kv[k];
	f->env.abi_version = VMRD_BACKEND_ABI_VERSION;
	f->env.rootfd = f->rootfd;
	f->env.config_get = testutil_config_get;
	f->env.config_ctx = &f->cfg;
	f->ops = backend_lookup("host");
	assert_non_null(f->ops);
	assert_int_equal(f->ops->open(&f->env, &f->state), 0);
	*state = f;
	return 0;
}

static int setup_with(void **state, const char *const *kv)
{
	setup_open(state, kv);
	handshake(*state);
	return 0;
}

static int setup_unwelcomed(void **state)
{
	return setup_open(state, NULL);
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

static int setup_short(void **state)
{
	static const char *const kv[] = { "confirm_timeout", "300ms", "reply_timeout", "300ms", NULL };

	return setup_with(state, kv);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	f->ops->close(f->state);
	if (f->peer >= 0)
		close(f->peer);
	close(f->listen_fd);
	close(f->rootfd);
	testutil_tree_remove(f->dir);
	free(f);
	return 0;
}

static void request(struct fixture *f, uint64_t seq, uint64_t target)
{
	struct vmrd_backend_request req = { .seq = seq, .target_bytes = target,
					    .urgency = VMRD_URGENCY_HIGH };
	struct proto_msg m;

	snprintf(req.reason, sizeof(req.reason), "low_headroom");
	assert_int_equal(f->ops->request(f->state, &req), 0);
	host_read_msg(f, &m);
	assert_int_equal(m.verb, PROTO_VERB_REQUEST);
	assert_int_equal(m.seq, seq);
	assert_int_equal(m.target_bytes, target);
	assert_int_equal(m.urgency, URGENCY_HIGH);
	assert_string_equal(m.reason, "low_headroom");
}

static void test_welcome_sets_what_query_reports(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_info info;

	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, HOST_CURRENT);
	assert_int_equal(info.min_bytes, 1024 * MIB);
	assert_int_equal(info.max_bytes, 4096 * MIB);
	assert_int_equal(info.block_bytes, 128 * MIB);
}

/* Below the host's balloon size any page can go; above it, only what the daemon finds movable. */
static void test_balloon_makes_everything_above_min_releasable(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	uint64_t bytes = 0;
	char line[256];

	assert_int_equal(f->ops->releasable(f->state, &bytes), -ENODATA);
	snprintf(line, sizeof(line), "welcome v=1 min=%llu max=%llu current=%llu block=4096 balloon=%llu\n",
		 (unsigned long long)(512 * MIB), (unsigned long long)(4096 * MIB),
		 (unsigned long long)HOST_CURRENT, (unsigned long long)(2048 * MIB));
	host_say(f, line);
	expect_event(f, VMRD_BACKEND_EV_LIMITS, &ev);
	assert_int_equal(f->ops->releasable(f->state, &bytes), 0);
	assert_int_equal(bytes, HOST_CURRENT - 512 * MIB);
	/* Above the boot memory the host unplugs virtio-mem: the balloon does not say. */
	snprintf(line, sizeof(line), "welcome v=1 min=%llu max=%llu current=%llu block=4096 balloon=%llu\n",
		 (unsigned long long)(512 * MIB), (unsigned long long)(4096 * MIB),
		 (unsigned long long)HOST_CURRENT, (unsigned long long)(1024 * MIB));
	host_say(f, line);
	expect_event(f, VMRD_BACKEND_EV_LIMITS, &ev);
	assert_int_equal(f->ops->releasable(f->state, &bytes), -ENODATA);
}

static void test_grant_is_confirmed_by_memtotal(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	struct vmrd_backend_info info;
	struct proto_msg m;
	char line[128];

	request(f, 7, HOST_CURRENT + 256 * MIB);
	snprintf(line, sizeof(line), "grant seq=7 target=%llu current=%llu\n",
		 (unsigned long long)(HOST_CURRENT + 256 * MIB), (unsigned long long)HOST_CURRENT);
	host_say(f, line);
	/* Granted but not yet plugged: no answer may come yet. */
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 300), 0);
	/* The kernel onlines it; struct pages take their 1.6 %. */
	set_memtotal_kb(f, BASE_KB + 256 * 1024 - 4096);
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.seq, 7);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "granted");
	assert_int_equal(ev.current_bytes, HOST_CURRENT + 256 * MIB);
	host_read_msg(f, &m);
	assert_int_equal(m.verb, PROTO_VERB_DONE);
	assert_int_equal(m.seq, 7);
	assert_int_equal(m.current_bytes, HOST_CURRENT + 256 * MIB);
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, HOST_CURRENT + 256 * MIB);
}

static void test_smaller_grant_is_partial(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char line[128];

	request(f, 2, HOST_CURRENT + 512 * MIB);
	snprintf(line, sizeof(line), "grant seq=2 target=%llu current=%llu\n",
		 (unsigned long long)(HOST_CURRENT + 128 * MIB), (unsigned long long)HOST_CURRENT);
	set_memtotal_kb(f, BASE_KB + 128 * 1024);
	host_say(f, line);
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.status, 0);
	assert_string_equal(ev.reason, "partial");
	assert_int_equal(ev.target_bytes, HOST_CURRENT + 128 * MIB);
}

static void test_grant_not_seen_in_memtotal_times_out(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	struct vmrd_backend_info info;
	char line[128];

	request(f, 3, HOST_CURRENT + 256 * MIB);
	snprintf(line, sizeof(line), "grant seq=3 target=%llu current=%llu\n",
		 (unsigned long long)(HOST_CURRENT + 256 * MIB), (unsigned long long)HOST_CURRENT);
	/* Only half of it shows up. */
	set_memtotal_kb(f, BASE_KB + 128 * 1024);
	host_say(f, line);
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.status, -ETIMEDOUT);
	assert_string_equal(ev.reason, "timeout");
	assert_int_equal(ev.current_bytes, HOST_CURRENT + 128 * MIB);
	/* What landed is where the daemon plans from. */
	assert_int_equal(f->ops->query(f->state, &info), 0);
	assert_int_equal(info.current_bytes, HOST_CURRENT + 128 * MIB);
}

/*
 * A balloon inflates at its own pace (about 40 MiB/s under TCG): a grant
 * that keeps moving is not timed out, and one the balloon alone carries out
 * is done only when all of it landed (MemTotal moves page for page).
 */
static void test_balloon_grant_is_done_when_whole_and_not_timed_out_while_moving(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	char line[256];

	snprintf(line, sizeof(line), "welcome v=1 min=%llu max=%llu current=%llu block=2097152 balloon=%llu\n",
		 (unsigned long long)(512 * MIB), (unsigned long long)(2048 * MIB),
		 (unsigned long long)HOST_CURRENT, (unsigned long long)(2048 * MIB));
	host_say(f, line);
	expect_event(f, VMRD_BACKEND_EV_LIMITS, &ev);
	request(f, 8, HOST_CURRENT - 256 * MIB);
	snprintf(line, sizeof(line), "grant seq=8 target=%llu current=%llu\n",
		 (unsigned long long)(HOST_CURRENT - 256 * MIB), (unsigned long long)HOST_CURRENT);
	host_say(f, line);
	/* 4 x 200 ms of steady progress outlast the 300 ms confirm timeout. */
	for (uint64_t step = 1; step <= 4; step++) {
		set_memtotal_kb(f, BASE_KB - step * 62 * 1024);
		assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 200), 0);
	}
	/* 255 of 256 MiB is within a plug's slack, but not done for a balloon. */
	set_memtotal_kb(f, BASE_KB - 255 * 1024);
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 200), 0);
	set_memtotal_kb(f, BASE_KB - 256 * 1024);
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.seq, 8);
	assert_int_equal(ev.status, 0);
	assert_int_equal(ev.current_bytes, HOST_CURRENT - 256 * MIB);
}

static void test_deny_fails_the_request_with_the_host_reason(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	request(f, 4, HOST_CURRENT + 256 * MIB);
	/* A grant for another seq is stale and ignored. */
	host_say(f, "grant seq=3 target=1 current=1\ndeny seq=4 reason=budget\n");
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.seq, 4);
	assert_int_equal(ev.status, -EAGAIN);
	assert_string_equal(ev.reason, "budget");
	assert_true(ev.retry_after_usec == 0);
}

/* A deny for a hold says when to ask again; an absurd hint is capped at 10 min. */
static void test_deny_passes_the_hosts_retry_hint_on(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	request(f, 5, HOST_CURRENT + 256 * MIB);
	host_say(f, "deny seq=5 reason=oscillation_hold retry_after=12500\n");
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.status, -EAGAIN);
	assert_string_equal(ev.reason, "oscillation_hold");
	assert_true(ev.retry_after_usec == 12500000);

	request(f, 6, HOST_CURRENT + 256 * MIB);
	host_say(f, "deny seq=6 reason=rate_limited retry_after=99999999999\n");
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_true(ev.retry_after_usec == 600 * 1000000ull);
}

static void test_no_reply_times_out(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	request(f, 5, HOST_CURRENT + 256 * MIB);
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.status, -ETIMEDOUT);
	assert_string_equal(ev.reason, "no_reply");
}

static void test_reclaim_and_limits_become_events(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;

	host_say(f, "reclaim target=1073741824 urgency=high reason=host_pressure\n"
		    "limits min=536870912 max=2147483648\n"
		    "this is not a message\n");
	expect_event(f, VMRD_BACKEND_EV_RECLAIM, &ev);
	assert_int_equal(ev.target_bytes, 1024 * MIB);
	assert_int_equal(ev.urgency, VMRD_URGENCY_HIGH);
	assert_string_equal(ev.reason, "host_pressure");
	expect_event(f, VMRD_BACKEND_EV_LIMITS, &ev);
	assert_int_equal(ev.min_bytes, 512 * MIB);
	assert_int_equal(ev.max_bytes, 2048 * MIB);
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 100), 0);
}

static void test_report_is_sent_as_a_report_line(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_report rep = { .mem_total_bytes = 1000 * MIB,
					   .mem_available_bytes = 300 * MIB,
					   .psi_some_avg10 = 1234, .psi_full_avg10 = 99999,
					   .oom_kill = 2 };
	struct proto_msg m;

	f->ops->report(f->state, &rep);
	host_read_msg(f, &m);
	assert_int_equal(m.verb, PROTO_VERB_REPORT);
	assert_int_equal(m.mem_total_bytes, 1000 * MIB);
	assert_int_equal(m.mem_available_bytes, 300 * MIB);
	assert_int_equal(m.psi_some_avg10_centi, 1234);
	assert_int_equal(m.psi_full_avg10_centi, 10000);
	assert_int_equal(m.oom_kill, 2);
}

static void test_link_loss_fails_request_and_reconnects(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_request req = { .seq = 9, .target_bytes = 2048 * MIB };
	struct vmrd_backend_event ev;

	request(f, 8, HOST_CURRENT + 256 * MIB);
	close(f->peer);
	f->peer = -1;
	expect_event(f, VMRD_BACKEND_EV_LINK, &ev);
	assert_int_equal(ev.status, 0);
	expect_event(f, VMRD_BACKEND_EV_DONE, &ev);
	assert_int_equal(ev.seq, 8);
	assert_int_equal(ev.status, -ENOTCONN);
	assert_string_equal(ev.reason, "link_down");
	assert_int_equal(f->ops->request(f->state, &req), -ENOTCONN);
	/* The backend comes back by itself after its backoff and says hello again. */
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 400), 0);
	handshake(f);
	request(f, 10, HOST_CURRENT);
}

/* Lets the backend work until a line arrives; returns when it did (the clock after it). */
static uint64_t host_await_hello(struct fixture *f)
{
	struct vmrd_backend_event ev;
	struct proto_msg m;
	struct pollfd p = { .fd = f->peer, .events = POLLIN };

	/* Nothing to report meanwhile: the backend does its timers inside next_event. */
	for (int i = 0; i < 300 && poll(&p, 1, 0) == 0; i++)
		assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 10), 0);
	host_read_msg(f, &m);
	assert_int_equal(m.verb, PROTO_VERB_HELLO);
	return clock_now_usec();
}

/*
 * A hello the host turns away (rate_limited, its budget of hellos) is said
 * again on the same link after the backoff (backoff_min 100ms here), each
 * time later, and the welcome that finally comes brings the link up: the
 * guest neither hurries nor leaves, where hurrying would run into the
 * host's limit of errors and get the guest disconnected.
 */
static void test_rate_limited_hello_is_said_again_ever_later(void **state)
{
	struct fixture *f = *state;
	struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
	uint64_t t[4];

	host_accept(f);
	t[0] = host_await_hello(f);
	for (int i = 1; i < 4; i++) {
		host_say(f, "error reason=rate_limited\n");
		t[i] = host_await_hello(f);
	}
	/* 100, 200 and 400 ms: the link's backoff, doubling. */
	assert_true(t[1] - t[0] >= 90000);
	assert_true(t[2] - t[1] >= 190000);
	assert_true(t[3] - t[2] >= 390000);
	/* The same connection: the backend did not reconnect. */
	assert_int_equal(poll(&p, 1, 0), 0);
	/* The welcome ends it: the link is up, requests go out. */
	host_welcome(f);
	request(f, 1, HOST_CURRENT + 128 * MIB);
}

/*
 * The host restarted while the link stayed up (soak run: vmrd-host killed
 * and back within a second): it answers no_hello.  The request fails, the
 * link goes down, and hello is said again on the same link; the welcome
 * brings the link back.
 */
static void test_no_hello_from_a_restarted_host_says_hello_again(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };
	bool link_down = false, failed = false;

	request(f, 1, HOST_CURRENT + 128 * MIB);
	host_say(f, "error reason=no_hello\n");
	while (!(link_down && failed)) {
		assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 5000), 1);
		link_down |= ev.type == VMRD_BACKEND_EV_LINK && ev.status == 0;
		failed |= ev.type == VMRD_BACKEND_EV_DONE && ev.status < 0;
	}
	host_await_hello(f);
	assert_int_equal(poll(&p, 1, 0), 0); /* the same connection */
	host_welcome(f);
	request(f, 2, HOST_CURRENT + 128 * MIB);
}

/* An error to anything else leaves the hello alone: nothing is repeated. */
static void test_other_errors_before_welcome_repeat_nothing(void **state)
{
	struct fixture *f = *state;
	struct vmrd_backend_event ev;
	struct pollfd p;

	host_accept(f);
	host_await_hello(f);
	host_say(f, "error reason=bad_syntax\n");
	assert_int_equal(testutil_wait_event(f->ops, f->state, &ev, 400), 0);
	p = (struct pollfd){ .fd = f->peer, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
}

static void test_finds_the_port_by_name(void **state)
{
	char *dir = testutil_tree_copy("host-tree");
	int rootfd = testutil_open_dir(dir);
	char path[64];

	assert_int_equal(host_find_port(rootfd, "org.vmrd.0", path, sizeof(path)), 0);
	assert_string_equal(path, "dev/vport0p2");
	assert_int_equal(host_find_port(rootfd, "org.example.9", path, sizeof(path)), -ENOENT);
	close(rootfd);
	testutil_tree_remove(dir);
}

static void test_pty_found_by_port_name_carries_the_protocol(void **state)
{
	struct testutil_config cfg = { .kv = { "backoff_min", "100ms" } };
	struct vmrd_backend_env env = { .abi_version = VMRD_BACKEND_ABI_VERSION,
					.config_get = testutil_config_get, .config_ctx = &cfg };
	const struct vmrd_backend_ops *ops = backend_lookup("host");
	char *dir = testutil_tree_copy("host-tree");
	char link[512], buf[256];
	struct pollfd p;
	struct termios t;
	void *st;
	int master;
	ssize_t n;

	env.rootfd = testutil_open_dir(dir);
	/* No device node yet: open says which port it could not find. */
	assert_true(ops->open(&env, &st) < 0);
	assert_non_null(strstr(backend_last_error(), "org.vmrd.0"));

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	assert_int_equal(tcgetattr(master, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(master, TCSANOW, &t), 0);
	snprintf(link, sizeof(link), "%s/dev/vport0p2", dir);
	assert_int_equal(symlink(ptsname(master), link), 0);
	assert_int_equal(ops->open(&env, &st), 0);
	p = (struct pollfd){ .fd = master, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	n = read(master, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_memory_equal(buf, "hello v=1 ", 10);
	ops->close(st);
	close(master);
	close(env.rootfd);
	testutil_tree_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_welcome_sets_what_query_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_balloon_makes_everything_above_min_releasable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_grant_is_confirmed_by_memtotal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smaller_grant_is_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_not_seen_in_memtotal_times_out, setup_short, teardown),
		cmocka_unit_test_setup_teardown(
			test_balloon_grant_is_done_when_whole_and_not_timed_out_while_moving, setup_short,
			teardown),
		cmocka_unit_test_setup_teardown(test_deny_fails_the_request_with_the_host_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deny_passes_the_hosts_retry_hint_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_reply_times_out, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_and_limits_become_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_is_sent_as_a_report_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_loss_fails_request_and_reconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limited_hello_is_said_again_ever_later,
						setup_unwelcomed, teardown),
		cmocka_unit_test_setup_teardown(test_other_errors_before_welcome_repeat_nothing,
						setup_unwelcomed, teardown),
		cmocka_unit_test_setup_teardown(test_no_hello_from_a_restarted_host_says_hello_again,
						setup, teardown),
		cmocka_unit_test(test_finds_the_port_by_name),
		cmocka_unit_test(test_pty_found_by_port_name_carries_the_protocol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
