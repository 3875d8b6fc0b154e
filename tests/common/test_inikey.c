/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/inikey.h"

enum colour { RED, GREEN, BLUE };

struct cfg {
	uint64_t size;
	uint64_t big;
	bool big_auto;
	uint64_t dur;
	uint32_t pct;
	uint32_t weight;
	uint64_t count;
	int adj;
	bool flag;
	char name[8];
	char path[32];
	char mode[8];
	enum colour colour;
};

static const char *const colours[] = { "red", "green", "blue", NULL };
static const char *const modes[] = { "fast", "slow", NULL };

static const struct inikey keys[] = {
	INIKEY("a", "size", INIKEY_SIZE, struct cfg, size, "A size."),
	{ .section = "a", .name = "big", .type = INIKEY_SIZE, .flags = INIKEY_AUTO,
	  INIKEY_FIELD(struct cfg, big), .min = 1, .aux_offset = offsetof(struct cfg, big_auto),
	  .doc = "A size or auto." },
	INIKEY("a", "dur", INIKEY_DURATION, struct cfg, dur, "A duration."),
	INIKEY("a", "pct", INIKEY_PERCENT, struct cfg, pct, "A percentage."),
	INIKEY_RANGE("b", "weight", INIKEY_U32, struct cfg, weight, 1, 10000, "A weight."),
	INIKEY("b", "count", INIKEY_U64, struct cfg, count, "A count."),
	INIKEY_RANGE("b", "adj", INIKEY_INT, struct cfg, adj, -1000, 1000, "An adjustment."),
	INIKEY("b", "flag", INIKEY_BOOL, struct cfg, flag, "A flag."),
	INIKEY(NULL, "name", INIKEY_STRING, struct cfg, name, "A name."),
	INIKEY(NULL, "path", INIKEY_PATH, struct cfg, path, "A path."),
	INIKEY_WORDS(NULL, "mode", INIKEY_STRING, struct cfg, mode, modes, "A mode."),
	INIKEY_WORDS(NULL, "colour", INIKEY_ENUM, struct cfg, colour, colours, "A colour."),
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Every value type, accepted and refused, with the words the user reads. */
static void test_one_grammar_for_every_type(void **state)
{
	static const struct {
		const char *key;
		const char *value;
		int ret;
		const char *msg;        /* on failure */
		const char *formatted;  /* on success: how it prints back */
	} cases[] = {
		{ "size", "512M", 0, NULL, "512M" },
		{ "size", "0", 0, NULL, "0" },
		{ "size", "4096", 0, NULL, "4K" },
		{ "size", "4 GiB", -EINVAL, "expected a size such as 4096, 512M or 2G", NULL },
		{ "size", "-1", -EINVAL, "expected a size such as 4096, 512M or 2G", NULL },
		{ "big", "auto", 0, NULL, "auto" },
		{ "big", "2G", 0, NULL, "2G" },
		{ "big", "0", -ERANGE, "value out of range (at least 1)", NULL },
		{ "big", "lots", -EINVAL, "expected auto or a size such as 4096, 512M or 2G", NULL },
		{ "dur", "10s", 0, NULL, "10s" },
		{ "dur", "1500", 0, NULL, "1500ms" },
		{ "dur", "10 s", -EINVAL, "expected a duration such as 500ms, 10s or 2m", NULL },
		{ "pct", "12.5", 0, NULL, "12.50%" },
		{ "pct", "12.5%", 0, NULL, "12.50%" },
		{ "pct", "100%", 0, NULL, "100%" },
		{ "pct", "101", -ERANGE, "value out of range", NULL },
		{ "pct", "1.234", -EINVAL,
		  "expected a percentage from 0 to 100 with at most two decimals, such as 12.5%", NULL },
		{ "weight", "200", 0, NULL, "200" },
		{ "weight", "0", -ERANGE, "value out of range (1 to 10000)", NULL },
		{ "weight", "10001", -ERANGE, "value out of range (1 to 10000)", NULL },
		{ "count", "18446744073709551615", 0, NULL, "18446744073709551615" },
		{ "count", "18446744073709551616", -ERANGE, "value out of range", NULL },
		{ "count", "-3", -EINVAL, "expected a whole number", NULL },
		{ "adj", "-500", 0, NULL, "-500" },
		{ "adj", "-5000", -ERANGE, "value out of range (-1000 to 1000)", NULL },
		{ "flag", "on", 0, NULL, "yes" },
		{ "flag", "perhaps", -EINVAL, "expected yes or no", NULL },
		{ "name", "web", 0, NULL, "web" },
		{ "name", "", -EINVAL, "expected 1 to 7 characters", NULL },
		{ "name", "toolongname", -EINVAL, "expected 1 to 7 characters", NULL },
		{ "path", "/run/x", 0, NULL, "/run/x" },
		{ "path", "run/x", -EINVAL, "path must be absolute", NULL },
		{ "mode", "slow", 0, NULL, "slow" },
		{ "mode", "medium", -EINVAL, "expected fast or slow", NULL },
		{ "colour", "blue", 0, NULL, "blue" },
		{ "colour", "mauve", -EINVAL, "expected red, green or blue", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg c, before;
		const struct inikey *k = inikey_find(keys, N_KEYS, "a", cases[i].key);
		char msg[128] = "", out[64];

		if (!k)
			k = inikey_find(keys, N_KEYS, "b", cases[i].key);
		assert_non_null(k);
		memset(&c, 0x5a, sizeof(c));
		before = c;
		if (inikey_set(k, &c, cases[i].value, msg, sizeof(msg)) != cases[i].ret)
			fail_msg("%s = '%s': got %s", cases[i].key, cases[i].value, msg);
		if (cases[i].ret < 0) {
			assert_string_equal(msg, cases[i].msg);
			/* Nothing is stored on failure. */
			assert_memory_equal(&c, &before, sizeof(c));
			continue;
		}
		inikey_format(k, &c, out, sizeof(out));
		assert_string_equal(out, cases[i].formatted);
	}
}

static void test_find_honours_sections(void **state)
{
	assert_non_null(inikey_find(keys, N_KEYS, "a", "size"));
	assert_null(inikey_find(keys, N_KEYS, "b", "size"));
	assert_null(inikey_find(keys, N_KEYS, "a", "nosuch"));
	/* A key without a section is found from any. */
	assert_non_null(inikey_find(keys, N_KEYS, "vm web", "path"));
}

static void test_print_writes_every_key_with_its_value(void **state)
{
	struct cfg c = { .size = 1ull << 30, .big_auto = true, .dur = 30000000, .pct = 2000,
			 .weight = 100, .adj = -900, .flag = true, .colour = GREEN };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	strcpy(c.name, "n");
	inikey_print(out, keys, 4, &c);
	inikey_print(out, keys + 6, 1, &c);
	fclose(out);
	assert_string_equal(text, "\n[a]\n# A size.\n#size = 1G\n# A size or auto.\n#big = auto\n"
				  "# A duration.\n#dur = 30s\n# A percentage.\n#pct = 20%\n"
				  "\n[b]\n# An adjustment.\n#adj = -900\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_grammar_for_every_type),
		cmocka_unit_test(test_find_honours_sections),
		cmocka_unit_test(test_print_writes_every_key_with_its_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
