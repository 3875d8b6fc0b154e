/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/proto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct proto_msg parse_ok(const char *line)
{
	struct proto_msg m;
	const char *reason = NULL;
	int r = proto_parse(line, strlen(line), &m, &reason);

	if (r != 0)
		fail_msg("\"%s\": %d %s", line, r, reason);
	return m;
}

/* Every verb, with all its keys: parse, check fields, format back to the same text. */
static void test_every_verb_round_trips_to_identical_text(void **state)
{
	static const char *const lines[] = {
		"hello v=1 block=134217728 current=2147483648 agent=vmrd-0.1.0\n",
		"hello v=1 block=134217728 current=2147483648\n",
		"request seq=18446744073709551615 target=4294967296 urgency=critical reason=psi_full\n",
		"request seq=0 target=0 urgency=low reason=surplus\n",
		"report mem_total=4294967296 mem_available=1073741824 psi_some_avg10=1234 "
		"psi_full_avg10=10000 psi_some_avg60=5 psi_full_avg60=0 swap_total=0 swap_free=0 "
		"oom_kill=3\n",
		"report mem_total=1 mem_available=1 psi_some_avg10=0 psi_full_avg10=0\n",
		"done seq=7 current=3221225472\n",
		"welcome v=1 min=1073741824 max=8589934592 current=2147483648 block=2097152\n",
		/* one line, split for length */
		("welcome v=1 min=268435456 max=8589934592 current=536870912 block=4096 "
		 "balloon=536870912\n"),
		"grant seq=7 target=3221225472 current=2147483648\n",
		"deny seq=8 reason=host_pressure\n",
		"deny seq=9 reason=oscillation_hold retry_after=12500\n",
		"reclaim target=2147483648 urgency=high reason=host_pressure\n",
		"reclaim target=2147483648 urgency=normal\n",
		"limits min=0 max=0\n",
		"error reason=bad_verb\n",
	};
	char buf[PROTO_LINE_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		struct proto_msg m = parse_ok(lines[i]), m2;
		int n = proto_format(&m, buf, sizeof(buf));

		assert_int_equal(n, (int)strlen(lines[i]));
		assert_string_equal(buf, lines[i]);
		m2 = parse_ok(buf);
		assert_true(proto_msg_equal(&m, &m2));
	}
}

static void test_fields_are_decoded_with_units(void **state)
{
	struct proto_msg m = parse_ok("request seq=42 target=3221225472 urgency=high reason=low_headroom");

	assert_int_equal(m.verb, PROTO_VERB_REQUEST);
	assert_true(m.seq == 42);
	assert_true(m.target_bytes == 3221225472ull);
	assert_int_equal(m.urgency, URGENCY_HIGH);
	assert_string_equal(m.reason, "low_headroom");

	m = parse_ok("report mem_total=100 mem_available=40 psi_some_avg10=250 psi_full_avg10=9 oom_kill=2");
	assert_true(m.mem_total_bytes == 100 && m.mem_available_bytes == 40);
	assert_int_equal(m.psi_some_avg10_centi, 250);
	assert_int_equal(m.psi_full_avg10_centi, 9);
	assert_true(m.oom_kill == 2);
	assert_true(m.present & PROTO_HAS(PROTO_KEY_OOM_KILL));
	assert_false(m.present & PROTO_HAS(PROTO_KEY_SWAP_TOTAL));

	/* A hold's deny says when to ask again, in milliseconds. */
	m = parse_ok("deny seq=3 reason=rate_limited retry_after=750");
	assert_true(m.retry_after_ms == 750);
	assert_true(m.present & PROTO_HAS(PROTO_KEY_RETRY_AFTER));
	m = parse_ok("deny seq=3 reason=budget");
	assert_false(m.present & PROTO_HAS(PROTO_KEY_RETRY_AFTER));
}

static void test_unknown_keys_and_foreign_keys_are_ignored(void **state)
{
	struct proto_msg m = parse_ok("grant seq=1 future_key=x=y target=10 current=5 agent=?? z= urgency=");

	assert_true(m.seq == 1 && m.target_bytes == 10 && m.current_bytes == 5);
	assert_int_equal(m.present, PROTO_HAS(PROTO_KEY_SEQ) | PROTO_HAS(PROTO_KEY_TARGET) |
					    PROTO_HAS(PROTO_KEY_CURRENT));
}

static void test_crlf_and_missing_terminator_are_accepted(void **state)
{
	struct proto_msg a = parse_ok("limits min=1 max=2\r\n");
	struct proto_msg b = parse_ok("limits min=1 max=2");

	assert_true(proto_msg_equal(&a, &b));
}

