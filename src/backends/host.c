/* SPDX-License-Identifier: MIT */
#include "backends/host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backends/backend.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "common/fileio.h"
#include "core/parse.h"
#include "core/proto.h"
#include "sensors/memblock.h"
#include "sensors/meminfo.h"

#define HOST_EVQ 16
#define HOST_OUT_MAX 8192
#define HOST_POLL_USEC 100000u /* MemTotal sampling while a grant is confirmed */
#define HOST_DEFAULT_BLOCK_BYTES (128u << 20)
/* A host hint beyond this is not believed: the guest asks again at least every 10 min. */
#define HOST_RETRY_AFTER_MAX_MS (600u * 1000u)

enum host_req_state { HOST_REQ_NONE, HOST_REQ_WAIT_REPLY, HOST_REQ_CONFIRM };

struct host_backend {
	int rootfd;
	char port_name[64];
	char device[256];
	uint64_t vsock_port; /* 0: not vsock */
	uint64_t confirm_timeout_usec, reply_timeout_usec;
	/* Reconnecting the link; only a welcome from the host counts as success. */
	struct backoff backoff;

	int epfd, timerfd, fd;
	bool connecting, welcomed;
	uint64_t reconnect_at_usec; /* 0: not scheduled */
	/*
	 * A hello the host answered rate_limited is said again at this time
	 * (0: none), on the same link and after the link's backoff: the host
	 * ignores such a hello, and every bad line counts toward its limit of
	 * errors before it disconnects the guest, so hurrying only makes it
	 * worse.  Only a welcome resets the backoff.
	 */
	uint64_t hello_at_usec;

	char in[2 * PROTO_LINE_MAX];
	struct proto_reader reader;
	char out[HOST_OUT_MAX];
	size_t out_len;

	bool have_view; /* the host's figures below came with a welcome */
	uint64_t cur_bytes, min_bytes, max_bytes, block_bytes;
	uint64_t balloon_bytes; /* sizes up to this come from the host's balloon (0: none) */

	enum host_req_state req;
	uint64_t seq, asked_bytes, granted_bytes, from_bytes, base_memtotal, deadline_usec;
	uint64_t moved_bytes; /* how far MemTotal went toward the grant when last checked */

	struct vmrd_backend_event evq[HOST_EVQ];
	unsigned ev_head, ev_len;
};

static void host_push(struct host_backend *s, const struct vmrd_backend_event *ev)
{
	/* Full means the daemon stopped draining; the oldest news is the least useful. */
	if (s->ev_len == HOST_EVQ) {
		s->ev_head = (s->ev_head + 1) % HOST_EVQ;
		s->ev_len--;
	}
	s->evq[(s->ev_head + s->ev_len) % HOST_EVQ] = *ev;
	s->ev_len++;
}

static void host_push_simple(struct host_backend *s, uint32_t type, int32_t status)
{
	struct vmrd_backend_event ev = { .type = type, .status = status,
					 .current_bytes = s->cur_bytes,
					 .min_bytes = s->min_bytes, .max_bytes = s->max_bytes };

	host_push(s, &ev);
}

static void host_done_retry(struct host_backend *s, int status, uint64_t current, const char *reason,
			    uint64_t retry_after_usec)
{
	struct vmrd_backend_event ev = { .type = VMRD_BACKEND_EV_DONE, .status = status,
					 .seq = s->seq, .current_bytes = current,
					 .target_bytes = status == 0 ? s->granted_bytes : current,
					 .retry_after_usec = retry_after_usec };

	snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	host_push(s, &ev);
	s->req = HOST_REQ_NONE;
}

static void host_done(struct host_backend *s, int status, uint64_t current, const char *reason)
{
	host_done_retry(s, status, current, reason, 0);
}

static void host_watch(struct host_backend *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = s->fd };

	if (s->connecting || s->out_len > 0)
		ev.events |= EPOLLOUT;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

