/* SPDX-License-Identifier: MIT */
#ifndef VMRCTL_TOP_H
#define VMRCTL_TOP_H

/*
 * vmrctl top: a live, one-screen view of a daemon.  Every interval it asks
 * the daemon for "status" and "why" (the daemon renders both, as for the
 * one-shot commands) and draws them on the terminal's alternate screen:
 *
 *   1. a title line: what is watched, the refresh interval, the time;
 *   2. the status, as the daemon wrote it;
 *   3. the most recent decisions of "why" (newest last), as many as fit.
 *
 * Lines are cut at the terminal's width and the frame at its height.  It
 * quits on q, Q, Ctrl-C (SIGINT), SIGTERM or SIGHUP, and always leaves the
 * terminal as it found it (modes, cursor, main screen).
 */

#include <stdint.h>

struct strbuf;

struct top_view {
	const char *title;  /* line 1, left */
	const char *clock;  /* line 1, right ("" for none) */
	const char *status; /* the daemon's "status" answer, or an error line */
	const char *why;    /* the daemon's "why" answer; NULL or "" for none */
	unsigned rows;
	unsigned cols;
};

/*
 * The frame for v as terminal output: every line starts at column 0, ends
 * with "erase to end of line", and the frame ends with "erase below", so a
 * frame drawn over the previous one leaves nothing of it.  Pure.
 */
void top_frame(const struct top_view *v, struct strbuf *out);

struct top_options {
	const char *socket;
	const char *what;      /* "vmrd" or "vmrd-host", for the title */
	unsigned interval_ms;
	int timeout_ms;
};

/* Run until the user quits; returns a sysexits(3) code. */
int top_run(const struct top_options *o);

#endif
