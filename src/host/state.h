/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_STATE_H
#define VMRD_HOST_STATE_H

/*
 * The broker's state file: the last target it set for every VM, so a
 * restarted broker accounts each VM at what it really holds even before
 * QEMU answers (and for balloon-only VMs, whose target QEMU cannot report).
 * Text, one line per VM:
 *
 *	# vmrd-host state v1
 *	vm NAME target=BYTES
 *
 * Written atomically (temporary file, fsync, rename, fsync of the
 * directory).  state_parse/state_format are pure; only state_load and
 * state_save touch the file system.
 */

#include <stddef.h>
#include <stdint.h>

#include "host/config.h"

struct state_entry {
	char name[CONFIG_NAME_MAX];
	uint64_t target_bytes;
};

/*
 * Entries sorted by name, each name once (state_sort()), so that
 * state_find() is a binary search: the broker looks a VM up whenever it
 * adds or reconciles one, and a host may have thousands.  The struct owns
 * entries (common/array.h); state_free() releases them.
 */
struct state {
	struct state_entry *entries;
	size_t n;
	size_t cap;
};

/* The longest line state_format() writes for an entry, and its header. */
#define STATE_LINE_MAX (CONFIG_NAME_MAX + 32)
#define STATE_HEADER_MAX 32

void state_free(struct state *st);
/* Append an entry (unsorted until state_sort()).  0 or -ENOMEM. */
int state_add(struct state *st, const char *name, uint64_t target_bytes);
/* Sort by name; of entries with the same name the first added stays.  0 or -ENOMEM. */
int state_sort(struct state *st);

/*
 * Lines that do not parse are skipped: a damaged file costs only those
 * VMs.  On success ret's old entries are freed and replaced (sorted);
 * -ENOMEM leaves ret as it was.
 */
int state_parse(const char *buf, size_t len, struct state *ret);
/* Returns the length written, or -ENOSPC. */
int state_format(const struct state *st, char *buf, size_t size);

/* A missing file is an empty state; one larger than STATE_FILE_MAX is -EFBIG. */
int state_load(const char *path, struct state *ret);
int state_save(const char *path, const struct state *st);

/*
 * Make sure state_save() can write path: create its directory (and missing
 * parents, mode 0750) and check that a file can be created in it.  On
 * failure, ret_dir names the directory that could not be created or
 * written, for the caller's message.
 */
int state_prepare_dir(const char *path, char ret_dir[CONFIG_PATH_MAX]);

/* The entry of name in a sorted state, or NULL. */
const struct state_entry *state_find(const struct state *st, const char *name);

#endif