static void host_flush(struct host_backend *s)
{
	while (s->fd >= 0 && !s->connecting && s->out_len > 0) {
		ssize_t n = write(s->fd, s->out, s->out_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
	if (s->fd >= 0)
		host_watch(s);
}

static int host_send(struct host_backend *s, const struct proto_msg *m)
{
	int n;

	if (s->fd < 0)
		return -ENOTCONN;
	n = proto_format(m, s->out + s->out_len, sizeof(s->out) - s->out_len);
	if (n < 0)
		return n;
	s->out_len += (size_t)n;
	host_flush(s);
	return 0;
}

static void host_send_hello(struct host_backend *s)
{
	struct proto_msg m = { .verb = PROTO_VERB_HELLO, .version = PROTO_VERSION,
			       .present = PROTO_HAS(PROTO_KEY_AGENT) };
	struct meminfo mi;
	char buf[64];
	size_t len;

	/* A guest without memory hotplug has no block size; the host only logs it anyway. */
	if (fileio_read_at(s->rootfd, "sys/devices/system/memory/block_size_bytes", buf,
			   sizeof(buf), &len) < 0 ||
	    memblock_parse_block_size(buf, len, &m.block_bytes) < 0 ||
	    (m.block_bytes & (m.block_bytes - 1)) != 0)
		m.block_bytes = HOST_DEFAULT_BLOCK_BYTES;
	m.current_bytes = meminfo_read(s->rootfd, &mi) == 0 ? mi.mem_total_bytes : 0;
	snprintf(m.agent, sizeof(m.agent), "vmrd");
	host_send(s, &m);
}

static int host_connect(struct host_backend *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = host_link_open(s->rootfd, s->device, s->port_name, (uint32_t)s->vsock_port,
				&s->connecting);

	if (fd < 0)
		return fd;
	ev.data.fd = fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	s->fd = fd;
	s->reconnect_at_usec = 0;
	s->hello_at_usec = 0;
	s->out_len = 0;
	proto_reader_init(&s->reader, s->in, sizeof(s->in));
	host_send_hello(s);
	return 0;
}

static void host_disconnect(struct host_backend *s, uint64_t now)
{
	if (s->fd >= 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
		s->fd = -1;
	}
	if (s->welcomed)
		host_push_simple(s, VMRD_BACKEND_EV_LINK, 0);
	s->welcomed = false;
	s->connecting = false;
	s->hello_at_usec = 0;
	/* A grant being confirmed stays valid: the host applies it without us. */
	if (s->req == HOST_REQ_WAIT_REPLY)
		host_done(s, -ENOTCONN, s->cur_bytes, "link_down");
	s->reconnect_at_usec = now + backoff_failed(&s->backoff, now);
}

static uint64_t host_memtotal(struct host_backend *s)
{
	struct meminfo mi;

	return meminfo_read(s->rootfd, &mi) == 0 ? mi.mem_total_bytes : 0;
}

/* How far MemTotal has moved toward the grant, as a size in the host's accounting. */
static uint64_t host_progress(struct host_backend *s, bool *ret_reached)
{
	uint64_t now_total = host_memtotal(s), want, moved;
	bool grow = s->granted_bytes >= s->from_bytes;
	/*
	 * A balloon moves MemTotal page for page: a grant it alone carries out
	 * is done only when all of it landed, else the host's next look at the
	 * size (on done) sees it half-way and the next grant starts from there.
	 */
	bool exact = s->balloon_bytes && s->from_bytes <= s->balloon_bytes &&
		     s->granted_bytes <= s->balloon_bytes;

	want = grow ? s->granted_bytes - s->from_bytes : s->from_bytes - s->granted_bytes;
	if (grow)
		moved = now_total > s->base_memtotal ? now_total - s->base_memtotal : 0;
	else
		moved = now_total < s->base_memtotal ? s->base_memtotal - now_total : 0;
	if (moved > want)
		moved = want;
	/* struct pages and rounding keep MemTotal a little short of a plug. */
	*ret_reached = moved >= want - (exact ? 0 : want / 32);
	s->moved_bytes = moved;
	return grow ? s->from_bytes + moved : s->from_bytes - moved;
}

static void host_confirm_check(struct host_backend *s, uint64_t now)
{
	struct proto_msg m = { .verb = PROTO_VERB_DONE, .seq = s->seq };
	uint64_t before = s->moved_bytes;
	bool reached;
	uint64_t cur = host_progress(s, &reached);

	/* A balloon is slow (about 40 MiB/s under TCG): only a grant that stopped moving times out. */
	if (!reached && s->moved_bytes > before)
		s->deadline_usec = now + s->confirm_timeout_usec;
	if (!reached && now < s->deadline_usec)
		return;
	m.current_bytes = reached ? s->granted_bytes : cur;
	host_send(s, &m);
	if (reached) {
		s->cur_bytes = s->granted_bytes;
		host_done(s, 0, s->granted_bytes,
			  s->granted_bytes == s->asked_bytes ? "granted" : "partial");
	} else {
		s->cur_bytes = cur; /* what landed; the daemon plans from here */
		host_done(s, -ETIMEDOUT, cur, "timeout");
	}
}

static void host_handle(struct host_backend *s, const struct proto_msg *m, uint64_t now)
{
	struct vmrd_backend_event ev = { 0 };

	switch (m->verb) {
	case PROTO_VERB_WELCOME:
		s->have_view = true;
		s->cur_bytes = m->current_bytes;
		s->min_bytes = m->min_bytes;
		s->max_bytes = m->max_bytes;
		s->block_bytes = m->block_bytes;
		s->balloon_bytes = (m->present & PROTO_HAS(PROTO_KEY_BALLOON)) ? m->balloon_bytes : 0;
		backoff_succeeded(&s->backoff);
		if (!s->welcomed)
			host_push_simple(s, VMRD_BACKEND_EV_LINK, 1);
		s->welcomed = true;
		host_push_simple(s, VMRD_BACKEND_EV_LIMITS, 0);
		break;
	case PROTO_VERB_LIMITS:
		s->min_bytes = m->min_bytes;
		s->max_bytes = m->max_bytes;
		host_push_simple(s, VMRD_BACKEND_EV_LIMITS, 0);
		break;
	case PROTO_VERB_RECLAIM:
		ev.type = VMRD_BACKEND_EV_RECLAIM;
		ev.current_bytes = s->cur_bytes;
		ev.target_bytes = m->target_bytes;
		ev.urgency = backend_urgency_to_abi(m->urgency);
		snprintf(ev.reason, sizeof(ev.reason), "%s",
			 (m->present & PROTO_HAS(PROTO_KEY_REASON)) ? m->reason : "host");
		host_push(s, &ev);
		break;
	case PROTO_VERB_GRANT:
		if (s->req != HOST_REQ_WAIT_REPLY || m->seq != s->seq)
			break; /* stale: an answer to a request that already ended */
		s->granted_bytes = m->target_bytes;
		s->from_bytes = m->current_bytes;
		s->moved_bytes = 0;
		s->req = HOST_REQ_CONFIRM;
		s->deadline_usec = now + s->confirm_timeout_usec;
		host_confirm_check(s, now);
		break;
	case PROTO_VERB_DENY:
		/* A hold that ends by itself says when: the daemon waits exactly that long. */
		if (s->req == HOST_REQ_WAIT_REPLY && m->seq == s->seq)
			host_done_retry(s, -EAGAIN, s->cur_bytes, m->reason,
					(m->present & PROTO_HAS(PROTO_KEY_RETRY_AFTER)) ?
						(m->retry_after_ms < HOST_RETRY_AFTER_MAX_MS ?
							 m->retry_after_ms : HOST_RETRY_AFTER_MAX_MS) * 1000 : 0);
		break;
	case PROTO_VERB_ERROR:
		if (!s->welcomed && strcmp(m->reason, "rate_limited") == 0)
			s->hello_at_usec = now + backoff_failed(&s->backoff, now);
		/*
		 * The host has no session on this link: it restarted while the
		 * link stayed up, and we never saw it go down.  The link is down
		 * until we are welcomed again; hello goes out after the backoff.
		 */
		if (s->welcomed && strcmp(m->reason, "no_hello") == 0) {
			host_push_simple(s, VMRD_BACKEND_EV_LINK, 0);
			s->welcomed = false;
			s->hello_at_usec = now + backoff_failed(&s->backoff, now);
		}
		if (s->req == HOST_REQ_WAIT_REPLY)
			host_done(s, -EPROTO, s->cur_bytes, m->reason);
		break;
	default:
		break; /* guest verbs from the host are nonsense; ignore them */
	}
}

/*
 * Handle whole lines while the event queue has room, reading the link once
 * at most when none is left: each call does a bounded amount of work, even
 * while the host floods lines that make no event at all.
 */
static void host_read(struct host_backend *s, uint64_t now)
{
	char buf[PROTO_LINE_MAX];
	bool have_read = false;

	while (s->fd >= 0 && s->ev_len + 3 <= HOST_EVQ) {
		const char *line;
		size_t len;
		ssize_t n;
		int k = proto_reader_next(&s->reader, &line, &len);

		if (k > 0) {
			struct proto_msg m;

			if (proto_parse(line, len, &m, NULL) == 0)
				host_handle(s, &m, now);
			continue;
		}
		if (k < 0)
			continue; /* an over-long line: dropped by the reader */
		if (have_read)
			return; /* the rest waits for the next call (the link stays readable) */
		have_read = true;
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			host_disconnect(s, now);
			return;
		}
		for (size_t off = 0; off < (size_t)n;) {
			size_t took = proto_reader_feed(&s->reader, buf + off, (size_t)n - off);

			off += took;
			/* A full buffer of complete lines cannot happen with room for two lines. */
			if (took == 0)
				break;
		}
	}
}

static void host_arm(struct host_backend *s, uint64_t now)
{
	struct itimerspec its = { 0 };
	uint64_t at = 0;

	if (s->req == HOST_REQ_CONFIRM)
		at = now + HOST_POLL_USEC < s->deadline_usec ? now + HOST_POLL_USEC : s->deadline_usec;
	else if (s->req == HOST_REQ_WAIT_REPLY)
		at = s->deadline_usec;
	if (s->fd < 0 && s->reconnect_at_usec && (at == 0 || s->reconnect_at_usec < at))
		at = s->reconnect_at_usec;
	if (s->fd >= 0 && s->hello_at_usec && (at == 0 || s->hello_at_usec < at))
		at = s->hello_at_usec;
	if (at) {
		at = at > now ? at - now : 1;
		its.it_value.tv_sec = (time_t)(at / 1000000u);
		its.it_value.tv_nsec = (long)(at % 1000000u) * 1000;
	}
	timerfd_settime(s->timerfd, 0, &its, NULL);
}

static void host_work(struct host_backend *s)
{
	uint64_t now = clock_now_usec(), ticks;

	if (read(s->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	if (s->fd < 0 && s->reconnect_at_usec && now >= s->reconnect_at_usec &&
	    host_connect(s) < 0)
		host_disconnect(s, now);
	if (s->fd >= 0 && s->connecting) {
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };
		socklen_t len = sizeof(int);
		int err = 0;

		/* A non-blocking connect has finished when the socket turns writable. */
		if (poll(&p, 1, 0) == 1) {
			getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err)
				host_disconnect(s, now);
			else
				s->connecting = false;
		}
	}
	if (s->fd >= 0 && !s->connecting && s->hello_at_usec && now >= s->hello_at_usec) {
		s->hello_at_usec = 0;
		host_send_hello(s);
	}
	host_flush(s);
	host_read(s, now);
	if (s->req == HOST_REQ_CONFIRM)
		host_confirm_check(s, now);
	else if (s->req == HOST_REQ_WAIT_REPLY && now >= s->deadline_usec)
		host_done(s, -ETIMEDOUT, s->cur_bytes, "no_reply");
	host_arm(s, now);
}

static int host_configure(struct host_backend *s, const struct vmrd_backend_env *env)
{
	uint64_t backoff_min_usec = 1000000u, backoff_max_usec = 30u * 1000000u;
	const char *v;
	int r;

	/* A plug lands in well under a second; a request stuck longer blocks all growth. */
	s->confirm_timeout_usec = 10u * 1000000u;
	s->reply_timeout_usec = 10u * 1000000u;
	snprintf(s->port_name, sizeof(s->port_name), "org.vmrd.0");
	v = backend_config(env, "port_name");
	if (v)
		snprintf(s->port_name, sizeof(s->port_name), "%s", v);
	v = backend_config(env, "device");
	if (v)
		snprintf(s->device, sizeof(s->device), "%s", v);
	v = backend_config(env, "vsock_port");
	if (v && (parse_u64(v, &s->vsock_port) < 0 || s->vsock_port == 0 ||
		  s->vsock_port > UINT32_MAX)) {
		backend_set_last_error("host: bad vsock_port \"%s\"", v);
		return -EINVAL;
	}
	if ((r = backend_config_duration(env, "host", "confirm_timeout", &s->confirm_timeout_usec)) < 0 ||
	    (r = backend_config_duration(env, "host", "reply_timeout", &s->reply_timeout_usec)) < 0 ||
	    (r = backend_config_duration(env, "host", "backoff_min", &backoff_min_usec)) < 0 ||
	    (r = backend_config_duration(env, "host", "backoff_max", &backoff_max_usec)) < 0)
		return r;
	backoff_init(&s->backoff, backoff_min_usec, backoff_max_usec);
	return 0;
}

static void host_close(void *state);

static int host_open(const struct vmrd_backend_env *env, void **ret_state)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct host_backend *s;
	int r;

	backend_set_last_error(NULL);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rootfd = env->rootfd;
	s->fd = -1;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->epfd < 0 || s->timerfd < 0) {
		r = -errno;
		goto fail;
	}
	ev.data.fd = s->timerfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	r = host_configure(s, env);
	if (r < 0)
		goto fail;
	r = host_connect(s);
	if (r < 0) {
		if (s->vsock_port)
			backend_set_last_error("host: vsock port %llu: %s",
					       (unsigned long long)s->vsock_port, strerror(-r));
		else if (s->device[0])
			backend_set_last_error("host: %s: %s", s->device, strerror(-r));
		else
			backend_set_last_error("host: virtio-serial port \"%s\": %s", s->port_name,
					       r == -ENOENT ? "not found" : strerror(-r));
		goto fail;
	}
	*ret_state = s;
	return 0;
