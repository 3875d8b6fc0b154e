/* SPDX-License-Identifier: MIT */
#ifndef VMRD_SDNOTIFY_H
#define VMRD_SDNOTIFY_H

#include <stdint.h>

/*
 * The systemd notification protocol without libsystemd: one datagram to
 * $NOTIFY_SOCKET.  Both are no-ops (returning 0) when not run by systemd.
 */
int sdnotify(const char *state);
/* The watchdog period systemd asked for ($WATCHDOG_USEC), or 0. */
uint64_t sdnotify_watchdog_usec(void);

#endif
