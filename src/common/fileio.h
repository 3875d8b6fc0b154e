/* SPDX-License-Identifier: MIT */
#ifndef VMRD_FILEIO_H
#define VMRD_FILEIO_H

#include <stddef.h>

/*
 * Read a whole (small, /proc or /sys) file relative to rootfd into buf and
 * NUL-terminate it.  A file that does not fit is -EFBIG: callers size their
 * buffers once, so nothing is allocated per sample.  rootfd may be AT_FDCWD,
 * and path is then taken as it is.
 */
int fileio_read_at(int rootfd, const char *path, char *buf, size_t size, size_t *ret_len);

/* Write a string to a file relative to rootfd (sysfs and cgroup knobs). */
int fileio_write_at(int rootfd, const char *path, const char *text);

/* Open a root directory ("/" by default) for the *_read(rootfd, ...) adapters. */
int fileio_open_root(const char *dir);

#endif
