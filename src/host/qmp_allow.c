/* SPDX-License-Identifier: MIT */
#include "host/qmp_allow.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define QMP_ALLOW_KEYS 3

/* One allowed command: the argument keys it may carry, and the one property it may set. */
struct qmp_allowed {
	const char *name;
	const char *keys[QMP_ALLOW_KEYS];
	const char *property; /* non-NULL: "property" must be present and equal */
};

/* What driver_qmp.c sends (the step numbers are qmp_allow.h's). */
static const struct qmp_allowed qmp_allowed[] = {
	{ "query-memory-size-summary", { NULL }, NULL },
	{ "query-memory-devices", { NULL }, NULL },
	{ "query-balloon", { NULL }, NULL },
	{ "balloon", { "value" }, NULL },
	{ "qom-set", { "path", "property", "value" }, "requested-size" },
};

static const struct qmp_allowed *find(const char *cmd)
{
	for (size_t i = 0; i < sizeof(qmp_allowed) / sizeof(qmp_allowed[0]); i++)
		if (strcmp(qmp_allowed[i].name, cmd) == 0)
			return &qmp_allowed[i];
	return NULL;
}

static bool key_allowed(const struct qmp_allowed *a, const char *key)
{
	for (size_t i = 0; i < QMP_ALLOW_KEYS && a->keys[i]; i++)
		if (strcmp(a->keys[i], key) == 0)
			return true;
	return false;
}

int qmp_allow_check(const char *cmd, const json_t *args)
{
	const struct qmp_allowed *a;
	const char *key;
	json_t *value;

	if (!cmd)
		return -EINVAL;
	/* 1. */
	a = find(cmd);
	if (!a)
		return -EPERM;
	/* 2. */
	if (args && !json_is_object(args))
		return -EPERM;
	json_object_foreach((json_t *)args, key, value)
		if (!key_allowed(a, key))
			return -EPERM;
	/* 3. */
	if (a->property) {
		value = args ? json_object_get(args, "property") : NULL;
		if (!json_is_string(value) || strcmp(json_string_value(value), a->property) != 0)
			return -EPERM;
	}
	return 0;
}
