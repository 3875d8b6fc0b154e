/* SPDX-License-Identifier: MIT */
#ifndef VMRD_PSI_H
#define VMRD_PSI_H

/* Pressure stall information: /proc/pressure/memory or a cgroup's memory.pressure. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct psi_line {
	uint32_t avg10;  /* hundredths of a percent: "12.34" is 1234 */
	uint32_t avg60;
	uint32_t avg300;
	uint64_t total_usec;
};

struct psi_stats {
	struct psi_line some;
	struct psi_line full;
	bool has_full; /* the cpu file of older kernels has no "full" line */
};

enum psi_kind {
	PSI_SOME = 0,
	PSI_FULL = 1,
};

/* Parse the text of a pressure file; -EINVAL names no field, it just refuses. */
int psi_parse(const char *buf, size_t len, struct psi_stats *ret);
/* path relative to rootfd, e.g. "proc/pressure/memory". -ENOENT: no PSI. */
int psi_read(int rootfd, const char *path, struct psi_stats *ret);

struct psi_trigger {
	int fd;               /* poll for POLLPRI / EPOLLPRI; -1 when closed */
	enum psi_kind kind;
	uint64_t stall_usec;  /* as registered */
	uint64_t window_usec;
	bool adjusted;        /* the kernel refused the asked window; see below */
};

/*
 * Register "some|full <stall> <window>" on the pressure file.  If the kernel
 * refuses the window with EINVAL (unprivileged writers must use multiples
 * of 2 s), retry once with the window rounded up to the next multiple of
 * 2 s, the stall scaled in proportion, and set adjusted.  The caller says
 * so once in its log.  -ENOTTY when path is not a kernel pressure file
 * (procfs or cgroup2): triggers are never written into a captured tree.
 */
int psi_trigger_open(int rootfd, const char *path, enum psi_kind kind, uint64_t stall_usec,
		     uint64_t window_usec, struct psi_trigger *ret);
/* The write and the one retry of psi_trigger_open() on an fd already open; takes fd on success. */
int psi_trigger_arm(int fd, enum psi_kind kind, uint64_t stall_usec, uint64_t window_usec,
		    struct psi_trigger *ret);
/* After POLLPRI: acknowledge the event (nothing to read; kept for symmetry). */
void psi_trigger_close(struct psi_trigger *t);

/*
 * The fallback psi_trigger_open() uses, pure: the window rounded up to the
 * next multiple of 2 s and the stall scaled in proportion, kept at least
 * 1 us below the new window.  -EINVAL when the window is already a multiple
 * of 2 s (rounding cannot help) or the pair is invalid.
 */
int psi_trigger_adjust(uint64_t stall_usec, uint64_t window_usec, uint64_t *ret_stall_usec,
		       uint64_t *ret_window_usec);

/*
 * Format the trigger line the kernel expects ("some 150000 1000000"). Pure.
 * Returns the length without the NUL; -EINVAL for a zero stall or a stall
 * longer than the window, -ERANGE for values the kernel cannot take (it
 * reads them as 32-bit), -ENOSPC when buf is too small.
 */
int psi_trigger_format(enum psi_kind kind, uint64_t stall_usec, uint64_t window_usec, char *buf,
		       size_t len);

#endif
