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
 *   why [VM]      the last decisions per VM (of VM only), oldest first, each
 *                 with its reason and numbers (format may change)
 *   why json [VM] the same as a JSON array, described below; STABLE as status json
 *
 * Anything else is answered with "error: unknown command\n".  Every error
 * answer starts with "error: "; the bounds of the socket itself (clients,
 * idle time, command length, NUL bytes, answer size) are ctlsrv.h's.
 *
 * status json, version 1 (all sizes in bytes, PSI in hundredths of a percent):
 *   { "version": 1, "dry_run": bool, "uptime_usec": N,
 *     "budget_bytes": N, "budget_auto": bool, "reserve_bytes": N,
 *     "sum_target_bytes": N, "free_bytes": N, "host_pressure": bool,
 *     "host_psi_some_avg10_centi": N, "host_psi_full_avg10_centi": N,
 *     "host_available_bytes": N, "evaluations": N, "reloads": N,
 *     (added in issue 9:) "budget_source": "auto"|"fixed"|"cgroup:/PATH",
 *     "budget_mode": "strict"|"overcommit", "size_budget_bytes": N,
 *     "charged_bytes": N, "sum_rss_bytes": N,
 *     (added in issue 10, with the sandboxed reader:) "guest_reader":
 *     { "pid": N (-1: being restarted), "restarts": N, "bad_records": N },
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
 *                "lines": N, "errors": N, "kicks": N,
 *                (added in issue 9:) "applied_bytes": N, "rss_bytes": N,
 *                "overhead_bytes": N, "accounted_bytes": N,
 *                "entitlement_bytes": N, "reclaim_bytes": N, "reclaim_reason": S,
 *                (added in issue 10:) "hypervisor_commands": N, "throttled": N,
 *                (added in issue 12:) "gave_up_virtio_mem_bytes": N,
 *                "got_back_virtio_mem_bytes": N, "gave_up_balloon_bytes": N,
 *                "got_back_balloon_bytes": N } ... ] }
 * "current_bytes" is what QEMU reports (boot + virtio-mem plugged - balloon)
 * once "reconciled", and the accounted size before.  "applied_bytes" is the
 * target QEMU confirmed; "rss_bytes" what the QEMU process holds (0: not
 * measured) and "overhead_bytes" the part of it beyond the guest, as the
 * budget counts it; "accounted_bytes" max(target, applied, current);
 * "entitlement_bytes" the VM's weighted share of the size budget;
 * "reclaim_bytes"/"reclaim_reason" the last reclaim ask ("" if none).
 * "size_budget_bytes" is what the budget leaves for guest sizes after the
 * QEMUs' own memory; "charged_bytes" what the VMs cost the budget now.
 * "hypervisor_commands" counts the commands sent to the VM's hypervisor
 * (queries and resizes); "throttled" how often the guest ran out of its
 * line budget and was read more slowly.  "gave_up_*_bytes" is what the
 * guest gave up through virtio-mem or the balloon since vmrd-host started,
 * "got_back_*_bytes" the fall of QEMU's RSS the host observed for it
 * (host/footprint.h; it follows about 10 s after the give-back).
 *
 * why json: [ { "vm": S, "age_usec": N, "action": "grant"|"deny"|"reclaim"|"set",
 *               "reason": S, "seq": N, "target_bytes": N, "applied": bool,
 *               "current_bytes": N, "asked_bytes": N, "fair_bytes": N,
 *               "surplus_bytes": N, "retry_after_usec": N, "pressured": bool,
 *               "non_converging": bool } ... ], per VM oldest first.  A VM
 * name that matches no VM is answered with "error: no VM named NAME".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* The host-wide figures, as the owner fills them. */
struct ctl_host {
	bool dry_run;
	uint64_t uptime_usec;
	uint64_t budget_bytes;
	bool budget_auto;
	uint64_t reserve_bytes;
	uint64_t sum_target_bytes;
	uint64_t free_bytes;
	bool host_pressure;
	uint32_t host_psi_some_centi;
	uint32_t host_psi_full_centi;
	uint64_t host_available_bytes;
	uint64_t evaluations;
	uint64_t reloads;
	const char *budget_source;   /* "auto", "fixed" or "cgroup:/PATH" */
	const char *budget_mode;     /* "strict" or "overcommit" */
	uint64_t size_budget_bytes;
	uint64_t charged_bytes;
	uint64_t sum_rss_bytes;
	bool reader;                 /* guest lines are read in a child process: */
	int reader_pid;              /*   its pid (-1: being restarted) */
	uint64_t reader_restarts;
	uint64_t reader_bad_records;
};

