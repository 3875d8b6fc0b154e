/* SPDX-License-Identifier: MIT */
#include "core/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"

enum key_type {
	KT_U64,       /* decimal, no leading zeros */
	KT_CENTI,     /* decimal 0..PROTO_CENTI_MAX */
	KT_VERSION,   /* decimal, must equal PROTO_VERSION */
	KT_POW2,      /* decimal, a nonzero power of two */
	KT_URGENCY,   /* low|normal|high|critical */
	KT_WORD,      /* 1..PROTO_WORD_MAX of [A-Za-z0-9._-] */
	KT_AGENT,     /* 1..PROTO_AGENT_MAX of [A-Za-z0-9._-] */
};

struct key_info {
	const char *name;
	enum key_type type;
	size_t offset;
};

#define KEY(k, n, t, f) [k] = { n, t, offsetof(struct proto_msg, f) }

static const struct key_info keys[PROTO_KEY__MAX] = {
	KEY(PROTO_KEY_V, "v", KT_VERSION, version),
	KEY(PROTO_KEY_BLOCK, "block", KT_POW2, block_bytes),
	KEY(PROTO_KEY_CURRENT, "current", KT_U64, current_bytes),
	KEY(PROTO_KEY_AGENT, "agent", KT_AGENT, agent),
	KEY(PROTO_KEY_SEQ, "seq", KT_U64, seq),
	KEY(PROTO_KEY_TARGET, "target", KT_U64, target_bytes),
	KEY(PROTO_KEY_URGENCY, "urgency", KT_URGENCY, urgency),
	KEY(PROTO_KEY_REASON, "reason", KT_WORD, reason),
	KEY(PROTO_KEY_MEM_TOTAL, "mem_total", KT_U64, mem_total_bytes),
	KEY(PROTO_KEY_MEM_AVAILABLE, "mem_available", KT_U64, mem_available_bytes),
	KEY(PROTO_KEY_PSI_SOME_AVG10, "psi_some_avg10", KT_CENTI, psi_some_avg10_centi),
	KEY(PROTO_KEY_PSI_FULL_AVG10, "psi_full_avg10", KT_CENTI, psi_full_avg10_centi),
	KEY(PROTO_KEY_PSI_SOME_AVG60, "psi_some_avg60", KT_CENTI, psi_some_avg60_centi),
	KEY(PROTO_KEY_PSI_FULL_AVG60, "psi_full_avg60", KT_CENTI, psi_full_avg60_centi),
	KEY(PROTO_KEY_SWAP_TOTAL, "swap_total", KT_U64, swap_total_bytes),
	KEY(PROTO_KEY_SWAP_FREE, "swap_free", KT_U64, swap_free_bytes),
	KEY(PROTO_KEY_OOM_KILL, "oom_kill", KT_U64, oom_kill),
	KEY(PROTO_KEY_MIN, "min", KT_U64, min_bytes),
	KEY(PROTO_KEY_MAX, "max", KT_U64, max_bytes),
	KEY(PROTO_KEY_RETRY_AFTER, "retry_after", KT_U64, retry_after_ms),
	KEY(PROTO_KEY_BALLOON, "balloon", KT_U64, balloon_bytes),
};

/*
 * The keys of each verb in the order proto_format() writes them; a key
 * flagged optional may be left out.  A key another verb knows is, for this
 * verb, just an unknown key and ignored: that is what keeps old peers
 * working when a verb gains keys.
 */
#define MAX_VERB_KEYS 10

struct verb_key {
	enum proto_key key;
	bool optional;
};

struct verb_info {
	const char *name;
	struct verb_key keys[MAX_VERB_KEYS];
	size_t n_keys;
};

#define REQ(k) { PROTO_KEY_##k, false }
#define OPT(k) { PROTO_KEY_##k, true }

