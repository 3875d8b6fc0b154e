/* SPDX-License-Identifier: MIT */
#ifndef VMRD_POLICY_HISTORY_H
#define VMRD_POLICY_HISTORY_H

/* Internal to the policy: the short history in struct policy_state. */

#include <stdint.h>

#include "core/policy.h"

/*
 * Add a sample (one value per enum policy_series) and drop those older
 * than window_usec (keeping at least the newest).  A clock that went
 * backwards (a restarted trace) voids the history.
 */
void policy_history_push(struct policy_state *st, uint64_t window_usec, uint64_t now_usec,
			 const int64_t values[POLICY_SERIES__MAX]);

/*
 * The least-squares slope of a series per second (KiB series: bytes per
 * second), limited to the newest interval's slope so that a step that has
 * already happened does not read as a trend.  0 with fewer than two samples.
 */
int64_t policy_history_velocity(const struct policy_state *st, enum policy_series s);

/*
 * The growth of a counter series over the whole window, per second (0 with
 * fewer than two samples or a counter that went backwards).
 */
uint64_t policy_history_rate(const struct policy_state *st, enum policy_series s);

#endif