fail:
	host_close(s);
	return r;
}

static int host_query(void *state, struct vmrd_backend_info *ret_info)
{
	struct host_backend *s = state;
	uint64_t total;

	if (s->have_view) {
		ret_info->current_bytes = s->cur_bytes;
		ret_info->min_bytes = s->min_bytes;
		ret_info->max_bytes = s->max_bytes;
		ret_info->block_bytes = s->block_bytes;
		return 0;
	}
	/* No word from the host yet: nothing to ask for. */
	total = host_memtotal(s);
	if (total == 0)
		return -EIO;
	ret_info->current_bytes = total;
	ret_info->min_bytes = total;
	ret_info->max_bytes = total;
	ret_info->block_bytes = HOST_DEFAULT_BLOCK_BYTES;
	return 0;
}

static int host_request(void *state, const struct vmrd_backend_request *req)
{
	struct host_backend *s = state;
	struct proto_msg m = { .verb = PROTO_VERB_REQUEST, .seq = req->seq,
			       .target_bytes = req->target_bytes };
	uint64_t now = clock_now_usec(), base;
	int r;

	if (s->req != HOST_REQ_NONE)
		return -EBUSY;
	if (s->fd < 0 || !s->welcomed)
		return -ENOTCONN;
	m.urgency = backend_urgency_from_abi(req->urgency);
	snprintf(m.reason, sizeof(m.reason), "%s",
		 proto_word_valid(req->reason, PROTO_WORD_MAX) ? req->reason : "policy");
	/*
	 * The baseline is taken before the request leaves: a fast host can
	 * grant and the guest driver can plug before send() even returns, and
	 * a baseline taken after that would already hold the new memory, so
	 * the grant would look unmet until the confirm timeout.
	 */
	base = host_memtotal(s);
	r = host_send(s, &m);
	if (r < 0)
		return r;
	s->req = HOST_REQ_WAIT_REPLY;
	s->seq = req->seq;
	s->asked_bytes = req->target_bytes;
	s->granted_bytes = 0;
	s->base_memtotal = base;
	s->deadline_usec = now + s->reply_timeout_usec;
	host_arm(s, now);
	return 0;
}

