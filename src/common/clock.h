/* SPDX-License-Identifier: MIT */
#ifndef VMRD_CLOCK_H
#define VMRD_CLOCK_H

#include <stdint.h>

/*
 * Microseconds of CLOCK_MONOTONIC: the one clock the adapters read and
 * hand to the pure core as now_usec.
 */
uint64_t clock_now_usec(void);

#endif
