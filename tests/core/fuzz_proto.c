/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the wire codec: the input is a byte stream from an untrusted guest.
 * It goes through the line framer (over a small buffer, so over-long lines
 * are exercised), each line through proto_parse(), and each message that
 * parses is formatted and parsed again, which must give the same message
 * and the same text (the wire form is canonical).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t len)
{
	struct proto_msg m, m2;
	const char *reason = NULL;
	char buf[PROTO_LINE_MAX + 1], buf2[PROTO_LINE_MAX + 1];
	int n, n2;

	if (proto_parse(line, len, &m, &reason) < 0) {
		if (!reason || !proto_word_valid(reason, PROTO_WORD_MAX))
			abort();
		return;
	}
	n = proto_format(&m, buf, sizeof(buf));
	if (n <= 0 || (size_t)n > PROTO_LINE_MAX || buf[n - 1] != '\n')
		abort();
	if (proto_parse(buf, (size_t)n, &m2, &reason) < 0 || !proto_msg_equal(&m, &m2))
		abort();
	n2 = proto_format(&m2, buf2, sizeof(buf2));
	if (n2 != n || memcmp(buf, buf2, (size_t)n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char rbuf[PROTO_LINE_MAX];
	struct proto_reader r;
	size_t off = 0;

	/* The whole input as one line, terminator or not. */
	check_line((const char *)data, size);

	proto_reader_init(&r, rbuf, sizeof(rbuf));
	while (off < size) {
		const char *line;
		size_t len;
		int k;

		off += proto_reader_feed(&r, (const char *)data + off, size - off);
		while ((k = proto_reader_next(&r, &line, &len)) != 0) {
			if (k < 0)
				continue;
			if (len >= PROTO_LINE_MAX || memchr(line, '\n', len))
				abort();
			check_line(line, len);
		}
	}
	return 0;
}
