/* SPDX-License-Identifier: MIT */
#include "sensors/psi.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "core/parse.h"
#include "sensors/scan.h"

/* Unprivileged trigger windows must be multiples of this (kernel 6.5+). */
#define PSI_WINDOW_STEP_USEC UINT64_C(2000000)

enum {
	PSI_SEEN_AVG10 = 1u << 0,
	PSI_SEEN_AVG60 = 1u << 1,
	PSI_SEEN_AVG300 = 1u << 2,
	PSI_SEEN_TOTAL = 1u << 3,
	PSI_SEEN_ALL = (1u << 4) - 1,
};

/*
 * An average in hundredths of a percent.  The kernel never prints more than
 * 100.00, but fixed-point rounding is its business, not ours: anything that
 * fits is passed on, only numbers too large to keep are refused.
 */
static int psi_parse_avg(const char *s, size_t len, uint32_t *ret)
{
	uint64_t v;
	int r;

	r = parse_centi_n(s, len, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

/* One "avg10=0.12 avg60=0.05 avg300=0.01 total=123456" tail, after its kind. */
static int psi_parse_line(struct scan *line, struct psi_line *ret)
{
	struct psi_line pl = { 0 };
	unsigned seen = 0;
	const char *w;
	size_t wl;
	int r;

	while (scan_word(line, &w, &wl)) {
		const char *eq = memchr(w, '=', wl);
		const char *v;
		size_t kl, vl;
		unsigned bit;

		if (!eq)
			return -EINVAL;
		kl = (size_t)(eq - w);
		v = eq + 1;
		vl = wl - kl - 1;
		if (scan_word_is(w, kl, "avg10")) {
			bit = PSI_SEEN_AVG10;
			r = psi_parse_avg(v, vl, &pl.avg10);
		} else if (scan_word_is(w, kl, "avg60")) {
			bit = PSI_SEEN_AVG60;
			r = psi_parse_avg(v, vl, &pl.avg60);
		} else if (scan_word_is(w, kl, "avg300")) {
			bit = PSI_SEEN_AVG300;
			r = psi_parse_avg(v, vl, &pl.avg300);
		} else if (scan_word_is(w, kl, "total")) {
			bit = PSI_SEEN_TOTAL;
			r = parse_u64_n(v, vl, &pl.total_usec);
		} else {
			/* A field a newer kernel may add: not ours to judge. */
			continue;
		}
		if (r < 0)
			return r;
		if (seen & bit)
			return -EINVAL;
		seen |= bit;
	}
	if (seen != PSI_SEEN_ALL)
		return -EINVAL;
	*ret = pl;
	return 0;
}

int psi_parse(const char *buf, size_t len, struct psi_stats *ret)
{
	struct psi_stats st = { 0 };
	struct scan s = scan_init(buf, len);
	struct scan line;
	bool has_some = false;

	while (scan_line(&s, &line)) {
		struct psi_line *pl;
		const char *w;
		size_t wl;
		int r;

		if (!scan_word(&line, &w, &wl))
			continue;
		if (scan_word_is(w, wl, "some") && !has_some) {
			pl = &st.some;
			has_some = true;
		} else if (scan_word_is(w, wl, "full") && !st.has_full) {
			pl = &st.full;
			st.has_full = true;
		} else {
			return -EINVAL;
		}
		r = psi_parse_line(&line, pl);
		if (r < 0)
			return r;
	}
	if (!has_some)
		return -EINVAL;
	*ret = st;
	return 0;
}

int psi_read(int rootfd, const char *path, struct psi_stats *ret)
{
	/* Two lines of at most ~70 bytes each; room for a kernel that adds fields. */
	char buf[512];
	size_t len;
	int r;

	r = fileio_read_at(rootfd, path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return psi_parse(buf, len, ret);
}

int psi_trigger_format(enum psi_kind kind, uint64_t stall_usec, uint64_t window_usec, char *buf,
		       size_t len)
{
	const char *name;
	int n;

	switch (kind) {
	case PSI_SOME:
		name = "some";
		break;
	case PSI_FULL:
		name = "full";
		break;
	default:
		return -EINVAL;
	}
	if (stall_usec == 0 || stall_usec > window_usec)
		return -EINVAL;
	if (window_usec > UINT32_MAX)
		return -ERANGE;
	n = snprintf(buf, len, "%s %llu %llu", name, (unsigned long long)stall_usec,
		     (unsigned long long)window_usec);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int psi_trigger_adjust(uint64_t stall_usec, uint64_t window_usec, uint64_t *ret_stall_usec,
		       uint64_t *ret_window_usec)
{
	uint64_t window, stall;

	if (stall_usec == 0 || stall_usec > window_usec || window_usec > UINT32_MAX)
		return -EINVAL;
	if (window_usec % PSI_WINDOW_STEP_USEC == 0)
		return -EINVAL;
	window = (window_usec / PSI_WINDOW_STEP_USEC + 1) * PSI_WINDOW_STEP_USEC;
	/* Both factors are below 2^33, so the product cannot overflow. */
	stall = stall_usec * window / window_usec;
	/*
	 * A stall as long as the window would fire on any stall at all; keep
	 * the trigger meaning "some, not all, of the window".
	 */
	if (stall >= window)
		stall = window - 1;
	if (stall == 0)
		stall = 1;
	*ret_stall_usec = stall;
	*ret_window_usec = window;
	return 0;
}

/*
 * The kernel copies at most 32 bytes and overwrites the last byte it got
 * with a NUL, so the terminator is part of what we write: without it the
 * last digit of the window would be lost.
 */
static int psi_trigger_write(int fd, const char *line, size_t len)
{
	ssize_t n;

	do
		n = write(fd, line, len + 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len + 1)
		return -EIO;
	return 0;
}

int psi_trigger_arm(int fd, enum psi_kind kind, uint64_t stall_usec, uint64_t window_usec,
		    struct psi_trigger *ret)
{
	uint64_t stall = stall_usec, window = window_usec;
	bool adjusted = false;
	char line[64];
	int n, r;

	n = psi_trigger_format(kind, stall, window, line, sizeof(line));
	if (n < 0)
		return n;
	r = psi_trigger_write(fd, line, (size_t)n);
	if (r == -EINVAL) {
		/*
		 * The kernel refused the window; the write left no trigger on
		 * the fd, so the same fd takes the one retry.
		 */
		r = psi_trigger_adjust(stall_usec, window_usec, &stall, &window);
		if (r < 0)
			return -EINVAL;
		n = psi_trigger_format(kind, stall, window, line, sizeof(line));
		if (n < 0)
			return n;
		r = psi_trigger_write(fd, line, (size_t)n);
		adjusted = true;
	}
	if (r < 0)
		return r;
	ret->fd = fd;
	ret->kind = kind;
	ret->stall_usec = stall;
	ret->window_usec = window;
	ret->adjusted = adjusted;
	return 0;
}

int psi_trigger_open(int rootfd, const char *path, enum psi_kind kind, uint64_t stall_usec,
		     uint64_t window_usec, struct psi_trigger *ret)
{
	struct statfs sfs;
	char line[64];
	int fd, r;

	/* Refuse bad arguments before touching the file. */
	r = psi_trigger_format(kind, stall_usec, window_usec, line, sizeof(line));
	if (r < 0)
		return r;
	fd = openat(rootfd, path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/*
	 * Only the kernel's pressure files take triggers.  Writing the trigger
	 * line into a captured tree's plain file would silently overwrite it.
	 */
	if (fstatfs(fd, &sfs) < 0) {
		r = -errno;
		goto out;
	}
	if (sfs.f_type != PROC_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC) {
		r = -ENOTTY;
		goto out;
	}
	r = psi_trigger_arm(fd, kind, stall_usec, window_usec, ret);
	if (r == 0)
		return 0;
out:
	close(fd);
	return r;
}

void psi_trigger_close(struct psi_trigger *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