/* One VM's row; the strings are the owner's and live as long as the call. */
struct ctl_vm {
	bool hidden;               /* a slot not shown (a VM being removed) */
	const char *name;
	const char *link;          /* the hypervisor link: down, greeting, negotiating, ready */
	unsigned link_connects;
	const char *link_error;    /* the last failed command's class, "" if none */
	bool reconciled;
	bool channel;
	bool hello;
	const char *agent;
	uint64_t current_bytes;    /* the hypervisor's figure once reconciled, the accounted one before */
	uint64_t target_bytes;
	uint64_t requested_bytes;
	uint64_t granted_bytes;
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint32_t weight;
	uint64_t boot_bytes;
	uint64_t vmem_requested_bytes;
	uint64_t balloon_target_bytes;
	bool report_valid;
	uint32_t psi_some_centi;
	uint32_t psi_full_centi;
	uint64_t mem_available_bytes;
	bool non_converging;
	const char *last_reason;
	uint64_t grants;
	uint64_t denies;
	uint64_t reclaims;
	uint64_t lines;
	uint64_t errors;
	uint64_t kicks;
	uint64_t applied_bytes;    /* the target QEMU confirmed */
	uint64_t rss_bytes;        /* what QEMU holds (0: not measured) */
	uint64_t overhead_bytes;   /* ...beyond the guest, as the budget counts it */
	uint64_t accounted_bytes;  /* max(target, applied, current) */
	uint64_t entitlement_bytes;
	uint64_t reclaim_bytes;    /* the last reclaim ask (0: none) */
	const char *reclaim_reason;
	uint64_t commands;         /* sent to the hypervisor */
	uint64_t throttled;        /* times the guest's line budget ran out */
	/* Given up through a mechanism, and the fall of QEMU's RSS the host saw for it. */
	uint64_t vmem_gave_up_bytes;
	uint64_t vmem_got_back_bytes;
	uint64_t balloon_gave_up_bytes;
	uint64_t balloon_got_back_bytes;
};

/* One of a VM's recent decisions; the strings are the owner's and live as long as the call. */
struct ctl_decision {
	uint64_t age_usec;
	const char *action;        /* grant, deny, reclaim, or set: a target set with no message */
	const char *reason;
	uint64_t seq;              /* grant, deny: the request answered */
	uint64_t target_bytes;     /* grant, reclaim, set: the size granted, asked for or set */
	bool applied;              /* the target went to the hypervisor */
	uint64_t current_bytes;
	uint64_t asked_bytes;      /* the request after clamping (0: none) */
	uint64_t fair_bytes;       /* the VM's weighted fair share then */
	uint64_t surplus_bytes;
	uint64_t retry_after_usec; /* deny: when the hold ends (0: not by itself) */
	bool pressured;
	bool non_converging;
};

/* Where the figures come from: ctl knows nothing of the broker. */
struct ctl_source {
	void *ctx;
	void (*host)(void *ctx, struct ctl_host *ret);
	/* Row i (from 0): fills *ret and returns true, or false past the last. */
	bool (*vm)(void *ctx, size_t i, struct ctl_vm *ret);
	/* Row i's decision k (from 0, the oldest kept): fills *ret and returns true, or false past the last. */
	bool (*decision)(void *ctx, size_t i, size_t k, struct ctl_decision *ret);
};

/* The ctlsrv handler (ctx: a struct ctl_source): the answer to cmd; -EINVAL for an unknown command. */
int ctl_handle(void *source, const char *cmd, struct strbuf *out);

void ctl_status_text(const struct ctl_source *src, struct strbuf *out);
int ctl_status_json(const struct ctl_source *src, struct strbuf *out);
void ctl_metrics(const struct ctl_source *src, struct strbuf *out);
/* vm NULL: every VM. */
void ctl_why_text(const struct ctl_source *src, const char *vm, struct strbuf *out);
int ctl_why_json(const struct ctl_source *src, const char *vm, struct strbuf *out);

#endif