static const struct verb_info verbs[PROTO_VERB__MAX] = {
	[PROTO_VERB_HELLO] = { "hello", { REQ(V), REQ(BLOCK), REQ(CURRENT), OPT(AGENT) }, 4 },
	[PROTO_VERB_REQUEST] = { "request", { REQ(SEQ), REQ(TARGET), REQ(URGENCY), REQ(REASON) }, 4 },
	[PROTO_VERB_REPORT] = { "report",
		{ REQ(MEM_TOTAL), REQ(MEM_AVAILABLE), REQ(PSI_SOME_AVG10), REQ(PSI_FULL_AVG10),
		  OPT(PSI_SOME_AVG60), OPT(PSI_FULL_AVG60), OPT(SWAP_TOTAL), OPT(SWAP_FREE),
		  OPT(OOM_KILL) }, 9 },
	[PROTO_VERB_DONE] = { "done", { REQ(SEQ), REQ(CURRENT) }, 2 },
	[PROTO_VERB_WELCOME] = { "welcome",
		{ REQ(V), REQ(MIN), REQ(MAX), REQ(CURRENT), REQ(BLOCK), OPT(BALLOON) }, 6 },
	[PROTO_VERB_GRANT] = { "grant", { REQ(SEQ), REQ(TARGET), REQ(CURRENT) }, 3 },
	[PROTO_VERB_DENY] = { "deny", { REQ(SEQ), REQ(REASON), OPT(RETRY_AFTER) }, 3 },
	[PROTO_VERB_RECLAIM] = { "reclaim", { REQ(TARGET), REQ(URGENCY), OPT(REASON) }, 3 },
	[PROTO_VERB_LIMITS] = { "limits", { REQ(MIN), REQ(MAX) }, 2 },
	[PROTO_VERB_ERROR] = { "error", { REQ(REASON) }, 1 },
};

static const char *const urgency_names[URGENCY__MAX] = {
	[URGENCY_LOW] = "low",
	[URGENCY_NORMAL] = "normal",
	[URGENCY_HIGH] = "high",
	[URGENCY_CRITICAL] = "critical",
};

const char *proto_verb_name(enum proto_verb verb)
{
	if (verb <= PROTO_VERB_NONE || verb >= PROTO_VERB__MAX)
		return NULL;
	return verbs[verb].name;
}

bool proto_verb_from_guest(enum proto_verb verb)
{
	return verb == PROTO_VERB_HELLO || verb == PROTO_VERB_REQUEST ||
	       verb == PROTO_VERB_REPORT || verb == PROTO_VERB_DONE;
}

const char *proto_urgency_name(enum urgency urgency)
{
	if ((unsigned)urgency >= URGENCY__MAX)
		return NULL;
	return urgency_names[urgency];
}

int proto_urgency_from_name(const char *s, size_t len, enum urgency *ret)
{
	for (unsigned u = 0; u < URGENCY__MAX; u++)
		if (strlen(urgency_names[u]) == len && memcmp(urgency_names[u], s, len) == 0) {
			*ret = (enum urgency)u;
			return 0;
		}
	return -EINVAL;
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool word_valid_n(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!word_char(s[i]))
			return false;
	return true;
}

bool proto_word_valid(const char *s, size_t max)
{
	return word_valid_n(s, strnlen(s, max + 1), max);
}

/* Field accessors through the key table. */
static uint64_t *field_u64(struct proto_msg *m, enum proto_key k)
{
	return (uint64_t *)((char *)m + keys[k].offset);
}

static uint64_t get_num(const struct proto_msg *m, enum proto_key k)
{
	const char *p = (const char *)m + keys[k].offset;

	switch (keys[k].type) {
	case KT_CENTI:
	case KT_VERSION:
		return *(const uint32_t *)p;
	case KT_URGENCY:
		return (uint64_t)*(const enum urgency *)p;
	default:
		return *(const uint64_t *)p;
	}
}

