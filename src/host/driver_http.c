/* SPDX-License-Identifier: MIT */
/*
 * REST APIs on unix sockets (Cloud Hypervisor, Firecracker): a libcurl
 * client whose requests run one at a time on the common worker thread,
 * and the driver both VMMs share on top of it (see driver_http.h for the
 * numbered rules).  A VMM's own file only says which requests to send and
 * how to read the answers.
 */
#include "host/driver_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/worker.h"

#define HTTP_METHOD_MAX 8
#define HTTP_BACKOFF_MIN_USEC (500 * 1000ull)
#define HTTP_BACKOFF_MAX_USEC (30 * 1000000ull)
/* How long freeing a client waits for a request in flight (curl polls the cancel flag). */
#define HTTP_STOP_WAIT_USEC (1000 * 1000ull)
#define HTTP_QUERIES_MAX 4

struct http_call {
	char method[HTTP_METHOD_MAX];
	char path[HTTP_PATH_MAX];
	char body[HTTP_REQ_BODY_MAX];
	bool has_body;
	http_done_fn *done;
	void *ctx;
};

/* The worker's inputs and outputs; allocated apart so a thread left behind keeps it. */
struct http_job {
	char socket_path[108];
	struct http_call call;
	struct worker *w;
	CURL *curl;
	int err;
	long status;
	size_t out_len;
	char errbuf[CURL_ERROR_SIZE];
	char out[HTTP_BODY_MAX + 1];
};

struct http_client {
	struct loop *loop;
	struct loop_watch wfd;
	struct http_job *job;
	bool running;
	struct http_call queue[HTTP_QUEUE_MAX];
	size_t head, n;
};

/* ---- the worker side: one blocking request ---- */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct http_job *j = arg;
	size_t len = size * n, room = HTTP_BODY_MAX - j->out_len;

	/* The rest is dropped, not refused: the status still counts. */
	memcpy(j->out + j->out_len, p, len < room ? len : room);
	j->out_len += len < room ? len : room;
	return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct http_job *j = arg;

	return worker_cancelled(j->w) ? 1 : 0;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

