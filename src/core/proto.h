/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PROTO_H
#define VMRD_PROTO_H

/*
 * The guest<->host wire protocol (docs/protocol.md is the normative text):
 * one ASCII message per line, a verb followed by space-separated key=value
 * pairs, at most PROTO_LINE_MAX bytes including the final "\n".
 *
 * This module is pure: it classifies and converts bytes and structs, it
 * never reads, writes, allocates or logs.  The host parses untrusted guest
 * bytes with it, so every path is bounded and every number strict.
 *
 * Sizes are bytes and always the VM's total memory as the host accounts it
 * (boot memory + virtio-mem plugged - balloon); PSI values are hundredths
 * of a percent ("centi").
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/urgency.h"

#define PROTO_VERSION 1
/* Longest line on the wire, including the terminating "\n". */
#define PROTO_LINE_MAX 1024
/* Longest reason= word; fits struct vmrd_backend_event.reason with its NUL. */
#define PROTO_WORD_MAX 31
/* Longest agent= word. */
#define PROTO_AGENT_MAX 63
/* Largest PSI value: 100.00 %. */
#define PROTO_CENTI_MAX 10000

enum proto_verb {
	PROTO_VERB_NONE = 0,
	/* guest -> host */
	PROTO_VERB_HELLO,
	PROTO_VERB_REQUEST,
	PROTO_VERB_REPORT,
	PROTO_VERB_DONE,
	/* host -> guest */
	PROTO_VERB_WELCOME,
	PROTO_VERB_GRANT,
	PROTO_VERB_DENY,
	PROTO_VERB_RECLAIM,
	PROTO_VERB_LIMITS,
	PROTO_VERB_ERROR,
	PROTO_VERB__MAX,
};

/* Every key the codec knows; bit k of proto_msg.present says key k was given. */
enum proto_key {
	PROTO_KEY_V = 0,
	PROTO_KEY_BLOCK,
	PROTO_KEY_CURRENT,
	PROTO_KEY_AGENT,
	PROTO_KEY_SEQ,
	PROTO_KEY_TARGET,
	PROTO_KEY_URGENCY,
	PROTO_KEY_REASON,
	PROTO_KEY_MEM_TOTAL,
	PROTO_KEY_MEM_AVAILABLE,
	PROTO_KEY_PSI_SOME_AVG10,
	PROTO_KEY_PSI_FULL_AVG10,
	PROTO_KEY_PSI_SOME_AVG60,
	PROTO_KEY_PSI_FULL_AVG60,
	PROTO_KEY_SWAP_TOTAL,
	PROTO_KEY_SWAP_FREE,
	PROTO_KEY_OOM_KILL,
	PROTO_KEY_MIN,
	PROTO_KEY_MAX,
	PROTO_KEY_RETRY_AFTER,
	PROTO_KEY_BALLOON,
	PROTO_KEY__MAX,
};

#define PROTO_HAS(key) (UINT32_C(1) << (key))

/*
 * One message.  Only the fields of the verb's keys mean anything; the rest
 * are zero after proto_parse().  proto_format() writes the required keys of
 * the verb and those optional keys whose bit is set in present.
 */
struct proto_msg {
	enum proto_verb verb;
	uint32_t present;               /* PROTO_HAS(PROTO_KEY_*) bits */

	uint32_t version;               /* v= */
	uint64_t seq;                   /* seq= */
	uint64_t block_bytes;           /* block= (a power of two) */
	uint64_t current_bytes;         /* current= */
	uint64_t target_bytes;          /* target= */
	uint64_t min_bytes;             /* min= */
	uint64_t max_bytes;             /* max= */
	enum urgency urgency;           /* urgency= */
	uint64_t retry_after_ms;        /* retry_after= (deny): ask again no sooner */
	uint64_t balloon_bytes;         /* balloon= (welcome): sizes up to it come from the balloon */

