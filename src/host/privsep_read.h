/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_PRIVSEP_READ_H
#define VMRD_HOST_PRIVSEP_READ_H

/*
 * One guest channel as the guest reader sees it: bytes in, records out.
 * Framing (a fixed buffer, proto_reader), parsing (proto_parse), the line
 * budget of the guest (PRIVSEP_LINES_BURST, then PRIVSEP_LINES_PER_SEC;
 * past it the channel is not read until the budget is back, so a flood
 * slows the flooder and nothing else; a new connection starts from what
 * the guest left, privsep_chan_budget()) and the per-wakeup bound live here,
 * in the process that holds nothing else (privsep_child.c).  The channel
 * never writes to the guest: answers are the parent's (vm.c).
 *
 * A leaf: it tells its owner each record through emit(), and knows
 * nothing of where the records go (a socket to vmrd-host, or vm_input()
 * in the same process for the unit tests and vsock-peer).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/loop.h"
#include "common/ratelimit.h"
#include "core/proto.h"
#include "host/privsep_rec.h"

#define PRIVSEP_READ_BUDGET 4096
/* Budgets per guest: far above what an honest agent sends (a report every second or so). */
#define PRIVSEP_LINES_BURST 200
#define PRIVSEP_LINES_PER_SEC 100

struct privsep_chan;
typedef void privsep_emit_fn(void *ctx, struct privsep_chan *c, const struct privsep_rec *rec);

struct privsep_chan {
	struct loop_watch w;
	struct loop *loop;
	uint32_t slot;
	uint64_t id;
	uint32_t lines_per_wakeup;
	privsep_emit_fn *emit;
	void *ctx;
	uint64_t (*clock)(void);         /* NULL: CLOCK_MONOTONIC */

	bool ended;                      /* EOF sent: nothing more is read */
	bool backlog;                    /* lines or bytes left over for the next turn */
	bool throttled;                  /* out of line budget: not read until it is back */
	struct ratelimit lines_rl;
	struct proto_reader reader;
	char rbuf[2 * PROTO_LINE_MAX];
	char in[PRIVSEP_READ_BUDGET];    /* read but not yet fed to the reader */
	size_t in_off;
	size_t in_len;
};

/* Start reading fd (taken over: closed by privsep_chan_close()). */
int privsep_chan_open(struct privsep_chan *c, struct loop *loop, int fd, uint32_t slot, uint64_t id,
		      uint32_t lines_per_wakeup, privsep_emit_fn *emit, void *ctx);
void privsep_chan_close(struct privsep_chan *c);
/* The guest's line budget as its VM left it (not a fresh one per connection). */
void privsep_chan_budget(struct privsep_chan *c, uint32_t lines_tokens);

/* Handle lines left over from an earlier turn (the per-wakeup bound ran out). */
void privsep_chan_drain(struct privsep_chan *c, uint64_t now_usec);
/* Read again when the line budget is back. */
void privsep_chan_tick(struct privsep_chan *c, uint64_t now_usec);

#endif
