/* SPDX-License-Identifier: MIT */
/* vmrctl top's frame: what fits on the screen, and nothing the terminal could take as a command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "vmrctl/top.h"

#define HOME "\033[H"
#define EOL "\033[K"
#define BELOW "\033[J"

/*
 * The frame as the lines a screen shows, joined with '|', after checking
 * its framing: home first, every line erased to its end, erase-below last.
 */
static void screen(const struct top_view *v, char *ret, size_t size)
{
	char buf[8192];
	struct strbuf sb;
	char *p, *end;
	size_t off = 0;

	strbuf_init(&sb, buf, sizeof(buf));
	top_frame(v, &sb);
	assert_false(strbuf_truncated(&sb));
	assert_memory_equal(buf, HOME, 3);
	end = buf + strlen(buf) - 3;
	assert_string_equal(end, BELOW);
	*end = '\0';
	p = buf + 3;
	ret[0] = '\0';
	while (p) {
		char *nl = strstr(p, "\r\n");
		size_t len;

		if (nl)
			*nl = '\0';
		len = strlen(p);
		assert_true(len >= 3);
		assert_string_equal(p + len - 3, EOL);
		p[len - 3] = '\0';
		off += (size_t)snprintf(ret + off, size - off, "%s%s", off ? "|" : "", p);
		p = nl ? nl + 2 : NULL;
	}
}

static void test_frame_cases(void **state)
{
	static const char status[] = "size 512\nPSI 0.00%\ndecision hold\n";
	static const char why[] = "a\nb\nc\nd\n";
	static const struct {
		const char *name;
		struct top_view v;
		const char *want;
	} cases[] = {
		{ "everything fits: title with clock right, status, heading, all decisions",
		  { "T", "12:00:00", status, why, 24, 20 },
		  "T          12:00:00|size 512|PSI 0.00%|decision hold||recent decisions (n|a|b|c|d" },
		{ "short screen: the newest decisions that fit",
		  { "T", "", status, why, 7, 40 },
		  "T|size 512|PSI 0.00%|decision hold||recent decisions (newest last):|d" },
		{ "no room for decisions below two lines",
		  { "T", "", status, why, 6, 40 },
		  "T|size 512|PSI 0.00%|decision hold" },
		{ "the status itself is cut at the bottom",
		  { "T", "", status, why, 3, 40 },
		  "T|size 512|PSI 0.00%" },
		{ "a daemon without why: status only",
		  { "T", "", status, "error: unknown command\n", 24, 40 },
		  "T|size 512|PSI 0.00%|decision hold" },
		{ "no why at all",
		  { "T", "", "x", NULL, 24, 40 },
		  "T|x" },
		{ "lines cut one column short of the width; the clock dropped when it does not fit",
		  { "a long title", "12:00:00", "0123456789abc\n", "", 24, 10 },
		  "a long ti|012345678" },
		{ "control characters from the daemon are shown, not obeyed",
		  { "T", "", "a\033[2Jb\tc\x7f\n", "", 24, 40 },
		  "T|a?[2Jb?c?" },
		{ "a status without a final newline",
		  { "T", "", "one\ntwo", "", 24, 40 },
		  "T|one|two" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[4096];

		screen(&cases[i].v, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s:\n got  %s\n want %s", cases[i].name, got, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