/* Decimal, strict, and canonical: "0" or no leading zero, so each value has one spelling. */
static int parse_num(const char *s, size_t len, uint64_t *ret)
{
	if (len > 1 && s[0] == '0')
		return -EINVAL;
	return parse_u64_n(s, len, ret);
}

/* Parse one value of key k into m; returns NULL or the reason WORD. */
static const char *parse_value(struct proto_msg *m, enum proto_key k, const char *v, size_t len)
{
	char *p = (char *)m + keys[k].offset;
	uint64_t n = 0;

	switch (keys[k].type) {
	case KT_URGENCY:
		if (proto_urgency_from_name(v, len, (enum urgency *)p) < 0)
			return "bad_value";
		return NULL;
	case KT_WORD:
	case KT_AGENT:
		if (!word_valid_n(v, len, keys[k].type == KT_WORD ? PROTO_WORD_MAX : PROTO_AGENT_MAX))
			return "bad_value";
		memcpy(p, v, len);
		p[len] = '\0';
		return NULL;
	default:
		break;
	}
	if (parse_num(v, len, &n) < 0)
		return keys[k].type == KT_VERSION ? "bad_version" : "bad_value";
	switch (keys[k].type) {
	case KT_VERSION:
		if (n != PROTO_VERSION)
			return "bad_version";
		*(uint32_t *)p = (uint32_t)n;
		break;
	case KT_CENTI:
		if (n > PROTO_CENTI_MAX)
			return "bad_value";
		*(uint32_t *)p = (uint32_t)n;
		break;
	case KT_POW2:
		if (n == 0 || (n & (n - 1)) != 0)
			return "bad_value";
		*field_u64(m, k) = n;
		break;
	default:
		*field_u64(m, k) = n;
		break;
	}
	return NULL;
}

/* Relations between fields of one message. */
static bool cross_valid(const struct proto_msg *m)
{
	uint32_t swap = PROTO_HAS(PROTO_KEY_SWAP_TOTAL) | PROTO_HAS(PROTO_KEY_SWAP_FREE);

	switch (m->verb) {
	case PROTO_VERB_WELCOME:
	case PROTO_VERB_LIMITS:
		return m->min_bytes <= m->max_bytes;
	case PROTO_VERB_REPORT:
		if (m->mem_available_bytes > m->mem_total_bytes)
			return false;
		if ((m->present & swap) == swap && m->swap_free_bytes > m->swap_total_bytes)
			return false;
		return true;
	default:
		return true;
	}
}

static const struct verb_key *verb_find_key(const struct verb_info *vi, const char *k, size_t len)
{
	for (size_t i = 0; i < vi->n_keys; i++) {
		const char *name = keys[vi->keys[i].key].name;

		if (strlen(name) == len && memcmp(name, k, len) == 0)
			return &vi->keys[i];
	}
	return NULL;
}

