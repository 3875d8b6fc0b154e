/* SPDX-License-Identifier: MIT */
#include "common/inikey.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "common/strbuf.h"
#include "core/parse.h"

const struct inikey *inikey_find(const struct inikey *keys, size_t n, const char *section,
				 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if ((!keys[i].section || strcmp(keys[i].section, section) == 0) &&
		    strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static uint64_t type_max(const struct inikey *k)
{
	switch (k->type) {
	case INIKEY_PERCENT:
		return 10000;
	case INIKEY_U32:
		return UINT32_MAX;
	case INIKEY_INT:
		return INT_MAX;
	default:
		return UINT64_MAX;
	}
}

static uint64_t key_max(const struct inikey *k)
{
	return k->max ? k->max : type_max(k);
}

/* An int key without a range takes any int; with one, min is its floor. */
static int64_t int_min(const struct inikey *k)
{
	return k->min || k->max ? k->min : INT_MIN;
}

/* "a, b or c" from a NULL-terminated list. */
static void words_text(const char *const *words, struct strbuf *sb)
{
	for (size_t i = 0; words[i]; i++)
		strbuf_printf(sb, "%s%s", i == 0 ? "" : words[i + 1] ? ", " : " or ", words[i]);
}

static const char *syntax_text(const struct inikey *k)
{
	switch (k->type) {
	case INIKEY_SIZE:
		return k->flags & INIKEY_AUTO ? "expected auto or a size such as 4096, 512M or 2G"
					      : "expected a size such as 4096, 512M or 2G";
	case INIKEY_DURATION:
		return "expected a duration such as 500ms, 10s or 2m";
	case INIKEY_PERCENT:
		return "expected a percentage from 0 to 100 with at most two decimals, such as 12.5%";
	case INIKEY_BOOL:
		return "expected yes or no";
	default:
		return "expected a whole number";
	}
}

static void format_value(const struct inikey *k, uint64_t v, char *buf, size_t size);

/* "value out of range (1 to 10000)": the bounds the key adds to its type's. */
static void range_text(const struct inikey *k, struct strbuf *sb)
{
	char lo[32], hi[32];
	bool has_lo = k->type == INIKEY_INT ? int_min(k) != INT_MIN : k->min != 0;
	bool has_hi = key_max(k) != type_max(k);

	if (k->type == INIKEY_INT)
		snprintf(lo, sizeof(lo), "%" PRId64, k->min);
	else
		format_value(k, (uint64_t)k->min, lo, sizeof(lo));
	format_value(k, key_max(k), hi, sizeof(hi));
	strbuf_puts(sb, "value out of range");
	if (has_lo && has_hi)
		strbuf_printf(sb, " (%s to %s)", lo, hi);
	else if (has_lo)
		strbuf_printf(sb, " (at least %s)", lo);
	else if (has_hi)
		strbuf_printf(sb, " (at most %s)", hi);
}

static int parse_percent(const char *s, uint64_t *ret)
{
	size_t len = strlen(s);

	if (len && s[len - 1] == '%')
		len--;
	return parse_centi_n(s, len, ret);
}

static int parse_int(const char *s, int64_t *ret)
{
	bool neg = s[0] == '-';
	uint64_t v;
	int r = parse_u64(s + neg, &v);

	if (r < 0)
		return r;
	if (v > INT64_MAX)
		return -ERANGE;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* A number of any type, range-checked and stored. */
static int set_number(const struct inikey *k, void *field, const char *value, struct strbuf *msg)
{
	uint64_t v = 0;
	int64_t iv = 0;
	int r;

	switch (k->type) {
	case INIKEY_SIZE: r = parse_size(value, &v); break;
	case INIKEY_DURATION: r = parse_duration_usec(value, &v); break;
	case INIKEY_PERCENT: r = parse_percent(value, &v); break;
	case INIKEY_INT: r = parse_int(value, &iv); break;
	default: r = parse_u64(value, &v); break;
	}
	if (r == -EINVAL) {
		strbuf_puts(msg, syntax_text(k));
		return r;
	}
	if (r == 0 && k->type == INIKEY_INT && (iv < int_min(k) || iv > (int64_t)key_max(k)))
		r = -ERANGE;
	if (r == 0 && k->type != INIKEY_INT && (v < (uint64_t)k->min || v > key_max(k)))
		r = -ERANGE;
	if (r < 0) {
		range_text(k, msg);
		return r;
	}
	switch (k->type) {
	case INIKEY_PERCENT:
	case INIKEY_U32: *(uint32_t *)field = (uint32_t)v; break;
	case INIKEY_INT: *(int *)field = (int)iv; break;
	default: *(uint64_t *)field = v; break;
	}
	return 0;
}

static int word_index(const char *const *words, const char *value)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(words[i], value) == 0)
			return i;
	return -1;
}

static int set_string(const struct inikey *k, void *field, const char *value, struct strbuf *msg)
{
	size_t len = strlen(value);

	if (k->words && word_index(k->words, value) < 0) {
		strbuf_puts(msg, "expected ");
		words_text(k->words, msg);
		return -EINVAL;
	}
	if ((len == 0 && !(k->flags & INIKEY_EMPTY)) || len >= k->size) {
		strbuf_printf(msg, "expected %d to %zu characters", (k->flags & INIKEY_EMPTY) ? 0 : 1,
			      k->size - 1);
		return -EINVAL;
	}
	if (k->type == INIKEY_PATH && value[0] != '/') {
		strbuf_puts(msg, "path must be absolute");
		return -EINVAL;
	}
	memcpy(field, value, len + 1);
	return 0;
}

int inikey_set(const struct inikey *k, void *base, const char *value, char *msg, size_t msg_size)
{
	void *field = (char *)base + k->offset;
	struct strbuf sb;
	int i;

	strbuf_init(&sb, msg, msg_size);
	switch (k->type) {
	case INIKEY_BOOL:
		if (parse_bool(value, field) < 0) {
			strbuf_puts(&sb, syntax_text(k));
			return -EINVAL;
		}
		return 0;
	case INIKEY_STRING:
	case INIKEY_PATH:
		return set_string(k, field, value, &sb);
	case INIKEY_ENUM:
		i = word_index(k->words, value);
		if (i < 0) {
			strbuf_puts(&sb, "expected ");
			words_text(k->words, &sb);
			return -EINVAL;
		}
		*(int *)field = i;
		return 0;
	case INIKEY_SIZE:
		if (k->flags & INIKEY_AUTO) {
			bool is_auto = strcmp(value, "auto") == 0;
			int r = is_auto ? 0 : set_number(k, field, value, &sb);

			if (r < 0)
				return r;
			if (is_auto)
				*(uint64_t *)field = 0;
			*(bool *)((char *)base + k->aux_offset) = is_auto;
			return 0;
		}
		/* fall through */
	default:
		return set_number(k, field, value, &sb);
	}
}

int inikey_apply(struct inifile *f, const struct inikey *k, void *base, const char *value)
{
	char msg[256];
	int r = inikey_set(k, base, value, msg, sizeof(msg));

	if (r < 0)
		inifile_error(f, "%s = '%s': %s", k->name, value, msg);
	return r;
}

/* The largest unit that divides v exactly, so values print as people write them. */
static void format_scaled(char *buf, size_t size, uint64_t v, const char *const *units,
			  const uint64_t *mult, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (v == 0 || v % mult[i] == 0) {
			snprintf(buf, size, "%" PRIu64 "%s", v ? v / mult[i] : 0, v ? units[i] : units[0]);
			return;
		}
}

static void format_value(const struct inikey *k, uint64_t v, char *buf, size_t size)
{
	static const char *const size_units[] = { "", "K", "M", "G", "T" };
	static const uint64_t size_mult[] = { 1, 1ull << 10, 1ull << 20, 1ull << 30, 1ull << 40 };
	static const char *const dur_units[] = { "us", "ms", "s", "m", "h" };
	static const uint64_t dur_mult[] = { 1, 1000, 1000000, 60000000, 3600000000ull };

	switch (k->type) {
	case INIKEY_SIZE:
		format_scaled(buf, size, v, size_units, size_mult, 5);
		break;
	case INIKEY_DURATION:
		format_scaled(buf, size, v, dur_units, dur_mult, 5);
		break;
	case INIKEY_PERCENT:
		if (v % 100 == 0)
			snprintf(buf, size, "%" PRIu64 "%%", v / 100);
		else
			snprintf(buf, size, "%" PRIu64 ".%02" PRIu64 "%%", v / 100, v % 100);
		break;
	default:
		snprintf(buf, size, "%" PRIu64, v);
		break;
	}
}

void inikey_format(const struct inikey *k, const void *base, char *buf, size_t size)
{
	const void *field = (const char *)base + k->offset;

	buf[0] = '\0';
	if (k->flags & INIKEY_REQUIRED)
		return;
	switch (k->type) {
	case INIKEY_SIZE:
		if ((k->flags & INIKEY_AUTO) && *(const bool *)((const char *)base + k->aux_offset)) {
			snprintf(buf, size, "auto");
			break;
		}
		/* fall through */
	case INIKEY_DURATION:
	case INIKEY_U64:
		format_value(k, *(const uint64_t *)field, buf, size);
		break;
	case INIKEY_PERCENT:
	case INIKEY_U32:
		format_value(k, *(const uint32_t *)field, buf, size);
		break;
	case INIKEY_INT:
		snprintf(buf, size, "%d", *(const int *)field);
		break;
	case INIKEY_BOOL:
		snprintf(buf, size, "%s", *(const bool *)field ? "yes" : "no");
		break;
	case INIKEY_STRING:
	case INIKEY_PATH:
		snprintf(buf, size, "%s", (const char *)field);
		break;
	case INIKEY_ENUM:
		snprintf(buf, size, "%s", k->words[*(const int *)field]);
		break;
	}
}

/* Comments wrapped at 78 columns, so the example reads well in an editor. */
static void print_comment(FILE *out, const char *text)
{
	while (*text) {
		size_t n = strlen(text);

		if (n > 76) {
			n = 76;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)
				n = strcspn(text, " ");
		}
		fprintf(out, "# %.*s\n", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
	}
}

void inikey_print(FILE *out, const struct inikey *keys, size_t n, const void *base)
{
	const char *section = NULL;
	char value[256];

	for (size_t i = 0; i < n; i++) {
		const struct inikey *k = &keys[i];

		if (k->section && k->section[0] && (!section || strcmp(section, k->section) != 0))
			fprintf(out, "\n[%s]\n", k->section);
		section = k->section;
		inikey_format(k, base, value, sizeof(value));
		print_comment(out, k->doc);
		if (value[0])
			fprintf(out, "#%s = %s\n", k->name, value);
		else
			fprintf(out, "#%s =\n", k->name);
	}
}
