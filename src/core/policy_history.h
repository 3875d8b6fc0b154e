/* SPDX-License-Identifier: MIT */
#ifndef VMRD_POLICY_HISTORY_H
#define VMRD_POLICY_HISTORY_H

/* Internal to the policy: the MemAvailable history in struct policy_state. */

#include <stdint.h>

#include "core/policy.h"

/*
 * Add a sample and drop those older than window_usec (keeping at least the
 * newest).  A clock that went backwards (a restarted trace) voids the history.
 */
void policy_history_push(struct policy_state *st, uint64_t window_usec, uint64_t now_usec,
			 uint64_t mem_available_bytes, uint64_t mem_total_bytes);

/*
 * The velocity of MemAvailable - MemTotal in bytes per second (negative when
 * falling): our own plugs move both and so do not count as the workload
 * freeing memory.  0 with fewer than two samples.
 */
int64_t policy_history_velocity(const struct policy_state *st);

#endif
