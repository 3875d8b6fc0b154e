/* SPDX-License-Identifier: MIT */
#ifndef VMRD_RATELIMIT_H
#define VMRD_RATELIMIT_H

/*
 * A token bucket, the one rate limit of vmrd: lines a guest makes the host
 * log, QMP queries a guest's `done` causes, anything else an untrusted
 * peer could make happen as often as it likes.  Pure and libc-only like
 * backoff.h (time is passed in), so the core may use it too.
 *
 * The bucket holds at most burst tokens and gains one every
 * interval_usec; each event takes one.  An event that finds the bucket
 * empty is refused and counted as suppressed, so the caller can say once
 * how many it dropped ("N suppressed") when the next one is let through.
 * A burst of 0 refuses everything; an interval of 0 refuses nothing.
 */

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint32_t burst;          /* the most tokens the bucket holds */
	uint64_t interval_usec;  /* one token back per interval */
	uint32_t tokens;
	uint64_t refill_usec;    /* the time the tokens were last counted up to */
	bool started;            /* the first event fills the bucket */
	uint64_t suppressed;     /* refused since the last ratelimit_take_suppressed() */
	uint64_t suppressed_total;
};

void ratelimit_init(struct ratelimit *rl, uint32_t burst, uint64_t interval_usec);

/* New limits (a reload); the tokens held are kept, capped at the new burst. */
void ratelimit_set(struct ratelimit *rl, uint32_t burst, uint64_t interval_usec);

/*
 * A bucket handed over from elsewhere (a reader that is given a guest's
 * channel again): it holds tokens (at most burst) at now_usec.
 */
void ratelimit_start(struct ratelimit *rl, uint32_t tokens, uint64_t now_usec);

/* The tokens the bucket holds at now_usec (burst when it limits nothing). */
uint32_t ratelimit_tokens(struct ratelimit *rl, uint64_t now_usec);

/* Take a token at now_usec: true to go ahead, false (counted as suppressed) when empty. */
bool ratelimit_take(struct ratelimit *rl, uint64_t now_usec);

/* How long until a token is back (0: one is there now). */
uint64_t ratelimit_wait_usec(struct ratelimit *rl, uint64_t now_usec);

/* The events refused since the last call, and the count starts over. */
uint64_t ratelimit_take_suppressed(struct ratelimit *rl);

#endif
