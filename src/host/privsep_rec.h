/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_PRIVSEP_REC_H
#define VMRD_HOST_PRIVSEP_REC_H

/*
 * The records between vmrd-host and its guest reader (privsep.h): fixed
 * size, one per SOCK_SEQPACKET datagram, so neither side parses text from
 * the other.  A record names a channel by the parent's slot and the id it
 * gave the channel when it passed it (ids are never reused, so a record
 * for a channel closed since is recognised and dropped).
 *
 *	parent -> child   ADD   a channel descriptor (SCM_RIGHTS) to read
 *	                  DEL   stop reading it and close it
 *	                  PING  answer PONG with this id (the parent's watchdog); its
 *	                        lines_per_wakeup holds for every channel from now on
 *	child -> parent   MSG   one guest line, parsed: a struct proto_msg of a guest verb
 *	                  BAD   one guest line that is not a message: a reason code
 *	                  EOF   the channel ended (err 0) or a read failed (-errno)
 *	                  THROTTLED  the line budget ran out; it is read more slowly
 *	                  PONG  the answer to PING, its id (no slot)
 *
 * The parent checks every record it receives (privsep_rec_check()): size,
 * type, slot, a guest verb, terminated and valid words, a message that
 * would format back.  The child is not trusted either.
 */

#include <stdint.h>

#include "core/proto.h"

enum privsep_rec_type {
	PRIVSEP_ADD = 1,
	PRIVSEP_DEL,
	PRIVSEP_MSG,
	PRIVSEP_BAD,
	PRIVSEP_EOF,
	PRIVSEP_THROTTLED,
	PRIVSEP_PING,
	PRIVSEP_PONG,
};

/* What a BAD record's reason says; the words are those of `error reason=`. */
enum privsep_bad {
	PRIVSEP_BAD_EMPTY,
	PRIVSEP_BAD_TOO_LONG,
	PRIVSEP_BAD_NOT_ASCII,
	PRIVSEP_BAD_SYNTAX,
	PRIVSEP_BAD_VERB,
	PRIVSEP_BAD_MISSING_KEY,
	PRIVSEP_BAD_DUPLICATE_KEY,
	PRIVSEP_BAD_VALUE,
	PRIVSEP_BAD_VERSION,
	PRIVSEP_BAD_UNEXPECTED_VERB,
	PRIVSEP_BAD__MAX,
};

struct privsep_rec {
	uint32_t type;           /* enum privsep_rec_type */
	uint32_t slot;           /* the parent's table index */
	uint64_t id;             /* the channel's id (slot reuse is told apart by it) */
	int32_t err;             /* EOF: 0 or -errno; BAD: enum privsep_bad */
	uint32_t lines_per_wakeup; /* ADD, PING: lines read per turn before other channels' turn */
	uint32_t lines_tokens;   /* ADD: the guest's line budget left (vm_line_tokens()) */
	struct proto_msg msg;    /* MSG */
};

/* enum privsep_bad -> its word; NULL out of range. */
const char *privsep_bad_word(int32_t bad);
/* proto_parse()'s reason word -> enum privsep_bad (unknown words: PRIVSEP_BAD_SYNTAX). */
enum privsep_bad privsep_bad_of(const char *word);

/* A record from the child as the parent may act on it: 0, or -EPROTO. */
int privsep_rec_check(const struct privsep_rec *rec);

#endif
