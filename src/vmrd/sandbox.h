/* SPDX-License-Identifier: MIT */
#ifndef VMRD_SANDBOX_H
#define VMRD_SANDBOX_H

/*
 * What vmrd gives up once it has started (issue 10): the guest daemon runs
 * as root and talks to an untrusted peer only through the host link, but a
 * bug in it should not be worth more than the writes it exists to make.
 *
 * sandbox_plan() decides, from the configuration alone (pure):
 *  1. [security] sandbox = no: nothing is dropped.
 *  2. Backend exec: no_new_privs only.  Its commands are the operator's
 *     programs, started by vmrd and inheriting its capabilities and filter;
 *     they may need any privilege and any system call.
 *  3. Otherwise all three steps below, keeping CAP_IPC_LOCK when [vmrd]
 *     mlock is on (with MCL_FUTURE every later mapping counts against
 *     RLIMIT_MEMLOCK without it).
 *
 * sandbox_enter() then takes the steps, in order:
 *  1. PR_SET_NO_NEW_PRIVS: nothing vmrd starts gains privileges.
 *  2. Capabilities: every one not kept leaves the bounding, ambient,
 *     inheritable, permitted and effective sets.  Root writes the memory
 *     blocks' state, auto_online_blocks and memory.reclaim as their owner:
 *     the kernel checks no capability there (CAP_SYS_ADMIN is not needed).
 *     A set that already holds nothing more (systemd's
 *     CapabilityBoundingSet=) is left alone, so capset() is not even called.
 *     One that cannot be dropped (no CAP_SETPCAP for the bounding set, or
 *     capset() refused by the service manager's filter) is reported in the
 *     result, and step 3 is taken all the same.
 *  3. A seccomp allow-list (sandbox.c, by purpose): file and socket I/O,
 *     memory, threads, the event loop, AF_UNIX/AF_VSOCK sockets, terminal
 *     ioctls for a pty standing in for the port.  Anything else fails with
 *     EPERM and the kernel logs it (SECCOMP_FILTER_FLAG_LOG): vmrd's error
 *     paths then log and retry as for any failed call, where a kill would
 *     leave the guest without elastic memory for a missing entry; an
 *     attacker gets EPERM all the same.  The filter covers every thread
 *     (TSYNC): the trimmer and backend workers already run.
 *
 * Neither logs: the daemon says once what was done, with the numbers.
 */

#include <stdbool.h>
#include <stdint.h>

#define SANDBOX_CAP(c) (UINT64_C(1) << (c))

struct sandbox_plan {
	bool no_new_privs;
	bool drop_caps;
	bool seccomp;
	uint64_t keep_caps;   /* SANDBOX_CAP() bits */
	const char *why;      /* why less than everything, or NULL */
};

struct sandbox_result {
	uint64_t caps_before; /* permitted set before step 2 */
	uint64_t caps_after;  /* permitted set after it (caps_before when capset failed) */
	int caps_err;         /* -errno of a capability that could not be dropped, else 0; the
			       * later steps are taken all the same */
	unsigned syscalls;    /* system calls the filter allows (this architecture) */
};

void sandbox_plan(bool enabled, const char *backend, bool mlock, struct sandbox_plan *ret);

/* Returns 0 or the negative errno of the first step that failed (later steps are not taken). */
int sandbox_enter(const struct sandbox_plan *plan, struct sandbox_result *ret);

#endif