static void test_malformed_lines_get_their_reason(void **state)
{
	static const struct {
		const char *line;
		size_t len; /* 0: strlen */
		const char *reason;
	} bad[] = {
		{ "", 0, "empty" },
		{ "\n", 0, "empty" },
		{ "\r\n", 0, "empty" },
		{ "hello v=1 block=4096 current=1\n\n", 0, "not_ascii" },
		{ "hello v=1\0 block=4096 current=1", 31, "not_ascii" },
		{ "hello v=1 block=4096 current=1\r\r\n", 0, "not_ascii" },
		{ "hello\tv=1 block=4096 current=1", 0, "not_ascii" },
		{ "hello v=1 block=4096 current=1 agent=\xc3\xa9", 0, "not_ascii" },
		{ "hello v=1 block=4096 current=1\x7f", 0, "not_ascii" },
		{ "\rerror reason=x", 0, "not_ascii" },
		{ " hello v=1 block=4096 current=1", 0, "bad_syntax" },
		{ "hello  v=1 block=4096 current=1", 0, "bad_syntax" },
		{ "hello v=1 block=4096 current=1 ", 0, "bad_syntax" },
		{ "hello v=1 block=4096 current", 0, "bad_syntax" },
		{ "hello v=1 =4096 current=1", 0, "bad_syntax" },
		{ "hello v=1 Block=4096 current=1", 0, "bad_syntax" },
		{ "hello v=1 9lock=4096 current=1", 0, "bad_syntax" },
		{ "HELLO v=1 block=4096 current=1", 0, "bad_verb" },
		{ "helo v=1 block=4096 current=1", 0, "bad_verb" },
		{ "hello=1", 0, "bad_verb" },
		{ "hello v=2 block=4096 current=1", 0, "bad_version" },
		{ "hello v=01 block=4096 current=1", 0, "bad_version" },
		{ "hello v= block=4096 current=1", 0, "bad_version" },
		{ "hello v=1 block=4096", 0, "missing_key" },
		{ "hello v=1 current=1", 0, "missing_key" },
		{ "request seq=1 target=1 urgency=low", 0, "missing_key" },
		{ "error", 0, "missing_key" },
		{ "done seq=1 seq=1 current=1", 0, "duplicate_key" },
		{ "hello v=1 block=4096 current=1 agent=a agent=a", 0, "duplicate_key" },
		{ "hello v=1 block=4095 current=1", 0, "bad_value" },
		{ "hello v=1 block=0 current=1", 0, "bad_value" },
		{ "hello v=1 block=4096 current=-1", 0, "bad_value" },
		{ "hello v=1 block=4096 current=+1", 0, "bad_value" },
		{ "hello v=1 block=4096 current=01", 0, "bad_value" },
		{ "hello v=1 block=4096 current=1G", 0, "bad_value" },
		{ "hello v=1 block=4096 current=0x10", 0, "bad_value" },
		{ "hello v=1 block=4096 current=", 0, "bad_value" },
		{ "hello v=1 block=4096 current=18446744073709551616", 0, "bad_value" },
		{ "hello v=1 block=4096 current=1 agent=a/b", 0, "bad_value" },
		{ "hello v=1 block=4096 current=1 agent=", 0, "bad_value" },
		{ "hello v=1 block=4096 current=1 agent="
		  "0123456789012345678901234567890123456789012345678901234567890123", 0, "bad_value" },
		{ "deny seq=1 reason=01234567890123456789012345678901", 0, "bad_value" },
		{ "deny seq=1 reason=a=b", 0, "bad_value" },
		{ "request seq=1 target=1 urgency=urgent reason=x", 0, "bad_value" },
		{ "request seq=1 target=1 urgency=HIGH reason=x", 0, "bad_value" },
		{ "report mem_total=1 mem_available=1 psi_some_avg10=10001 psi_full_avg10=0", 0, "bad_value" },
		{ "report mem_total=1 mem_available=1 psi_some_avg10=12.34 psi_full_avg10=0", 0, "bad_value" },
		{ "report mem_total=1 mem_available=2 psi_some_avg10=0 psi_full_avg10=0", 0, "bad_value" },
		{ "report mem_total=2 mem_available=1 psi_some_avg10=0 psi_full_avg10=0 swap_total=1 "
		  "swap_free=2", 0, "bad_value" },
		{ "limits min=2 max=1", 0, "bad_value" },
		{ "welcome v=1 min=2 max=1 current=1 block=4096", 0, "bad_value" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct proto_msg m, pattern;
		const char *reason = NULL;
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].line);

		memset(&m, 0xa5, sizeof(m));
		memset(&pattern, 0xa5, sizeof(pattern));
		if (proto_parse(bad[i].line, len, &m, &reason) != -EINVAL)
			fail_msg("case %zu \"%s\" parsed", i, bad[i].line);
		if (strcmp(reason, bad[i].reason) != 0)
			fail_msg("case %zu \"%s\": %s, want %s", i, bad[i].line, reason, bad[i].reason);
		assert_memory_equal(&m, &pattern, sizeof(m)); /* untouched on failure */
	}
}

