/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_CTL_H
#define VMRD_HOST_CTL_H

/*
 * The control socket of vmrd-host (default /run/vmrd-host/control.sock,
 * served with common/ctlsrv).  Protocol: a client connects, writes ONE
 * command line ending in "\n" (at most 127 bytes), and reads the answer
 * until the server closes the connection.  Commands:
 *
 *   status        a human-readable table, one line per VM (format may change)
 *   status json   one JSON object, described below; STABLE: keys are only
 *                 ever added, never renamed or removed, and keep their order
 *   metrics       Prometheus text exposition format 0.0.4
 *
 * Anything else is answered with "error: unknown command\n".
 *
 * status json, version 1 (all sizes in bytes, PSI in hundredths of a percent):
 *   { "version": 1, "dry_run": bool, "uptime_usec": N,
 *     "budget_bytes": N, "budget_auto": bool, "reserve_bytes": N,
 *     "sum_target_bytes": N, "free_bytes": N, "host_pressure": bool,
 *     "host_psi_some_avg10_centi": N, "host_psi_full_avg10_centi": N,
 *     "host_available_bytes": N, "evaluations": N, "reloads": N,
 *     "vms": [ { "name": S,
 *                "qmp": "down"|"greeting"|"negotiating"|"ready",
 *                "qmp_connects": N, "qmp_error": S ("" if none),
 *                "reconciled": bool, "channel": bool, "hello": bool, "agent": S,
 *                "current_bytes": N, "target_bytes": N, "requested_bytes": N,
 *                "granted_bytes": N, "min_bytes": N, "max_bytes": N, "weight": N,
 *                "boot_bytes": N, "virtio_mem_requested_bytes": N,
 *                "balloon_target_bytes": N,
 *                "psi_some_avg10_centi": N, "psi_full_avg10_centi": N,
 *                "mem_available_bytes": N, "non_converging": bool,
 *                "last_reason": S, "grants": N, "denies": N, "reclaims": N,
 *                "lines": N, "errors": N, "kicks": N } ... ] }
 * "current_bytes" is what QEMU reports (boot + virtio-mem plugged - balloon)
 * once "reconciled", and the accounted size before.
 */

#include <stddef.h>

struct broker;
struct strbuf;

/* The ctlsrv handler: writes the answer to cmd into out; -EINVAL for an unknown command. */
int ctl_handle(void *broker, const char *cmd, struct strbuf *out);

void ctl_status_text(const struct broker *b, struct strbuf *out);
int ctl_status_json(const struct broker *b, struct strbuf *out);
void ctl_metrics(const struct broker *b, struct strbuf *out);

#endif