static bool key_syntax_valid(const char *k, size_t len)
{
	if (len == 0 || k[0] < 'a' || k[0] > 'z')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

static enum proto_verb verb_lookup(const char *s, size_t len)
{
	for (int v = PROTO_VERB_NONE + 1; v < PROTO_VERB__MAX; v++)
		if (strlen(verbs[v].name) == len && memcmp(verbs[v].name, s, len) == 0)
			return (enum proto_verb)v;
	return PROTO_VERB_NONE;
}

/* Strip the terminator and check the bytes; returns NULL or the reason. */
static const char *line_check(const char *s, size_t *len)
{
	size_t n = *len;

	if (n > PROTO_LINE_MAX)
		return "too_long";
	if (n > 0 && s[n - 1] == '\n')
		n--;
	else if (n > PROTO_LINE_MAX - 1)
		return "too_long"; /* no room left for its "\n" */
	if (n > 0 && s[n - 1] == '\r')
		n--;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return "not_ascii";
	if (n == 0)
		return "empty";
	*len = n;
	return NULL;
}

static const char *parse_pairs(struct proto_msg *m, const struct verb_info *vi, const char *p,
			       const char *end)
{
	while (p < end) {
		const char *tok = ++p; /* past the separating space */
		const char *sp = memchr(tok, ' ', (size_t)(end - tok));
		const char *tend = sp ? sp : end;
		const char *eq = memchr(tok, '=', (size_t)(tend - tok));
		const struct verb_key *vk;
		const char *reason;

		if (!eq || !key_syntax_valid(tok, (size_t)(eq - tok)))
			return "bad_syntax";
		p = tend;
		vk = verb_find_key(vi, tok, (size_t)(eq - tok));
		if (!vk)
			continue; /* unknown to this verb: ignored */
		if (m->present & PROTO_HAS(vk->key))
			return "duplicate_key";
		reason = parse_value(m, vk->key, eq + 1, (size_t)(tend - eq - 1));
		if (reason)
			return reason;
		m->present |= PROTO_HAS(vk->key);
	}
	return NULL;
}

int proto_parse(const char *s, size_t len, struct proto_msg *ret, const char **ret_reason)
{
	struct proto_msg m;
	const struct verb_info *vi;
	const char *reason, *sp, *end;
	int r = -EINVAL;

	memset(&m, 0, sizeof(m));
	reason = line_check(s, &len);
	if (reason) {
		if (strcmp(reason, "too_long") == 0)
			r = -EMSGSIZE;
		goto out;
	}
	end = s + len;
	sp = memchr(s, ' ', len);
	m.verb = verb_lookup(s, sp ? (size_t)(sp - s) : len);
	if (m.verb == PROTO_VERB_NONE) {
		reason = sp == s ? "bad_syntax" : "bad_verb";
		goto out;
	}
	vi = &verbs[m.verb];
	reason = parse_pairs(&m, vi, sp ? sp : end, end);
	if (reason)
		goto out;
	for (size_t i = 0; i < vi->n_keys; i++)
		if (!vi->keys[i].optional && !(m.present & PROTO_HAS(vi->keys[i].key))) {
			reason = "missing_key";
			goto out;
		}
	if (!cross_valid(&m)) {
		reason = "bad_value";
		goto out;
	}
	*ret = m;
	return 0;
out:
	if (ret_reason)
		*ret_reason = reason;
	return r;
}

/* Would this value parse back to itself? */
static bool value_valid(const struct proto_msg *m, enum proto_key k)
{
	const char *p = (const char *)m + keys[k].offset;
	uint64_t n = get_num(m, k);

	switch (keys[k].type) {
	case KT_VERSION:
		return n == PROTO_VERSION;
	case KT_CENTI:
		return n <= PROTO_CENTI_MAX;
	case KT_POW2:
		return n != 0 && (n & (n - 1)) == 0;
	case KT_URGENCY:
		return n < URGENCY__MAX;
	case KT_WORD:
		return proto_word_valid(p, PROTO_WORD_MAX);
	case KT_AGENT:
		return proto_word_valid(p, PROTO_AGENT_MAX);
	default:
		return true;
	}
}

static int append_value(const struct proto_msg *m, enum proto_key k, char *buf, size_t size)
{
	const char *p = (const char *)m + keys[k].offset;

	switch (keys[k].type) {
	case KT_WORD:
	case KT_AGENT:
		return snprintf(buf, size, " %s=%s", keys[k].name, p);
	case KT_URGENCY:
		return snprintf(buf, size, " %s=%s", keys[k].name,
				proto_urgency_name(*(const enum urgency *)p));
	default:
		return snprintf(buf, size, " %s=%" PRIu64, keys[k].name, get_num(m, k));
	}
}

int proto_format(const struct proto_msg *msg, char *buf, size_t size)
{
	const struct verb_info *vi;
	size_t n;
	int r;

	if (!proto_verb_name(msg->verb) || !cross_valid(msg))
		return -EINVAL;
	vi = &verbs[msg->verb];
	for (size_t i = 0; i < vi->n_keys; i++) {
		enum proto_key k = vi->keys[i].key;

		if (vi->keys[i].optional && !(msg->present & PROTO_HAS(k)))
			continue;
		if (!value_valid(msg, k))
			return -EINVAL;
	}
	/* The wire limit applies to what we send too, whatever buf allows. */
	if (size > PROTO_LINE_MAX + 1)
		size = PROTO_LINE_MAX + 1;
	r = snprintf(buf, size, "%s", vi->name);
	if (r < 0 || (size_t)r >= size)
		return -ENOSPC;
	n = (size_t)r;
	for (size_t i = 0; i < vi->n_keys; i++) {
		enum proto_key k = vi->keys[i].key;

		if (vi->keys[i].optional && !(msg->present & PROTO_HAS(k)))
			continue;
		r = append_value(msg, k, buf + n, size - n);
		if (r < 0 || (size_t)r >= size - n)
			return -ENOSPC;
		n += (size_t)r;
	}
	if (n + 2 > size)
		return -ENOSPC;
	buf[n++] = '\n';
	buf[n] = '\0';
	return (int)n;
}

bool proto_msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->verb != b->verb || a->present != b->present)
		return false;
	for (int k = 0; k < PROTO_KEY__MAX; k++) {
		const char *pa = (const char *)a + keys[k].offset;
		const char *pb = (const char *)b + keys[k].offset;

		if (!(a->present & PROTO_HAS(k)))
			continue;
		if (keys[k].type == KT_WORD || keys[k].type == KT_AGENT) {
			if (strcmp(pa, pb) != 0)
				return false;
		} else if (get_num(a, (enum proto_key)k) != get_num(b, (enum proto_key)k)) {
			return false;
		}
	}
	return true;
}

