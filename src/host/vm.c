/* SPDX-License-Identifier: MIT */
#include "host/vm.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "host/broker.h"

#define CH_BACKOFF_MIN_USEC (100 * 1000ull)
#define CH_BACKOFF_MAX_USEC (5 * 1000000ull)

static void vm_channel_io(struct loop_watch *w, uint32_t events);

struct vm *vm_new(struct broker *b, const struct config_vm *cfg, uint64_t now_usec)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->cfg = *cfg;
	vm->broker = b;
	loop_watch_init(&vm->ch, vm_channel_io);
	backoff_init(&vm->ch_backoff, CH_BACKOFF_MIN_USEC, CH_BACKOFF_MAX_USEC);
	vm->ch_retry_at_usec = now_usec;
	vm->arb.min_bytes = cfg->min_bytes;
	vm->arb.max_bytes = cfg->max_bytes;
	vm->arb.weight = cfg->weight;
	snprintf(vm->last_reason, sizeof(vm->last_reason), "none");
	driver_init(vm, b->loop);
	return vm;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	loop_watch_close(vm->broker->loop, &vm->ch);
	qmp_destroy(&vm->qmp);
	free(vm);
}

uint64_t vm_current_bytes(const struct vm *vm)
{
	uint64_t boot = vm->base_bytes;

	/* QEMU's balloon "actual" is the boot memory minus what the balloon holds. */
	if (vm->cfg.balloon_id[0] && vm->balloon_actual_bytes <= vm->base_bytes)
		boot = vm->balloon_actual_bytes;
	return boot + (vm->cfg.vmem_id[0] ? vm->vmem.size_bytes : 0);
}

void vm_disconnect(struct vm *vm, const char *reason, uint64_t delay_usec, uint64_t now_usec)
{
	if (vm->ch.fd < 0)
		return;
	log_info("vm %s: channel closed: %s", vm->cfg.name, reason);
	loop_watch_close(vm->broker->loop, &vm->ch);
	vm->hello = false;
	vm->welcome_pending = false;
	vm->backlog = false;
	vm->out_len = 0;
	vm->in_off = vm->in_len = 0;
	vm->arb.connected = false;
	vm->arb.request.valid = false;
	vm->ch_retry_at_usec = now_usec + delay_usec;
	vm->broker->dirty = true;
}

static int flush_out(struct vm *vm)
{
	int r = loop_flush(vm->ch.fd, vm->out, &vm->out_len);

	if (r < 0)
		return r;
	return loop_mod(vm->broker->loop, &vm->ch, EPOLLIN | (vm->out_len ? EPOLLOUT : 0));
}

int vm_send(struct vm *vm, const struct proto_msg *msg, uint64_t now_usec)
{
	char line[PROTO_LINE_MAX + 1];
	int len, r;

	if (vm->ch.fd < 0)
		return -ENOTCONN;
	len = proto_format(msg, line, sizeof(line));
	if (len < 0) {
		log_warnc(len, "vm %s: cannot format %s", vm->cfg.name, proto_verb_name(msg->verb));
		return len;
	}
	/* A guest that does not read its messages must not make us buffer without bound. */
	if ((size_t)len > VM_OUT_MAX - vm->out_len) {
		vm_disconnect(vm, "output queue full (guest not reading)", vm->broker->cfg.penalty_usec,
			      now_usec);
		vm->kicks_total++;
		return -ENOBUFS;
	}
	memcpy(vm->out + vm->out_len, line, (size_t)len);
	vm->out_len += (size_t)len;
	r = flush_out(vm);
	if (r < 0)
		vm_disconnect(vm, "write failed", backoff_next_usec(&vm->ch_backoff), now_usec);
	return r;
}