	/* report */
	uint64_t mem_total_bytes;
	uint64_t mem_available_bytes;
	uint32_t psi_some_avg10_centi;
	uint32_t psi_full_avg10_centi;
	uint32_t psi_some_avg60_centi;
	uint32_t psi_full_avg60_centi;
	uint64_t swap_total_bytes;
	uint64_t swap_free_bytes;
	uint64_t oom_kill;              /* cumulative count, as in /proc/vmstat */

	char agent[PROTO_AGENT_MAX + 1]; /* NUL-terminated, [A-Za-z0-9._-] */
	char reason[PROTO_WORD_MAX + 1]; /* NUL-terminated, [A-Za-z0-9._-] */
};

/*
 * Parse one line: s[0..len) may end in "\n" or "\r\n" (both stripped) or
 * carry no terminator at all.  Returns 0 and fills *ret; or a negative errno
 * (-EMSGSIZE for "too_long", -EINVAL for everything else) and sets
 * *ret_reason to the static WORD the host answers with in `error reason=`:
 * "empty", "too_long", "not_ascii", "bad_syntax", "bad_verb", "missing_key",
 * "duplicate_key", "bad_value", "bad_version".  Keys the verb does not know
 * are ignored.  ret_reason may be NULL.
 */
int proto_parse(const char *s, size_t len, struct proto_msg *ret, const char **ret_reason);

/*
 * Write msg as one line with its "\n" and a terminating NUL into buf.
 * Returns the line length (without the NUL), -ENOSPC if it does not fit,
 * or -EINVAL if msg would not parse back (missing required field, value
 * out of range, bad word).
 */
int proto_format(const struct proto_msg *msg, char *buf, size_t size);

/* True for the verbs a guest may send (hello, request, report, done). */
bool proto_verb_from_guest(enum proto_verb verb);

/* The wire words; NULL for values out of range. */
const char *proto_verb_name(enum proto_verb verb);
const char *proto_urgency_name(enum urgency urgency);
/* -EINVAL if s[0..len) is not an urgency word. */
int proto_urgency_from_name(const char *s, size_t len, enum urgency *ret);

/* True if s is 1..max bytes of [A-Za-z0-9._-]: what reason= and agent= accept. */
bool proto_word_valid(const char *s, size_t max);

/* Field-by-field equality of two messages (verb, present bits and the fields they cover). */
bool proto_msg_equal(const struct proto_msg *a, const struct proto_msg *b);

/*
 * A line framer over a caller-provided buffer of fixed size: feed it bytes
 * as they arrive, take complete lines out.  Memory is bounded: the buffer
 * never grows.  A line longer than min(size, PROTO_LINE_MAX) bytes
 * (terminator included) is discarded up to its "\n" and reported once.
 *
 *	off = 0;
 *	while (off < n) {
 *		off += proto_reader_feed(&r, data + off, n - off);
 *		while ((k = proto_reader_next(&r, &line, &len)) != 0)
 *			k > 0 ? handle(line, len) : reply_error("too_long");
 *	}
 */
struct proto_reader {
	char *buf;
	size_t size;       /* of buf */
	size_t limit;      /* longest line, "\n" included */
	size_t start;      /* first byte not yet returned */
	size_t len;        /* bytes held in buf */
	bool discarding;   /* inside an over-long line: drop up to "\n" */
};

void proto_reader_init(struct proto_reader *r, char *buf, size_t size);

/* Take up to n bytes; returns how many were taken (0 only when the buffer
 * is full of complete lines: take them with proto_reader_next() first). */
size_t proto_reader_feed(struct proto_reader *r, const char *data, size_t n);

/*
 * The next complete line: returns 1 and points *ret_line and *ret_len at it
 * (without its "\n"; valid until the next feed), 0 if no complete line is
 * held, or -EMSGSIZE once per over-long line (reason "too_long").
 */
int proto_reader_next(struct proto_reader *r, const char **ret_line, size_t *ret_len);

#endif