void proto_reader_init(struct proto_reader *r, char *buf, size_t size)
{
	r->buf = buf;
	r->size = size;
	r->limit = size < PROTO_LINE_MAX ? size : PROTO_LINE_MAX;
	r->start = 0;
	r->len = 0;
	r->discarding = false;
}

size_t proto_reader_feed(struct proto_reader *r, const char *data, size_t n)
{
	size_t taken = 0;

	while (taken < n) {
		size_t space, k;

		if (r->discarding) {
			/* Drop the rest of an over-long line without storing it. */
			const char *nl = memchr(data + taken, '\n', n - taken);

			if (!nl)
				return n;
			taken = (size_t)(nl - data) + 1;
			r->discarding = false;
			continue;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->len - r->start);
			r->len -= r->start;
			r->start = 0;
		}
		space = r->size - r->len;
		if (space == 0)
			break;
		k = n - taken < space ? n - taken : space;
		memcpy(r->buf + r->len, data + taken, k);
		r->len += k;
		taken += k;
		/*
		 * Stop once the buffer holds a line the caller has not seen:
		 * anything after it may be an over-long line that feed must
		 * discard rather than store, and only next() knows.
		 */
		if (r->len >= r->limit || memchr(r->buf + r->len - k, '\n', k))
			break;
	}
	return taken;
}

int proto_reader_next(struct proto_reader *r, const char **ret_line, size_t *ret_len)
{
	size_t pending = r->len - r->start;
	const char *p = r->buf + r->start;
	const char *nl = memchr(p, '\n', pending);
	size_t linelen;

	if (!nl) {
		if (pending < r->limit)
			return 0;
		/* limit bytes and no "\n" yet: too long whatever follows. */
		r->start = r->len = 0;
		r->discarding = true;
		return -EMSGSIZE;
	}
	linelen = (size_t)(nl - p);
	r->start += linelen + 1;
	if (linelen + 1 > r->limit)
		return -EMSGSIZE;
	*ret_line = p;
	*ret_len = linelen;
	return 1;
}
