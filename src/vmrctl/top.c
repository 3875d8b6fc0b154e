/* SPDX-License-Identifier: MIT */
#include "vmrctl/top.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ctlsrv.h"
#include "common/strbuf.h"

#define ERASE_EOL "\033[K"
#define ERASE_BELOW "\033[J"
#define HOME "\033[H"
/* Alternate screen and hidden cursor on the way in, both undone on the way out. */
#define ENTER "\033[?1049h\033[?25l"
#define LEAVE "\033[?25h\033[?1049l"

/* Number of lines in text (a last line without "\n" counts). */
static unsigned count_lines(const char *text)
{
	unsigned n = 0;

	for (const char *p = text; *p; p++)
		if (*p == '\n' || p[1] == '\0')
			n++;
	return n;
}

/* The start of line i of text (from 0). */
static const char *line_at(const char *text, unsigned i)
{
	while (i > 0 && *text) {
		if (*text++ == '\n')
			i--;
	}
	return text;
}

/*
 * One line of the frame, cut one column short of the width (writing the
 * last column leaves terminals in a pending wrap, where the erase would eat
 * that column).  Control characters are shown as '?': the text comes from
 * a daemon, and a terminal must not take any of it as a command.
 */
static void put_line(struct strbuf *o, const char *s, size_t len, unsigned cols, bool first)
{
	size_t max = cols > 1 ? cols - 1 : 0;

	if (!first)
		strbuf_puts(o, "\r\n");
	for (size_t i = 0; i < len && i < max; i++) {
		char c = s[i];

		strbuf_append(o, (unsigned char)c < 0x20 || c == 0x7f ? "?" : &c, 1);
	}
	strbuf_puts(o, ERASE_EOL);
}

/* Lines [from, from + n) of text, each as a frame line. */
static void put_lines(struct strbuf *o, const char *text, unsigned from, unsigned n, unsigned cols)
{
	const char *p = line_at(text, from);

	for (unsigned i = 0; i < n && *p; i++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		put_line(o, p, len, cols, false);
		p += len + (nl != NULL);
	}
}

void top_frame(const struct top_view *v, struct strbuf *o)
{
	char title[512];
	size_t tlen = strlen(v->title), clen = strlen(v->clock);
	unsigned left = v->rows > 0 ? v->rows - 1 : 0;
	unsigned n_status = count_lines(v->status), n_why, show;

	/* 1. The title, with the clock at the right edge when both fit. */
	snprintf(title, sizeof(title), "%s", v->title);
	if (clen && v->cols > 1 && tlen + 1 + clen <= v->cols - 1 && tlen < sizeof(title))
		snprintf(title + tlen, sizeof(title) - tlen, "%*s", (int)(v->cols - 1 - tlen), v->clock);
	strbuf_puts(o, HOME);
	put_line(o, title, strlen(title), v->cols, true);
	/* 2. The status, as much as fits. */
	show = n_status < left ? n_status : left;
	put_lines(o, v->status, 0, show, v->cols);
	left -= show;
	/* 3. The newest decisions, under a blank line and a heading. */
	if (v->why && v->why[0] && strncmp(v->why, "error:", 6) != 0 && left >= 3) {
		left -= 2;
		put_line(o, "", 0, v->cols, false);
		put_line(o, "recent decisions (newest last):", 31, v->cols, false);
		n_why = count_lines(v->why);
		show = n_why < left ? n_why : left;
		put_lines(o, v->why, n_why - show, show, v->cols);
	}
	strbuf_puts(o, ERASE_BELOW);
}

/* ---- the terminal and the loop ---- */

struct term {
	int in;
	struct termios saved;
	bool raw;
	int sigfd;
	sigset_t saved_mask;
};

static void term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static int write_all(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Keys without Enter and without echo; Ctrl-C stays a signal (ISIG), read
 * from a signalfd like the others, so no handler runs between the terminal
 * and its restoration.
 */
static int term_open(struct term *t)
{
	struct termios raw;
	sigset_t mask;

	t->in = STDIN_FILENO;
	if (!isatty(t->in) || !isatty(STDOUT_FILENO))
		return -ENOTTY;
	if (tcgetattr(t->in, &t->saved) < 0)
		return -errno;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, &t->saved_mask) < 0)
		return -errno;
	t->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (t->sigfd < 0) {
		int r = -errno;

		sigprocmask(SIG_SETMASK, &t->saved_mask, NULL);
		return r;
	}
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(t->in, TCSAFLUSH, &raw) == 0)
		t->raw = true;
	write_all(ENTER, strlen(ENTER));
	return 0;
}