/*
 * At or below the host's balloon size, a balloon takes any page: everything
 * down to min can be given back.  Above it the host unplugs virtio-mem, so
 * the daemon's own answer (memory in ZONE_MOVABLE) stands: unknown here.
 */
static int host_releasable(void *state, uint64_t *ret_bytes)
{
	struct host_backend *s = state;

	if (!s->welcomed || !s->balloon_bytes || s->cur_bytes > s->balloon_bytes)
		return -ENODATA;
	*ret_bytes = s->cur_bytes > s->min_bytes ? s->cur_bytes - s->min_bytes : 0;
	return 0;
}

static int host_fd(void *state)
{
	struct host_backend *s = state;

	return s->epfd;
}

static int host_next_event(void *state, struct vmrd_backend_event *ret_event)
{
	struct host_backend *s = state;

	if (s->ev_len == 0)
		host_work(s);
	if (s->ev_len == 0)
		return 0;
	*ret_event = s->evq[s->ev_head];
	s->ev_head = (s->ev_head + 1) % HOST_EVQ;
	s->ev_len--;
	return 1;
}

static uint32_t host_centi(uint32_t v)
{
	return v > PROTO_CENTI_MAX ? PROTO_CENTI_MAX : v;
}

static void host_report(void *state, const struct vmrd_backend_report *rep)
{
	struct host_backend *s = state;
	struct proto_msg m = {
		.verb = PROTO_VERB_REPORT,
		.present = PROTO_HAS(PROTO_KEY_SWAP_TOTAL) | PROTO_HAS(PROTO_KEY_SWAP_FREE) |
			   PROTO_HAS(PROTO_KEY_OOM_KILL),
		.mem_total_bytes = rep->mem_total_bytes,
		.mem_available_bytes = rep->mem_available_bytes,
		.psi_some_avg10_centi = host_centi(rep->psi_some_avg10),
		.psi_full_avg10_centi = host_centi(rep->psi_full_avg10),
		.swap_total_bytes = rep->swap_total_bytes,
		.swap_free_bytes = rep->swap_free_bytes,
		.oom_kill = rep->oom_kill,
	};

	/* Leave room for a request line: a report is the one thing we may drop. */
	if (!s->welcomed || s->out_len + 2 * PROTO_LINE_MAX > sizeof(s->out))
		return;
	host_send(s, &m);
}

static void host_close(void *state)
{
	struct host_backend *s = state;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}

const struct vmrd_backend_ops backend_host_ops = {
	.abi_version = VMRD_BACKEND_ABI_VERSION,
	.name = "host",
	.open = host_open,
	.query = host_query,
	.request = host_request,
	.fd = host_fd,
	.next_event = host_next_event,
	.report = host_report,
	.close = host_close,
	.releasable = host_releasable,
};
