/* SPDX-License-Identifier: MIT */
#ifndef VMRD_TEST_TMPTREE_H
#define VMRD_TEST_TMPTREE_H

/*
 * Scratch fixture trees for the sensor tests: a fresh directory under
 * $TMPDIR that tests fill with proc/... and sys/... files, so that nothing
 * ever touches the committed fixtures or the real /proc and /sys.
 */

#include <stddef.h>

struct tmptree {
	char path[256];
	int fd; /* the root, for the *_read(rootfd, ...) functions */
};

/* Both abort the test program on failure: a broken scratch dir is no result. */
void tmptree_create(struct tmptree *t);
/* Write rel (creating its parent directories) with len bytes of data. */
void tmptree_write(struct tmptree *t, const char *rel, const char *data, size_t len);
void tmptree_write_str(struct tmptree *t, const char *rel, const char *text);
/* Read a file of the tree back, NUL-terminated; returns its length. */
size_t tmptree_read(struct tmptree *t, const char *rel, char *buf, size_t size);
void tmptree_remove(struct tmptree *t);

/*
 * Load a committed test file (relative to SENSORS_DATA_DIR) into buf;
 * returns its length.  Aborts when it is missing or does not fit.
 */
size_t testdata_load(const char *rel, char *buf, size_t size);

/* A heap copy of exactly len bytes, no NUL, so ASan sees any over-read. */
char *testdata_exact(const char *data, size_t len);

#endif