static void test_line_length_limit_includes_the_newline(void **state)
{
	char line[PROTO_LINE_MAX + 2];
	const char *prefix = "error reason=x unknown=";
	struct proto_msg m;
	const char *reason = NULL;

	/* Exactly PROTO_LINE_MAX bytes with "\n": accepted. */
	memset(line, 'a', sizeof(line));
	memcpy(line, prefix, strlen(prefix));
	line[PROTO_LINE_MAX - 1] = '\n';
	assert_int_equal(proto_parse(line, PROTO_LINE_MAX, &m, &reason), 0);
	/* The same content without its "\n" is still fine; one more byte is not. */
	assert_int_equal(proto_parse(line, PROTO_LINE_MAX - 1, &m, &reason), 0);
	assert_int_equal(proto_parse(line, PROTO_LINE_MAX, &m, &reason), 0);
	line[PROTO_LINE_MAX - 1] = 'a';
	assert_int_equal(proto_parse(line, PROTO_LINE_MAX, &m, &reason), -EMSGSIZE);
	assert_string_equal(reason, "too_long");
	line[PROTO_LINE_MAX] = '\n';
	assert_int_equal(proto_parse(line, PROTO_LINE_MAX + 1, &m, &reason), -EMSGSIZE);
	assert_string_equal(reason, "too_long");
}

static void test_format_refuses_what_would_not_parse(void **state)
{
	struct proto_msg m;
	char buf[PROTO_LINE_MAX + 1];

	memset(&m, 0, sizeof(m));
	m.verb = PROTO_VERB_HELLO;
	m.version = 1;
	m.block_bytes = 3; /* not a power of two */
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
	m.block_bytes = 4096;
	m.present = PROTO_HAS(PROTO_KEY_AGENT); /* agent flagged but empty */
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
	m.present = 0;
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), (int)strlen("hello v=1 block=4096 current=0\n"));

	m.verb = PROTO_VERB_DENY;
	strcpy(m.reason, "no space");
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
	m.verb = PROTO_VERB_NONE;
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
	m.verb = PROTO_VERB__MAX;
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
	m.verb = PROTO_VERB_RECLAIM;
	m.urgency = URGENCY__MAX;
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
	m.verb = PROTO_VERB_REPORT;
	m.psi_full_avg10_centi = 10001;
	assert_int_equal(proto_format(&m, buf, sizeof(buf)), -EINVAL);
}

static void test_format_reports_enospc_and_never_overruns(void **state)
{
	struct proto_msg m = parse_ok("grant seq=7 target=3221225472 current=2147483648");
	const char *want = "grant seq=7 target=3221225472 current=2147483648\n";
	char buf[64];

	for (size_t size = 0; size <= strlen(want); size++) {
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(proto_format(&m, buf, size), -ENOSPC);
		for (size_t i = size; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 'Z');
	}
	assert_int_equal(proto_format(&m, buf, strlen(want) + 1), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_direction_and_names(void **state)
{
	enum urgency u;

	assert_true(proto_verb_from_guest(PROTO_VERB_HELLO));
	assert_true(proto_verb_from_guest(PROTO_VERB_DONE));
	assert_false(proto_verb_from_guest(PROTO_VERB_GRANT));
	assert_false(proto_verb_from_guest(PROTO_VERB_ERROR));
	assert_null(proto_verb_name(PROTO_VERB_NONE));
	assert_string_equal(proto_verb_name(PROTO_VERB_LIMITS), "limits");
	assert_string_equal(proto_urgency_name(URGENCY_CRITICAL), "critical");
	assert_int_equal(proto_urgency_from_name("normal", 6, &u), 0);
	assert_int_equal(u, URGENCY_NORMAL);
	assert_int_equal(proto_urgency_from_name("norma", 5, &u), -EINVAL);
	assert_true(proto_word_valid("a.b_c-D9", PROTO_WORD_MAX));
	assert_false(proto_word_valid("", PROTO_WORD_MAX));
	assert_false(proto_word_valid("abc", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verb_round_trips_to_identical_text),
		cmocka_unit_test(test_fields_are_decoded_with_units),
		cmocka_unit_test(test_unknown_keys_and_foreign_keys_are_ignored),
		cmocka_unit_test(test_crlf_and_missing_terminator_are_accepted),
		cmocka_unit_test(test_malformed_lines_get_their_reason),
		cmocka_unit_test(test_line_length_limit_includes_the_newline),
		cmocka_unit_test(test_format_refuses_what_would_not_parse),
		cmocka_unit_test(test_format_reports_enospc_and_never_overruns),
		cmocka_unit_test(test_direction_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
