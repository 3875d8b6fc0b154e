/* SPDX-License-Identifier: MIT */
#include "host/vm.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "host/privsep_read.h"

static void vm_channel_io(struct loop_watch *w, uint32_t events);

static uint64_t vm_now(const struct vm *vm)
{
	return vm->env->clock ? vm->env->clock() : clock_now_usec();
}

void vm_init(struct vm *vm, const struct vm_env *env, const char *name, const char *path,
	     uint64_t now_usec)
{
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	snprintf(vm->path, sizeof(vm->path), "%s", path);
	vm->env = env;
	loop_watch_init(&vm->ch, vm_channel_io);
	backoff_init(&vm->backoff, VM_BACKOFF_MIN_USEC, VM_BACKOFF_MAX_USEC);
	/* Kept across reconnects: a guest does not buy a new budget by reconnecting. */
	ratelimit_init(&vm->hello_rl, VM_HELLOS_BURST, VM_HELLO_USEC);
	ratelimit_init(&vm->log_rl, VM_LOG_BURST, VM_LOG_USEC);
	ratelimit_init(&vm->lines_rl, PRIVSEP_LINES_BURST, 1000000ull / PRIVSEP_LINES_PER_SEC);
	vm->retry_at_usec = now_usec;
}

/*
 * How long a lost channel stays closed.  Only a session that got as far as
 * a hello counts as working: a channel that is closed again before one (a
 * guest opening and closing its port in a loop) backs off further each
 * time, up to VM_BACKOFF_MAX_USEC.
 */
static uint64_t lost_delay(struct vm *vm, uint64_t now_usec)
{
	return vm->hello ? backoff_next_usec(&vm->backoff) : backoff_failed(&vm->backoff, now_usec);
}

/* Say what the log budget dropped, once, when there is something to say and room to say it. */
static void log_suppressed(struct vm *vm, uint64_t now_usec)
{
	uint64_t n;

	if (!vm->log_rl.suppressed || ratelimit_wait_usec(&vm->log_rl, now_usec) > 0)
		return;
	n = ratelimit_take_suppressed(&vm->log_rl);
	log_warnx("vm %s: %llu log lines caused by the guest suppressed (at most %u at once, then one "
		  "per %llu ms)", vm->name, (unsigned long long)n, VM_LOG_BURST,
		  (unsigned long long)(VM_LOG_USEC / 1000));
}

/* May the guest make us log one more line?  Debug lines ask only when they would be written. */
bool vm_log_ok(struct vm *vm, uint64_t now_usec)
{
	log_suppressed(vm, now_usec);
	return ratelimit_take(&vm->log_rl, now_usec);
}

/*
 * What to wait for: output while some is queued, never input (the reader
 * reads).  Edge-triggered, so that a hang-up, which epoll reports whatever
 * was asked, wakes us once: the reader's EOF is what closes the channel,
 * after it has handled the lines that came before it.
 */
static int vm_watch_events(struct vm *vm)
{
	return loop_mod(vm->env->loop, &vm->ch, EPOLLET | (vm->out_len ? EPOLLOUT : 0));
}

/* The reader lets go of the channel before our copy of the descriptor closes. */
static void close_channel(struct vm *vm)
{
	if (vm->ch.fd >= 0 && vm->env->reader)
		vm->env->reader->detach(vm->env->reader_ctx, vm);
	loop_watch_close(vm->env->loop, &vm->ch);
}

void vm_close(struct vm *vm)
{
	close_channel(vm);
}

unsigned vm_take_news(struct vm *vm)
{
	unsigned news = vm->news;

	vm->news = 0;
	return news;
}

void vm_disconnect(struct vm *vm, const char *reason, uint64_t delay_usec, uint64_t now_usec)
{
	if (vm->ch.fd < 0)
		return;
	if (vm_log_ok(vm, now_usec))
		log_info("vm %s: channel closed: %s", vm->name, reason);
	close_channel(vm);
	vm->hello = false;
	vm->welcomed = false;
	vm->out_len = 0;
	/* The last report stays: it is still the best the host knows of the guest. */
	vm->request.valid = false;
	vm->retry_at_usec = now_usec + delay_usec;
	vm->news |= VM_NEWS_DOWN;
}

static int flush_out(struct vm *vm)
{
	int r = loop_flush(vm->ch.fd, vm->out, &vm->out_len);

	if (r < 0)
		return r;
	return vm_watch_events(vm);
}

