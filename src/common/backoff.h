/* SPDX-License-Identifier: MIT */
#ifndef VMRD_BACKOFF_H
#define VMRD_BACKOFF_H

/*
 * Exponential backoff, the one every retry in vmrd uses (reconnecting a
 * guest channel, a QMP socket or the host link, reopening a backend, the
 * policy's pause after a failed request).  Pure and libc-only, so the core
 * may use it: no clock inside, time is passed in.
 *
 * The n-th consecutive failure waits min_usec << (n - 1), at most max_usec.
 * Only backoff_succeeded() starts over from min_usec, and only the caller
 * knows what counts as success: a connection that is accepted and then
 * dropped at once is not one, so "connected" need not reset the delay
 * while "a command was answered" may.
 */

#include <stdbool.h>
#include <stdint.h>

struct backoff {
	uint64_t min_usec;      /* the first delay */
	uint64_t max_usec;      /* the longest delay */
	uint32_t failures;      /* consecutive failures since the last success */
	uint64_t retry_at_usec; /* while failures > 0: no new attempt before this */
};

/* Limits and no failures yet.  max_usec below min_usec is taken as min_usec. */
void backoff_init(struct backoff *b, uint64_t min_usec, uint64_t max_usec);

/* New limits (a configuration reload); the failure count is kept. */
void backoff_set_limits(struct backoff *b, uint64_t min_usec, uint64_t max_usec);

/* The delay the next failure will set, without counting one. */
uint64_t backoff_next_usec(const struct backoff *b);

/* Count a failure at now_usec: sets retry_at_usec and returns the delay. */
uint64_t backoff_failed(struct backoff *b, uint64_t now_usec);

/* The attempt succeeded: the next failure waits min_usec again. */
void backoff_succeeded(struct backoff *b);

/* True while a retry must still wait (there were failures and retry_at is ahead). */
bool backoff_waiting(const struct backoff *b, uint64_t now_usec);

#endif