static void send_error(struct vm *vm, const char *reason, uint64_t now_usec)
{
	struct proto_msg m = { .verb = PROTO_VERB_ERROR };
	const struct config *cfg = &vm->broker->cfg;

	vm->errors_total++;
	if (now_usec - vm->window_start_usec > cfg->error_window_usec) {
		vm->window_start_usec = now_usec;
		vm->window_errors = 0;
	}
	vm->window_errors++;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	vm_send(vm, &m, now_usec);
	if (vm->window_errors > cfg->error_limit && vm->ch.fd >= 0) {
		log_warnx("vm %s: %u bad lines within %llu ms (last \"%s\"), disconnecting for %llu ms",
			  vm->cfg.name, vm->window_errors,
			  (unsigned long long)(cfg->error_window_usec / 1000), reason,
			  (unsigned long long)(cfg->penalty_usec / 1000));
		vm->kicks_total++;
		vm_disconnect(vm, "too many errors", cfg->penalty_usec, now_usec);
	}
}

/*
 * The welcome states the VM's size as QEMU reports it, so it waits until the
 * VM is reconciled: a hello that comes first is answered then.
 */
void vm_send_welcome(struct vm *vm, uint64_t now_usec)
{
	struct proto_msg m = { .verb = PROTO_VERB_WELCOME, .version = PROTO_VERSION };

	if (!vm->hello)
		return;
	if (!vm->reconciled) {
		vm->welcome_pending = true;
		return;
	}
	vm->welcome_pending = false;
	m.min_bytes = vm->cfg.min_bytes;
	m.max_bytes = vm->cfg.max_bytes;
	m.current_bytes = vm_current_bytes(vm);
	m.block_bytes = driver_block_bytes(vm);
	vm_send(vm, &m, now_usec);
}

static void handle_hello(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	vm->hello = true;
	vm->arb.connected = true;
	snprintf(vm->agent, sizeof(vm->agent), "%s",
		 (m->present & PROTO_HAS(PROTO_KEY_AGENT)) ? m->agent : "");
	log_info("vm %s: hello agent \"%s\" current %llu block %llu", vm->cfg.name, vm->agent,
		 (unsigned long long)m->current_bytes, (unsigned long long)m->block_bytes);
	vm_send_welcome(vm, now_usec);
	vm->broker->dirty = true;
}

static void handle_request(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	struct arbiter_request *r = &vm->arb.request;

	r->valid = true;
	r->seq = m->seq;
	r->target_bytes = m->target_bytes;
	r->urgency = (enum urgency)m->urgency;
	r->usec = now_usec;
	vm->requested_bytes = m->target_bytes;
	log_debug("vm %s: request seq %llu target %llu urgency %s reason \"%s\"", vm->cfg.name,
		  (unsigned long long)m->seq, (unsigned long long)m->target_bytes,
		  proto_urgency_name(m->urgency), m->reason);
	vm->broker->dirty = true;
}

static void handle_report(struct vm *vm, const struct proto_msg *m, uint64_t now_usec)
{
	struct arbiter_report *r = &vm->arb.report;

	r->valid = true;
	r->usec = now_usec;
	r->mem_total_bytes = m->mem_total_bytes;
	r->mem_available_bytes = m->mem_available_bytes;
	r->psi_some_avg10_centi = m->psi_some_avg10_centi;
	r->psi_full_avg10_centi = m->psi_full_avg10_centi;
}

static void handle_line(struct vm *vm, const char *line, size_t len, uint64_t now_usec)
{
	struct proto_msg m;
	const char *reason = "bad_syntax";

	vm->lines_total++;
	if (proto_parse(line, len, &m, &reason) < 0) {
		send_error(vm, reason, now_usec);
		return;
	}
	if (!proto_verb_from_guest(m.verb)) {
		send_error(vm, "unexpected_verb", now_usec);
		return;
	}
	if (m.verb != PROTO_VERB_HELLO && !vm->hello) {
		send_error(vm, "no_hello", now_usec);
		return;
	}
	switch (m.verb) {
	case PROTO_VERB_HELLO:
		handle_hello(vm, &m, now_usec);
		break;
	case PROTO_VERB_REQUEST:
		handle_request(vm, &m, now_usec);
		break;
	case PROTO_VERB_REPORT:
		handle_report(vm, &m, now_usec);
		break;
	case PROTO_VERB_DONE:
		/* The guest finished resizing: QEMU's numbers are the ones to believe. */
		log_debug("vm %s: done seq %llu current %llu", vm->cfg.name, (unsigned long long)m.seq,
			  (unsigned long long)m.current_bytes);
		driver_refresh(vm, now_usec);
		break;
	default:
		send_error(vm, "unexpected_verb", now_usec);
		break;
	}
}