int vm_send(struct vm *vm, const struct proto_msg *msg, uint64_t now_usec)
{
	char line[PROTO_LINE_MAX + 1];
	int len, r;

	if (vm->ch.fd < 0)
		return -ENOTCONN;
	len = proto_format(msg, line, sizeof(line));
	if (len < 0) {
		log_warnc(len, "vm %s: cannot format %s", vm->name, proto_verb_name(msg->verb));
		return len;
	}
	/* A guest that does not read its messages must not make us buffer without bound. */
	if ((size_t)len > VM_OUT_MAX - vm->out_len) {
		vm_disconnect(vm, "output queue full (guest not reading)", vm->env->penalty_usec,
			      now_usec);
		vm->kicks_total++;
		return -ENOBUFS;
	}
	memcpy(vm->out + vm->out_len, line, (size_t)len);
	vm->out_len += (size_t)len;
	r = flush_out(vm);
	if (r < 0)
		vm_disconnect(vm, "write failed", lost_delay(vm, now_usec), now_usec);
	return r;
}

static void send_error(struct vm *vm, const char *reason, uint64_t now_usec)
{
	struct proto_msg m = { .verb = PROTO_VERB_ERROR };
	const struct vm_env *env = vm->env;

	vm->errors_total++;
	if (now_usec - vm->window_start_usec > env->error_window_usec) {
		vm->window_start_usec = now_usec;
		vm->window_errors = 0;
	}
	vm->window_errors++;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	vm_send(vm, &m, now_usec);
	if (vm->window_errors > env->error_limit && vm->ch.fd >= 0) {
		if (vm_log_ok(vm, now_usec))
			log_warnx("vm %s: %u bad lines within %llu ms (last \"%s\"), disconnecting for %llu ms",
				  vm->name, vm->window_errors,
				  (unsigned long long)(env->error_window_usec / 1000), reason,
				  (unsigned long long)(env->penalty_usec / 1000));
		vm->kicks_total++;
		vm_disconnect(vm, "too many errors", env->penalty_usec, now_usec);
	}
}

int vm_welcome(struct vm *vm, uint64_t min_bytes, uint64_t max_bytes, uint64_t current_bytes,
	       uint64_t block_bytes, uint64_t balloon_bytes, uint64_t now_usec)
{
	struct proto_msg m = { .verb = PROTO_VERB_WELCOME, .version = PROTO_VERSION,
			       .min_bytes = min_bytes, .max_bytes = max_bytes,
			       .current_bytes = current_bytes, .block_bytes = block_bytes,
			       .balloon_bytes = balloon_bytes,
			       .present = balloon_bytes ? PROTO_HAS(PROTO_KEY_BALLOON) : 0 };

	if (!vm->hello)
		return -ENOTCONN;
	vm->welcomed = true;
	return vm_send(vm, &m, now_usec);
}

static void handle_hello(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	/* Each hello costs a welcome and restarts the session: a budget of its own. */
	if (!ratelimit_take(&vm->hello_rl, now_usec)) {
		send_error(vm, "rate_limited", now_usec);
		return;
	}
	vm->hello = true;
	vm->welcomed = false; /* every hello is answered */
	backoff_succeeded(&vm->backoff); /* a guest that says hello has a working channel */
	/* A new session (a restarted agent starts at seq 1): the old one's request is gone. */
	vm->request.valid = false;
	snprintf(vm->agent, sizeof(vm->agent), "%s",
		 (m->present & PROTO_HAS(PROTO_KEY_AGENT)) ? m->agent : "");
	if (vm_log_ok(vm, now_usec))
		log_info("vm %s: hello agent \"%s\" current %llu block %llu", vm->name, vm->agent,
			 (unsigned long long)m->current_bytes, (unsigned long long)m->block_bytes);
	vm->news |= VM_NEWS_HELLO;
}

static void handle_request(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	vm->request = (struct arbiter_request){ .valid = true, .seq = m->seq,
						.target_bytes = m->target_bytes,
						.urgency = m->urgency, .usec = now_usec };
	if (log_is_debug() && vm_log_ok(vm, now_usec))
		log_debug("vm %s: request seq %llu target %llu urgency %s reason \"%s\"", vm->name,
			  (unsigned long long)m->seq, (unsigned long long)m->target_bytes,
			  proto_urgency_name(m->urgency), m->reason);
	vm->news |= VM_NEWS_REQUEST;
}

static void handle_report(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	vm->report = (struct arbiter_report){ .valid = true, .usec = now_usec,
					      .mem_total_bytes = m->mem_total_bytes,
					      .mem_available_bytes = m->mem_available_bytes,
					      .psi_some_avg10_centi = m->psi_some_avg10_centi,
					      .psi_full_avg10_centi = m->psi_full_avg10_centi };
	vm->news |= VM_NEWS_REPORT;
}