static void term_close(struct term *t)
{
	write_all(LEAVE, strlen(LEAVE));
	if (t->raw)
		tcsetattr(t->in, TCSAFLUSH, &t->saved);
	close(t->sigfd);
	sigprocmask(SIG_SETMASK, &t->saved_mask, NULL);
}

/* The answer to cmd in out; an error becomes the text shown instead. */
static void ask(const struct top_options *o, int memfd, const char *cmd, struct strbuf *out)
{
	char buf[4096];
	ssize_t n;
	int r;

	strbuf_reset(out);
	if (ftruncate(memfd, 0) < 0 || lseek(memfd, 0, SEEK_SET) < 0) {
		strbuf_printf(out, "error: %s\n", strerror(errno));
		return;
	}
	/* An error answer is shown as it came, in place of the view. */
	r = ctlsrv_query(o->socket, cmd, memfd, memfd, o->timeout_ms);
	if (r < 0 && r != -EREMOTEIO) {
		strbuf_printf(out, "error: %s: %s (retrying)\n", o->socket, strerror(-r));
		return;
	}
	lseek(memfd, 0, SEEK_SET);
	while ((n = read(memfd, buf, sizeof(buf))) > 0)
		strbuf_append(out, buf, (size_t)n);
}

static void draw(const struct top_options *o, int memfd, struct strbuf *status, struct strbuf *why,
		 struct strbuf *frame)
{
	char title[256], clock[16];
	time_t now = time(NULL);
	struct tm tm;
	struct top_view v = { .title = title, .clock = clock };

	ask(o, memfd, "status", status);
	ask(o, memfd, "why", why);
	snprintf(title, sizeof(title), "%s top  %s  every %u.%u s  q quits", o->what, o->socket,
		 o->interval_ms / 1000, o->interval_ms % 1000 / 100);
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
	v.status = strbuf_str(status);
	v.why = strbuf_str(why);
	term_size(&v.rows, &v.cols);
	strbuf_reset(frame);
	top_frame(&v, frame);
	write_all(strbuf_str(frame), strbuf_len(frame));
}

/* What woke the loop: 1 quit, 0 go on; *resized when the terminal's size changed. */
static int handle_input(struct term *t, struct pollfd *pfd, bool *resized)
{
	struct signalfd_siginfo si;
	char keys[32];
	ssize_t n;

	if (pfd[1].revents & POLLIN) {
		while (read(t->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGWINCH)
				return 1;
			*resized = true;
		}
	}
	if (pfd[0].revents & (POLLIN | POLLHUP)) {
		n = read(t->in, keys, sizeof(keys));
		if (n == 0)
			return 1; /* the terminal went away */
		for (ssize_t i = 0; i < n; i++)
			if (keys[i] == 'q' || keys[i] == 'Q')
				return 1;
	}
	return 0;
}

int top_run(const struct top_options *o)
{
	struct strbuf status = { 0 }, why = { 0 }, frame = { 0 };
	struct term t = { 0 };
	uint64_t next_usec = 0;
	int memfd, r, ret = EX_OSERR;

	memfd = memfd_create("vmrctl-top", MFD_CLOEXEC);
	if (memfd < 0) {
		fprintf(stderr, "vmrctl: memfd_create: %s\n", strerror(errno));
		return EX_OSERR;
	}
	if (strbuf_init_growable(&status, 4096, CTLSRV_OUT_MAX) < 0 ||
	    strbuf_init_growable(&why, 4096, CTLSRV_OUT_MAX) < 0 ||
	    strbuf_init_growable(&frame, 4096, 4 * CTLSRV_OUT_MAX) < 0)
		goto out;
	r = term_open(&t);
	if (r < 0) {
		if (r == -ENOTTY)
			fprintf(stderr, "vmrctl: top needs a terminal on stdin and stdout\n");
		else
			fprintf(stderr, "vmrctl: top: %s\n", strerror(-r));
		ret = EX_USAGE;
		goto out;
	}
	ret = 0;
	for (;;) {
		struct pollfd pfd[2] = { { .fd = t.in, .events = POLLIN },
					 { .fd = t.sigfd, .events = POLLIN } };
		uint64_t now_usec = clock_now_usec();
		bool resized = false;

		/* On a deadline, so that keys other than q do not postpone the refresh. */
		if (now_usec >= next_usec) {
			draw(o, memfd, &status, &why, &frame);
			now_usec = clock_now_usec();
			next_usec = now_usec + o->interval_ms * 1000ull;
		}
		r = poll(pfd, 2, (int)((next_usec - now_usec + 999) / 1000));
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && handle_input(&t, pfd, &resized))
			break;
		if (resized)
			next_usec = 0;
	}
	term_close(&t);
out:
	strbuf_free(&status);
	strbuf_free(&why);
	strbuf_free(&frame);
	close(memfd);
	return ret;
}
