/* SPDX-License-Identifier: MIT */
#ifndef VMRD_URGENCY_H
#define VMRD_URGENCY_H

/*
 * How urgent a resize is, from the guest's point of view: the one
 * definition the core (policy, protocol, arbiter) uses.  The plugin ABI
 * (include/vmrd/backend.h) and the wire protocol spell the same four
 * levels their own way; the backend layer checks that the values agree.
 */
enum urgency {
	URGENCY_LOW = 0,
	URGENCY_NORMAL = 1,
	URGENCY_HIGH = 2,
	URGENCY_CRITICAL = 3,
	URGENCY__MAX,
};

#endif