void vm_drain(struct vm *vm, uint64_t now_usec)
{
	uint32_t budget = vm->broker->cfg.lines_per_wakeup;
	const char *line;
	size_t len;
	int k;

	vm->backlog = false;
	while (vm->ch.fd >= 0) {
		/* The budget is checked before a line is taken, so none is lost. */
		if (budget == 0) {
			vm->backlog = true;
			return;
		}
		k = proto_reader_next(&vm->reader, &line, &len);
		if (k > 0) {
			budget--;
			handle_line(vm, line, len, now_usec);
			continue;
		}
		if (k < 0) {
			budget--;
			send_error(vm, "too_long", now_usec);
			continue;
		}
		if (vm->in_off == vm->in_len)
			return;
		vm->in_off += proto_reader_feed(&vm->reader, vm->in + vm->in_off, vm->in_len - vm->in_off);
	}
}

static void read_channel(struct vm *vm, uint64_t now_usec)
{
	ssize_t n;

	/* Bytes from an earlier wakeup come first; read more only when they are handled. */
	if (vm->backlog || vm->in_off < vm->in_len) {
		vm_drain(vm, now_usec);
		return;
	}
	n = recv(vm->ch.fd, vm->in, sizeof(vm->in), MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			vm_disconnect(vm, "read failed", backoff_next_usec(&vm->ch_backoff), now_usec);
		return;
	}
	if (n == 0) {
		vm_disconnect(vm, "end of file", backoff_next_usec(&vm->ch_backoff), now_usec);
		return;
	}
	vm->in_off = 0;
	vm->in_len = (size_t)n;
	vm_drain(vm, now_usec);
}

static void vm_channel_io(struct loop_watch *w, uint32_t events)
{
	struct vm *vm = LOOP_OWNER(w, struct vm, ch);
	uint64_t now_usec = clock_now_usec();

	if (w->fd < 0 || vm->dead)
		return;
	if (events & EPOLLIN)
		read_channel(vm, now_usec);
	if (vm->ch.fd >= 0 && (events & EPOLLOUT) && flush_out(vm) < 0)
		vm_disconnect(vm, "write failed", backoff_next_usec(&vm->ch_backoff), now_usec);
	if (vm->ch.fd >= 0 && (events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN))
		vm_disconnect(vm, "hang-up", backoff_next_usec(&vm->ch_backoff), now_usec);
}

static void connect_channel(struct vm *vm, uint64_t now_usec)
{
	int fd = loop_connect_unix(vm->cfg.channel_path);

	if (fd >= 0) {
		vm->ch.fd = fd;
		if (loop_add(vm->broker->loop, &vm->ch, EPOLLIN) < 0) {
			close(fd);
			vm->ch.fd = -1;
			fd = -1;
		}
	}
	if (fd < 0) {
		uint64_t delay = backoff_failed(&vm->ch_backoff, now_usec);

		log_debug("vm %s: channel %s: %s; next try in %llu ms", vm->cfg.name,
			  vm->cfg.channel_path, strerror(-fd), (unsigned long long)(delay / 1000));
		vm->ch_retry_at_usec = vm->ch_backoff.retry_at_usec;
		return;
	}
	log_info("vm %s: channel connected to %s", vm->cfg.name, vm->cfg.channel_path);
	backoff_succeeded(&vm->ch_backoff);
	proto_reader_init(&vm->reader, vm->rbuf, sizeof(vm->rbuf));
	vm->out_len = 0;
	vm->in_off = vm->in_len = 0;
	vm->window_errors = 0;
	vm->window_start_usec = now_usec;
}

void vm_tick(struct vm *vm, uint64_t now_usec)
{
	qmp_tick(&vm->qmp, now_usec);
	if (vm->ch.fd < 0 && now_usec >= vm->ch_retry_at_usec)
		connect_channel(vm, now_usec);
}