static void run_job(void *arg)
{
	struct http_job *j = arg;
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
	char url[HTTP_PATH_MAX + 32];
	CURLcode rc;

	j->out_len = 0;
	j->status = 0;
	j->errbuf[0] = '\0';
	snprintf(url, sizeof(url), "http://localhost%s", j->call.path);
	curl_easy_reset(j->curl);
	curl_easy_setopt(j->curl, CURLOPT_URL, url);
	curl_easy_setopt(j->curl, CURLOPT_UNIX_SOCKET_PATH, j->socket_path);
	curl_easy_setopt(j->curl, CURLOPT_CUSTOMREQUEST, j->call.method);
	curl_easy_setopt(j->curl, CURLOPT_TIMEOUT_MS, (long)(HTTP_TIMEOUT_USEC / 1000));
	curl_easy_setopt(j->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(j->curl, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(j->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(j->curl, CURLOPT_XFERINFODATA, j);
	curl_easy_setopt(j->curl, CURLOPT_ERRORBUFFER, j->errbuf);
	if (j->call.has_body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(j->curl, CURLOPT_POSTFIELDS, j->call.body);
	}
	curl_easy_setopt(j->curl, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(j->curl);
	j->err = rc == CURLE_OK ? 0 : curl_errno(rc);
	if (rc == CURLE_OK)
		curl_easy_getinfo(j->curl, CURLINFO_RESPONSE_CODE, &j->status);
	else if (j->errbuf[0] == '\0')
		snprintf(j->errbuf, sizeof(j->errbuf), "%s", curl_easy_strerror(rc));
	j->out[j->out_len] = '\0';
	curl_slist_free_all(hdr);
}

/* ---- the loop side ---- */

static void start_next(struct http_client *c)
{
	if (c->running || c->n == 0)
		return;
	c->job->call = c->queue[c->head];
	c->head = (c->head + 1) % HTTP_QUEUE_MAX;
	c->n--;
	if (worker_start(c->job->w) == 0) {
		c->running = true;
		return;
	}
	/* Cannot happen while not running; say so rather than lose the callback. */
	c->job->err = -EBUSY;
	c->job->status = 0;
	c->job->out_len = 0;
	c->job->out[0] = '\0';
	snprintf(c->job->errbuf, sizeof(c->job->errbuf), "worker busy");
	c->job->call.done(c->job->call.ctx, &(struct http_result){ .err = -EBUSY, .body = "",
								  .error = c->job->errbuf });
}

static void on_worker(struct loop_watch *w, uint32_t events)
{
	struct http_client *c = LOOP_OWNER(w, struct http_client, wfd);
	struct http_job *j = c->job;
	struct http_result r;

	if (worker_collect(j->w) != 1)
		return;
	c->running = false;
	r = (struct http_result){ .err = j->err, .status = j->status, .body = j->out,
				  .len = j->out_len, .error = j->errbuf };
	/* A cancelled request has no caller any more. */
	if (j->call.done && j->err != -ECANCELED)
		j->call.done(j->call.ctx, &r);
	start_next(c);
}

int http_client_new(struct loop *loop, const char *socket_path, struct http_client **ret)
{
	struct http_client *c = calloc(1, sizeof(*c));
	struct http_job *j = calloc(1, sizeof(*j));
	int r = -ENOMEM;

	if (!c || !j)
		goto out;
	/* Once per process and before any thread uses curl; later calls only count. */
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK || !(j->curl = curl_easy_init()))
		goto out;
	snprintf(j->socket_path, sizeof(j->socket_path), "%s", socket_path);
	r = worker_new(run_job, j, &j->w);
	if (r < 0)
		goto out;
	c->loop = loop;
	c->job = j;
	loop_watch_init(&c->wfd, on_worker);
	c->wfd.fd = worker_fd(j->w);
	r = loop_add(loop, &c->wfd, EPOLLIN);
	if (r < 0) {
		worker_stop(j->w, UINT64_MAX);
		goto out;
	}
	*ret = c;
	return 0;
out:
	if (j && j->curl)
		curl_easy_cleanup(j->curl);
	free(j);
	free(c);
	return r;
}

int http_request(struct http_client *c, const char *method, const char *path, const char *body,
		 http_done_fn *done, void *ctx)
{
	struct http_call *call;

	if (c->n == HTTP_QUEUE_MAX)
		return -ENOBUFS;
	call = &c->queue[(c->head + c->n) % HTTP_QUEUE_MAX];
	*call = (struct http_call){ .done = done, .ctx = ctx, .has_body = body != NULL };
	snprintf(call->method, sizeof(call->method), "%s", method);
	snprintf(call->path, sizeof(call->path), "%s", path);
	if (body)
		snprintf(call->body, sizeof(call->body), "%s", body);
	c->n++;
	start_next(c);
	return 0;
}

void http_client_cancel(struct http_client *c)
{
	c->n = 0;
	if (c->running) {
		c->job->call.done = NULL;
		worker_cancel(c->job->w);
	}
}

size_t http_client_pending(const struct http_client *c)
{
	return c->n + c->running;
}

void http_client_free(struct http_client *c)
{
	struct http_job *j;

	if (!c)
		return;
	j = c->job;
	http_client_cancel(c);
	loop_del(c->loop, &c->wfd);
	/* A thread still in curl after the wait keeps the job: it is left, not freed under it. */
	if (worker_stop(j->w, HTTP_STOP_WAIT_USEC) == 0) {
		curl_easy_cleanup(j->curl);
		free(j);
	}
	free(c);
}

void http_excerpt(const char *body, size_t len, char *buf, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++)
		buf[n++] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : ' ';
	buf[n] = '\0';
}

/* ---- the driver both VMMs share ---- */

enum http_link { HTTP_LINK_DOWN, HTTP_LINK_PROBING, HTTP_LINK_UP };

struct driver_http;

/* The context of one query's callback: which driver, which query. */
struct http_query_ctx {
	struct driver_http *dh;
	size_t i;
};

struct driver_http {
	struct driver *d;
	const struct http_vmm *vmm;
	struct http_client *c;
	enum http_link link;
	struct backoff backoff;
	unsigned connects;
	unsigned reconcile_waiting;
	bool reconcile_failed;
	unsigned skipped[2];       /* per enum driver_device: resizes not sent, completed on the next tick */
	struct http_query_ctx qctx[HTTP_QUERIES_MAX];
};

static struct driver_http *impl(const struct driver *d)
{
	return d->impl;
}

static bool needed(const struct driver *d, const struct http_query *q)
{
	return (!(q->needs & HTTP_NEEDS_VMEM) || d->cfg.vmem_id[0]) &&
	       (!(q->needs & HTTP_NEEDS_BALLOON) || d->cfg.balloon_id[0]);
}

/* Log a failed request once, with the status and the start of the body. */
static void report(struct driver_http *dh, const char *what, const struct http_result *r,
		   const char *parse_error)
{
	char cls[32], desc[HTTP_EXCERPT_MAX + 80];

	if (r->err < 0) {
		snprintf(cls, sizeof(cls), "%s", r->err == -ETIMEDOUT ? "timeout" : "no answer");
		snprintf(desc, sizeof(desc), "%s", r->error ? r->error : "");
	} else {
		char ex[HTTP_EXCERPT_MAX];

		http_excerpt(r->body, r->len, ex, sizeof(ex));
		snprintf(cls, sizeof(cls), parse_error ? "bad answer" : "HTTP %ld", r->status);
		if (parse_error)
			snprintf(desc, sizeof(desc), "HTTP %ld: %s, body \"%s\"", r->status, parse_error, ex);
		else
			snprintf(desc, sizeof(desc), "body \"%s\"", ex);
	}
	driver_failed(dh->d, what, cls, desc);
}

/* Drop what is queued and wait for the backoff before the next reconciliation. */
static void go_down(struct driver_http *dh, int err)
{
	enum http_link was = dh->link;
	uint64_t delay;

	http_client_cancel(dh->c);
	dh->link = HTTP_LINK_DOWN;
	dh->reconcile_waiting = 0;
	delay = backoff_failed(&dh->backoff, clock_now_usec());
	if (was == HTTP_LINK_UP)
		driver_link_down(dh->d, err);
	else
		driver_link_failed(dh->d, err);
	log_info("vm %s: %s API: next try in %llu ms", dh->d->cfg.name, dh->vmm->name,
		 (unsigned long long)(delay / 1000));
}

static bool http_ok(const struct http_result *r)
{
	return r->err == 0 && r->status >= 200 && r->status < 300;
}

static void on_query(void *ctx, const struct http_result *r)
{
	struct http_query_ctx *qc = ctx;
	struct driver_http *dh = qc->dh;
	const struct http_query *q = &dh->vmm->queries[qc->i];
	char perr[96] = "";
	int p = -EINVAL;

	if (http_ok(r))
		p = q->parse(dh->d, r->body, r->len, perr, sizeof(perr));
	if (p < 0) {
		report(dh, q->path, r, r->err == 0 && http_ok(r) ? perr : NULL);
		go_down(dh, r->err < 0 ? r->err : -EPROTO);
		return;
	}
	driver_sizes_changed(dh->d);
	if (dh->reconcile_waiting && --dh->reconcile_waiting == 0) {
		dh->link = HTTP_LINK_UP;
		dh->connects++;
		backoff_succeeded(&dh->backoff);
		log_info("vm %s: %s API answers on %s", dh->d->cfg.name, dh->vmm->name, dh->d->cfg.api_path);
		driver_reconcile_done(dh->d, true);
	}
}

int driver_http_query(struct driver *d, bool reconcile, uint64_t now_usec)
{
	struct driver_http *dh = impl(d);
	int r = 0;

	/* A refresh while answers are still due would only queue the same questions twice. */
	if (!reconcile && http_client_pending(dh->c))
		return 0;
	dh->reconcile_waiting = 0;
	for (size_t i = 0; i < dh->vmm->n_queries && r == 0; i++) {
		const struct http_query *q = &dh->vmm->queries[i];

		if (!needed(d, q) || (!reconcile && !q->refresh))
			continue;
		dh->reconcile_waiting += reconcile;
		r = http_request(dh->c, "GET", q->path, NULL, on_query, &dh->qctx[i]);
	}
	/* A reconciliation that could not be asked would wait for answers forever. */
	if (r < 0 && reconcile)
		go_down(dh, r);
	return r;
}

static void resized(struct driver_http *dh, enum driver_device dev, const struct http_result *r)
{
	if (!http_ok(r)) {
		report(dh, "resize", r, NULL);
		/* Down first: the sizes are unknown now, and no retry goes out before the backoff. */
		go_down(dh, r->err < 0 ? r->err : -EPROTO);
	}
	driver_resize_done(dh->d, dev, http_ok(r) ? 0 : -EPROTO, clock_now_usec());
}

static void on_vmem_resized(void *ctx, const struct http_result *r)
{
	resized(ctx, DRIVER_VMEM, r);
}

static void on_balloon_resized(void *ctx, const struct http_result *r)
{
	resized(ctx, DRIVER_BALLOON, r);
}

static int send_resize(struct driver_http *dh, enum driver_device dev, bool send,
		       const char *method, const char *path, const char *body)
{
	if (dh->link != HTTP_LINK_UP)
		return -ENOTCONN;
	if (!send) {
		/* driver_apply() counts the command after this returns: complete it on the next tick. */
		log_debug("vm %s: %s already holds that size; not sent", dh->d->cfg.name, dh->vmm->name);
		dh->skipped[dev]++;
		return 0;
	}
	return http_request(dh->c, method, path, body,
			    dev == DRIVER_VMEM ? on_vmem_resized : on_balloon_resized, dh);
}

/* A resize the VMM's table builds: build is its vmem_request or balloon_request. */
static int resize(struct driver *d, enum driver_device dev, uint64_t bytes,
		  bool (*build)(const struct driver *, uint64_t, const char **, const char **, char *, size_t))
{
	struct driver_http *dh = impl(d);
	const char *method = NULL, *path = NULL;
	char body[HTTP_REQ_BODY_MAX];
	bool send = build(d, bytes, &method, &path, body, sizeof(body));

	return send_resize(dh, dev, send, method, path, body);
}

int driver_http_set_vmem(struct driver *d, uint64_t requested_bytes, uint64_t now_usec)
{
	return resize(d, DRIVER_VMEM, requested_bytes, impl(d)->vmm->vmem_request);
}

int driver_http_set_balloon(struct driver *d, uint64_t target_bytes, uint64_t now_usec)
{
	return resize(d, DRIVER_BALLOON, target_bytes, impl(d)->vmm->balloon_request);
}

void driver_http_tick(struct driver *d, uint64_t now_usec)
{
	struct driver_http *dh = impl(d);

	for (int dev = DRIVER_VMEM; dev <= DRIVER_BALLOON; dev++)
		while (dh->skipped[dev]) {
			dh->skipped[dev]--;
			driver_resize_done(d, (enum driver_device)dev, 0, now_usec);
		}
	if (dh->link != HTTP_LINK_DOWN || backoff_waiting(&dh->backoff, now_usec))
		return;
	dh->link = HTTP_LINK_PROBING;
	/* There is no connection to keep: a reconciliation that works is the link coming up. */
	driver_link_up(d, now_usec);
}

int driver_http_open(struct driver *d, const struct http_vmm *vmm)
{
	struct driver_http *dh = calloc(1, sizeof(*dh));
	int r;

	if (!dh)
		return -ENOMEM;
	if (vmm->n_queries > HTTP_QUERIES_MAX) {
		free(dh);
		return -E2BIG;
	}
	r = http_client_new(d->env->loop, d->cfg.api_path, &dh->c);
	if (r < 0) {
		free(dh);
		return r;
	}
	dh->d = d;
	dh->vmm = vmm;
	for (size_t i = 0; i < vmm->n_queries; i++)
		dh->qctx[i] = (struct http_query_ctx){ .dh = dh, .i = i };
	backoff_init(&dh->backoff, HTTP_BACKOFF_MIN_USEC, HTTP_BACKOFF_MAX_USEC);
	d->impl = dh;
	return 0;
}

void driver_http_stop(struct driver *d)
{
	struct driver_http *dh = impl(d);

	http_client_cancel(dh->c);
	dh->link = HTTP_LINK_DOWN;
	dh->skipped[DRIVER_VMEM] = dh->skipped[DRIVER_BALLOON] = 0;
}

void driver_http_close(struct driver *d)
{
	struct driver_http *dh = impl(d);

	if (!dh)
		return;
	http_client_free(dh->c);
	free(dh);
	d->impl = NULL;
}

const char *driver_http_link_word(const struct driver *d)
{
	static const char *const words[] = { "down", "probing", "ready" };

	return words[impl(d)->link];
}

unsigned driver_http_connects(const struct driver *d)
{
	return impl(d)->connects;
}
