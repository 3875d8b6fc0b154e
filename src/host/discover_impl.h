/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_DISCOVER_IMPL_H
#define VMRD_HOST_DISCOVER_IMPL_H

/*
 * Inside discovery, what its two halves share: discover_lv.c is the
 * libvirt thread (every libvirt call is there), discover.c the loop side
 * (the domain table, the watchers, the answers).  They meet only in the
 * command and message queues under mu, and the eventfd.
 */

#include <pthread.h>

#include <libvirt/libvirt.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "common/worker.h"
#include "host/discover.h"

#define CMD_MAX 64
#define MSG_MAX 256
#define PEND_MAX 64
#define LV_TICK_MS 250               /* the libvirt thread looks at its flags this often */
#define LV_BACKOFF_MIN_USEC (500 * 1000ull)
#define LV_BACKOFF_MAX_USEC (30 * 1000000ull)
#define LV_KEEPALIVE_SEC 5
#define LV_STOP_WAIT_USEC (2 * 1000000ull)

enum cmd_kind { CMD_REFRESH, CMD_VMEM, CMD_BALLOON };

struct lv_cmd {
	enum cmd_kind kind;
	uint32_t token;
	char dom[2 * DISCOVER_NAME_MAX];
	char alias[CONFIG_ID_MAX];
	uint64_t bytes;
};

enum msg_kind {
	MSG_UP, MSG_DOWN, MSG_LIST_BEGIN, MSG_LIST_END, MSG_DOMAIN, MSG_GONE, MSG_DONE, MSG_VMEM,
	MSG_BALLOON,
};

struct lv_msg {
	enum msg_kind kind;
	uint32_t token;
	int err;
	char text[160];
	struct discover_dom dom;  /* DOMAIN, DONE of a refresh; name only for the others */
};

struct entry {
	struct discover_dom dom;
	bool present;
	bool seen;                /* in the listing under way */
	char logged[200];         /* the last state logged for this domain */
};

struct watcher {
	char name[2 * DISCOVER_NAME_MAX];
	discover_watch_fn *fn;
	void *ctx;
	bool up;
};

struct pending {
	uint32_t token;
	discover_done_fn *fn;
	void *ctx;
};

struct discover {
	char uri[CONFIG_PATH_MAX];
	struct worker *w;

	/* Shared, under mu. */
	pthread_mutex_t mu;
	struct lv_cmd cmds[CMD_MAX];
	size_t ncmd;
	struct lv_msg msgs[MSG_MAX];
	size_t nmsg;
	bool relist;              /* a message was dropped: list again */
	int efd;                  /* the loop's wakeup */
	int wake_timer;           /* libvirt timer that wakes the thread for commands */

	/* The libvirt thread's. */
	virConnectPtr conn;
	bool conn_closed;
	struct backoff backoff;
	int cb[6];
	char last_error[160];

	/* The loop's. */
	struct loop *loop;
	struct loop_watch ev;
	const struct discover_ops *ops;
	void *ctx;
	bool up;
	unsigned connects;
	struct lv_msg inbox[MSG_MAX];
	/* Every running domain, and a watcher per libvirt VM (common/array.h; freed at close). */
	struct entry *doms;
	size_t n_doms;
	size_t doms_cap;
	struct watcher *watchers;
	size_t n_watchers;
	size_t watchers_cap;
	struct pending pend[PEND_MAX];
	uint32_t next_token;
	bool changed;
};

/* ---- the thread half (discover_lv.c) ---- */

/* libvirt's event loop and the timer that wakes the thread; once, before the thread.  0 or -EIO. */
int discover_lv_init(struct discover *disc);
/* The worker's job: connect, listen, run commands, until cancelled. */
void discover_lv_thread(void *arg);
/* Make the thread look at its commands and flags now (from any thread). */
void discover_lv_wake(struct discover *disc);
/* After the thread ended. */
void discover_lv_fini(struct discover *disc);

#endif
