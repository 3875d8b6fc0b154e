/* SPDX-License-Identifier: MIT */
/*
 * What both readers share on the parent's side: the check of a record and
 * its delivery to vm.c; and the reader in the calling process (tests,
 * vsock-peer), which runs the child's very channel code without the fork.
 */
#include "host/privsep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/privsep_read.h"

static bool word_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) && (!s[0] || proto_word_valid(s, size - 1));
}

int privsep_rec_check(const struct privsep_rec *rec)
{
	char line[PROTO_LINE_MAX + 1];

	switch (rec->type) {
	case PRIVSEP_MSG:
		/* A message that would not format back is not one proto_parse() made. */
		if (!proto_verb_from_guest(rec->msg.verb) ||
		    !word_ok(rec->msg.agent, sizeof(rec->msg.agent)) ||
		    !word_ok(rec->msg.reason, sizeof(rec->msg.reason)) ||
		    proto_format(&rec->msg, line, sizeof(line)) < 0)
			return -EPROTO;
		return 0;
	case PRIVSEP_BAD:
		return privsep_bad_word(rec->err) ? 0 : -EPROTO;
	case PRIVSEP_EOF:
		return rec->err <= 0 ? 0 : -EPROTO;
	case PRIVSEP_THROTTLED:
	case PRIVSEP_PONG:
		return 0;
	default:
		return -EPROTO;
	}
}

int privsep_deliver(struct vm *vm, const struct privsep_rec *rec, uint64_t now_usec)
{
	static const enum vm_input_kind kinds[] = {
		[PRIVSEP_MSG] = VM_INPUT_MSG,
		[PRIVSEP_BAD] = VM_INPUT_BAD,
		[PRIVSEP_EOF] = VM_INPUT_EOF,
		[PRIVSEP_THROTTLED] = VM_INPUT_THROTTLED,
	};
	struct vm_input in;
	int r = privsep_rec_check(rec);

	if (r < 0)
		return r;
	in = (struct vm_input){ .kind = kinds[rec->type], .err = rec->err, .msg = &rec->msg,
				.reason = rec->type == PRIVSEP_BAD ? privsep_bad_word(rec->err) : NULL };
	vm_input(vm, &in, now_usec);
	return 0;
}

static void local_emit(void *ctx, struct privsep_chan *c, const struct privsep_rec *rec)
{
	struct privsep_local *l = ctx;

	/* The id tells a channel closed and reopened in the same slot apart. */
	if (l->vms[c->slot] && l->chans[c->slot] == c)
		privsep_deliver(l->vms[c->slot], rec, c->clock ? c->clock() : 0);
}

static int local_attach(void *ctx, struct vm *vm)
{
	struct privsep_local *l = ctx;
	struct privsep_chan *c;
	int fd, r;

	for (uint32_t i = 0; i < PRIVSEP_LOCAL_MAX; i++) {
		if (l->vms[i])
			continue;
		free(l->chans[i]);
		l->chans[i] = NULL;
		c = calloc(1, sizeof(*c));
		fd = dup(vm->ch.fd);
		if (!c || fd < 0) {
			r = c ? -errno : -ENOMEM;
			free(c);
			return r;
		}
		r = privsep_chan_open(c, l->loop, fd, i, ++l->next_id, l->lines_per_wakeup, local_emit, l);
		if (r < 0) {
			close(fd);
			free(c);
			return r;
		}
		c->clock = l->clock;
		privsep_chan_budget(c, vm_line_tokens(vm));
		l->vms[i] = vm;
		l->chans[i] = c;
		return 0;
	}
	return -ENOSPC;
}

static void local_detach(void *ctx, struct vm *vm)
{
	struct privsep_local *l = ctx;

	for (uint32_t i = 0; i < PRIVSEP_LOCAL_MAX; i++) {
		if (l->vms[i] != vm)
			continue;
		/* Freed when the slot is reused: this may run inside the channel's own emit(). */
		privsep_chan_close(l->chans[i]);
		l->vms[i] = NULL;
	}
}

const struct vm_reader_ops privsep_local_ops = { .attach = local_attach, .detach = local_detach };

bool privsep_local_drain(struct privsep_local *l, uint64_t now_usec)
{
	bool left = false;

	for (uint32_t i = 0; i < PRIVSEP_LOCAL_MAX; i++) {
		if (l->chans[i] && l->chans[i]->backlog)
			privsep_chan_drain(l->chans[i], now_usec);
		left |= l->chans[i] && l->chans[i]->backlog;
	}
	return left;
}

void privsep_local_tick(struct privsep_local *l, uint64_t now_usec)
{
	for (uint32_t i = 0; i < PRIVSEP_LOCAL_MAX; i++)
		if (l->chans[i])
			privsep_chan_tick(l->chans[i], now_usec);
}

void privsep_local_close(struct privsep_local *l)
{
	for (uint32_t i = 0; i < PRIVSEP_LOCAL_MAX; i++) {
		if (l->chans[i])
			privsep_chan_close(l->chans[i]);
		free(l->chans[i]);
		l->chans[i] = NULL;
		l->vms[i] = NULL;
	}
}