/* A message of a guest verb, already parsed and checked by the reader. */
static void handle_msg(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	if (m->verb != PROTO_VERB_HELLO && !vm->hello) {
		send_error(vm, "no_hello", now_usec);
		return;
	}
	switch (m->verb) {
	case PROTO_VERB_HELLO:
		handle_hello(vm, m, now_usec);
		break;
	case PROTO_VERB_REQUEST:
		handle_request(vm, m, now_usec);
		break;
	case PROTO_VERB_REPORT:
		handle_report(vm, m, now_usec);
		break;
	case PROTO_VERB_DONE:
		/* The guest finished resizing: the hypervisor's numbers are the ones to believe. */
		if (log_is_debug() && vm_log_ok(vm, now_usec))
			log_debug("vm %s: done seq %llu current %llu", vm->name,
				  (unsigned long long)m->seq, (unsigned long long)m->current_bytes);
		vm->news |= VM_NEWS_DONE;
		break;
	default:
		send_error(vm, "unexpected_verb", now_usec);
		break;
	}
}

/* A line the reader handled: counted, and spent from the guest's budget. */
static void count_line(struct vm *vm, uint64_t now_usec)
{
	vm->lines_total++;
	ratelimit_take(&vm->lines_rl, now_usec);
}

uint32_t vm_line_tokens(struct vm *vm)
{
	return ratelimit_tokens(&vm->lines_rl, vm_now(vm));
}

void vm_input(struct vm *vm, const struct vm_input *in, uint64_t now_usec)
{
	if (vm->ch.fd < 0)
		return;
	switch (in->kind) {
	case VM_INPUT_MSG:
		count_line(vm, now_usec);
		handle_msg(vm, in->msg, now_usec);
		break;
	case VM_INPUT_BAD:
		count_line(vm, now_usec);
		send_error(vm, in->reason, now_usec);
		/* An agent of another protocol version cannot be talked to (docs/protocol.md). */
		if (vm->ch.fd >= 0 && strcmp(in->reason, "bad_version") == 0)
			vm_disconnect(vm, "unsupported protocol version", vm->env->penalty_usec, now_usec);
		break;
	case VM_INPUT_EOF:
		vm_disconnect(vm, in->err ? "read failed" : "end of file", lost_delay(vm, now_usec),
			      now_usec);
		break;
	case VM_INPUT_THROTTLED:
		vm->throttled_total++;
		if (vm_log_ok(vm, now_usec))
			log_info("vm %s: more than %u lines per second; reading it more slowly", vm->name,
				 PRIVSEP_LINES_PER_SEC);
		break;
	}
}

static void vm_channel_io(struct loop_watch *w, uint32_t events)
{
	struct vm *vm = LOOP_OWNER(w, struct vm, ch);
	uint64_t now_usec = vm_now(vm);

	if ((events & EPOLLOUT) && flush_out(vm) < 0)
		vm_disconnect(vm, "write failed", lost_delay(vm, now_usec), now_usec);
}

int vm_attach(struct vm *vm, int fd, uint64_t now_usec)
{
	int r;

	if (vm->ch.fd >= 0)
		return -EBUSY;
	/* A guest that connects to us (vsock) waits out its backoff like one we connect to. */
	if (now_usec < vm->retry_at_usec)
		return -EAGAIN;
	vm->ch.fd = fd;
	r = loop_add(vm->env->loop, &vm->ch, EPOLLET);
	if (r == 0 && vm->env->reader) {
		r = vm->env->reader->attach(vm->env->reader_ctx, vm);
		if (r < 0)
			loop_del(vm->env->loop, &vm->ch);
	}
	if (r < 0) {
		vm->ch.fd = -1;
		return r;
	}
	vm->out_len = 0;
	vm->window_errors = 0;
	vm->window_start_usec = now_usec;
	return 0;
}

static void connect_channel(struct vm *vm, uint64_t now_usec)
{
	int fd = loop_connect_unix(vm->path);
	int r = fd;

	if (fd >= 0) {
		r = vm_attach(vm, fd, now_usec);
		if (r < 0)
			close(fd);
	}
	if (r < 0) {
		uint64_t delay = backoff_failed(&vm->backoff, now_usec);

		log_debug("vm %s: channel %s: %s; next try in %llu ms", vm->name, vm->path, strerror(-r),
			  (unsigned long long)(delay / 1000));
		vm->retry_at_usec = vm->backoff.retry_at_usec;
		return;
	}
	if (vm_log_ok(vm, now_usec))
		log_info("vm %s: channel connected to %s", vm->name, vm->path);
}

void vm_tick(struct vm *vm, uint64_t now_usec)
{
	log_suppressed(vm, now_usec);
	/* Without a path the channel is a listener's (vsock), which attaches what it accepts. */
	if (vm->path[0] && vm->ch.fd < 0 && now_usec >= vm->retry_at_usec)
		connect_channel(vm, now_usec);
}
