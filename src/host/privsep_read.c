/* SPDX-License-Identifier: MIT */
#include "host/privsep_read.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"

static const char *const bad_words[PRIVSEP_BAD__MAX] = {
	[PRIVSEP_BAD_EMPTY] = "empty",
	[PRIVSEP_BAD_TOO_LONG] = "too_long",
	[PRIVSEP_BAD_NOT_ASCII] = "not_ascii",
	[PRIVSEP_BAD_SYNTAX] = "bad_syntax",
	[PRIVSEP_BAD_VERB] = "bad_verb",
	[PRIVSEP_BAD_MISSING_KEY] = "missing_key",
	[PRIVSEP_BAD_DUPLICATE_KEY] = "duplicate_key",
	[PRIVSEP_BAD_VALUE] = "bad_value",
	[PRIVSEP_BAD_VERSION] = "bad_version",
	[PRIVSEP_BAD_UNEXPECTED_VERB] = "unexpected_verb",
};

const char *privsep_bad_word(int32_t bad)
{
	return bad >= 0 && bad < PRIVSEP_BAD__MAX ? bad_words[bad] : NULL;
}

enum privsep_bad privsep_bad_of(const char *word)
{
	for (int i = 0; i < PRIVSEP_BAD__MAX; i++)
		if (word && strcmp(word, bad_words[i]) == 0)
			return (enum privsep_bad)i;
	return PRIVSEP_BAD_SYNTAX;
}

static uint64_t chan_now(const struct privsep_chan *c)
{
	return c->clock ? c->clock() : clock_now_usec();
}

static void emit(struct privsep_chan *c, uint32_t type, int32_t err, const struct proto_msg *m)
{
	struct privsep_rec rec = { .type = type, .slot = c->slot, .id = c->id, .err = err };

	if (m)
		rec.msg = *m;
	c->emit(c->ctx, c, &rec);
}

/* The channel is over for the reader: say so once, and wait for the parent's DEL. */
static void chan_end(struct privsep_chan *c, int err)
{
	if (c->ended)
		return;
	c->ended = true;
	c->backlog = false;
	loop_del(c->loop, &c->w);
	emit(c, PRIVSEP_EOF, err, NULL);
}

static int watch(struct privsep_chan *c)
{
	return loop_mod(c->loop, &c->w, c->throttled ? 0 : EPOLLIN);
}

static void handle_line(struct privsep_chan *c, const char *line, size_t len)
{
	struct proto_msg m;
	const char *reason = "bad_syntax";

	if (proto_parse(line, len, &m, &reason) < 0)
		emit(c, PRIVSEP_BAD, privsep_bad_of(reason), NULL);
	else if (!proto_verb_from_guest(m.verb))
		emit(c, PRIVSEP_BAD, PRIVSEP_BAD_UNEXPECTED_VERB, NULL);
	else
		emit(c, PRIVSEP_MSG, 0, &m);
}

/* Is a line left in the link's budget?  Without one the channel is not read until there is. */
static bool line_budget(struct privsep_chan *c, uint64_t now_usec)
{
	if (ratelimit_wait_usec(&c->lines_rl, now_usec) == 0)
		return true;
	if (!c->throttled) {
		c->throttled = true;
		emit(c, PRIVSEP_THROTTLED, 0, NULL);
		if (watch(c) < 0)
			chan_end(c, -EIO);
	}
	return false;
}

void privsep_chan_drain(struct privsep_chan *c, uint64_t now_usec)
{
	uint32_t budget = c->lines_per_wakeup;
	const char *line;
	size_t len;
	int k;

	c->backlog = false;
	while (!c->ended) {
		/* The bounds are checked before a line is taken, so none is lost. */
		if (budget == 0) {
			c->backlog = true;
			return;
		}
		if (!line_budget(c, now_usec))
			return;
		k = proto_reader_next(&c->reader, &line, &len);
		if (k != 0) {
			ratelimit_take(&c->lines_rl, now_usec);
			budget--;
		}
		if (k > 0) {
			handle_line(c, line, len);
			continue;
		}
		if (k < 0) {
			emit(c, PRIVSEP_BAD, PRIVSEP_BAD_TOO_LONG, NULL);
			continue;
		}
		if (c->in_off == c->in_len)
			return;
		c->in_off += proto_reader_feed(&c->reader, c->in + c->in_off, c->in_len - c->in_off);
	}
}

static void chan_io(struct loop_watch *w, uint32_t events)
{
	struct privsep_chan *c = LOOP_OWNER(w, struct privsep_chan, w);
	uint64_t now_usec = chan_now(c);
	ssize_t n;

	/* Bytes from an earlier turn come first; read more only when they are handled. */
	if (c->ended || c->throttled || c->backlog || c->in_off < c->in_len) {
		if (!c->ended && !c->throttled)
			privsep_chan_drain(c, now_usec);
		return;
	}
	n = recv(c->w.fd, c->in, sizeof(c->in), MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			chan_end(c, -errno);
		return;
	}
	if (n == 0) {
		chan_end(c, 0);
		return;
	}
	c->in_off = 0;
	c->in_len = (size_t)n;
	privsep_chan_drain(c, now_usec);
}

void privsep_chan_tick(struct privsep_chan *c, uint64_t now_usec)
{
	if (c->ended || !c->throttled || ratelimit_wait_usec(&c->lines_rl, now_usec) > 0)
		return;
	c->throttled = false;
	c->backlog = true; /* what is buffered is handled before the channel is read */
	if (watch(c) < 0)
		chan_end(c, -EIO);
}

int privsep_chan_open(struct privsep_chan *c, struct loop *loop, int fd, uint32_t slot, uint64_t id,
		      uint32_t lines_per_wakeup, privsep_emit_fn *emit_fn, void *ctx)
{
	int r;

	memset(c, 0, sizeof(*c));
	loop_watch_init(&c->w, chan_io);
	c->loop = loop;
	c->slot = slot;
	c->id = id;
	c->lines_per_wakeup = lines_per_wakeup ? lines_per_wakeup : 1;
	c->emit = emit_fn;
	c->ctx = ctx;
	ratelimit_init(&c->lines_rl, PRIVSEP_LINES_BURST, 1000000ull / PRIVSEP_LINES_PER_SEC);
	proto_reader_init(&c->reader, c->rbuf, sizeof(c->rbuf));
	c->w.fd = fd;
	r = loop_add(loop, &c->w, EPOLLIN);
	if (r < 0)
		c->w.fd = -1;
	return r;
}

void privsep_chan_budget(struct privsep_chan *c, uint32_t lines_tokens)
{
	ratelimit_start(&c->lines_rl, lines_tokens, chan_now(c));
}

void privsep_chan_close(struct privsep_chan *c)
{
	if (c->w.fd >= 0 && !c->ended)
		loop_del(c->loop, &c->w);
	if (c->w.fd >= 0)
		close(c->w.fd);
	c->w.fd = -1;
	c->ended = true;
}
