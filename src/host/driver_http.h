/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_DRIVER_HTTP_H
#define VMRD_HOST_DRIVER_HTTP_H

/*
 * The half of the Cloud Hypervisor and Firecracker drivers they share: a
 * REST API on a unix socket, spoken with libcurl.  Each VM has its own
 * client, whose requests run one at a time on a worker thread (a VMM that
 * answers slowly or not at all holds up only its own VM), with a timeout.
 *
 * A VMM is described by a struct http_vmm: the GET requests that tell its
 * sizes and a parser for each answer, and how to ask for a virtio-mem or
 * balloon size.  The driver (driver_http.c) does the rest, the same way
 * for both:
 *  1. The link is "down" until every query of a reconciliation answered
 *     200 with JSON the parser took; then the driver is reconciled.
 *  2. Any failure (no socket, timeout, an HTTP status >= 300, JSON the
 *     parser refused) is logged once with the status and the start of the
 *     body; while reconciled it takes the link down, and the next
 *     reconciliation waits for the common backoff (0.5 s doubling to 30 s).
 *     Other VMs never notice: each has its own client and thread.
 *  3. A resize the VMM is known to hold already is not sent (Cloud
 *     Hypervisor answers an unchanged size with HTTP 500); it completes at
 *     once.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "host/driver.h"

#define HTTP_BODY_MAX (64 * 1024)     /* a longer answer is cut (and fails to parse) */
#define HTTP_REQ_BODY_MAX 256
#define HTTP_PATH_MAX 64
#define HTTP_QUEUE_MAX 8
#define HTTP_TIMEOUT_USEC (5 * 1000000ull)
#define HTTP_EXCERPT_MAX 120          /* of a body, in a log line */

struct http_client;

/* What came back: status 0 and err < 0 when there was no HTTP answer at all. */
struct http_result {
	int err;            /* 0, or -ETIMEDOUT, -ECONNREFUSED, -ENOENT, -EIO */
	long status;        /* HTTP status */
	const char *body;   /* NUL-terminated, len bytes (cut at HTTP_BODY_MAX) */
	size_t len;
	const char *error;  /* libcurl's text when err < 0 */
};

typedef void http_done_fn(void *ctx, const struct http_result *r);

/*
 * A client for the API at socket_path; requests queue and run one at a
 * time.  0 or -errno.
 */
int http_client_new(struct loop *loop, const char *socket_path, struct http_client **ret);
/* Queue a request (body NULL: none); done is called from the loop.  -ENOBUFS when full. */
int http_request(struct http_client *c, const char *method, const char *path, const char *body,
		 http_done_fn *done, void *ctx);
/* Drop queued requests without callbacks (the one running ends without one too). */
void http_client_cancel(struct http_client *c);
/* Cancel everything and free the client. */
void http_client_free(struct http_client *c);
/* Requests queued or running. */
size_t http_client_pending(const struct http_client *c);

/* The first bytes of a body, printable, for a log line. */
void http_excerpt(const char *body, size_t len, char *buf, size_t size);

/* ---- the VMM table ---- */

/* A query that only a VM with that device needs. */
#define HTTP_NEEDS_VMEM (1u << 0)
#define HTTP_NEEDS_BALLOON (1u << 1)

struct http_query {
	const char *path;
	unsigned needs;     /* HTTP_NEEDS_* bits, 0: every VM */
	bool refresh;       /* asked again on a refresh, not only on reconciliation */
	/* Fill the sizes from a 200 answer; 0, or -EINVAL with why in err. */
	int (*parse)(struct driver *d, const char *body, size_t len, char *err, size_t err_size);
};

struct http_vmm {
	const char *name;                   /* for logs: "Cloud Hypervisor" */
	const struct http_query *queries;   /* asked on every reconciliation */
	size_t n_queries;
	/* A resize request: method, path and body; false when the VMM already holds it. */
	bool (*vmem_request)(const struct driver *d, uint64_t requested_bytes, const char **method,
			     const char **path, char *body, size_t size);
	bool (*balloon_request)(const struct driver *d, uint64_t target_bytes, const char **method,
				const char **path, char *body, size_t size);
};

/* The two tables (their parsers are fuzzed through them). */
extern const struct http_vmm driver_ch_vmm;
extern const struct http_vmm driver_fc_vmm;

/* For a VMM's open(): the shared driver over vmm's table. */
int driver_http_open(struct driver *d, const struct http_vmm *vmm);

void driver_http_stop(struct driver *d);
void driver_http_close(struct driver *d);
void driver_http_tick(struct driver *d, uint64_t now_usec);
int driver_http_query(struct driver *d, bool reconcile, uint64_t now_usec);
int driver_http_set_vmem(struct driver *d, uint64_t requested_bytes, uint64_t now_usec);
int driver_http_set_balloon(struct driver *d, uint64_t target_bytes, uint64_t now_usec);
const char *driver_http_link_word(const struct driver *d);
unsigned driver_http_connects(const struct driver *d);

/* The ops of a VMM on this driver, but name and open. */
#define DRIVER_HTTP_OPS                          \
	.stop = driver_http_stop,                \
	.close = driver_http_close,              \
	.tick = driver_http_tick,                \
	.query = driver_http_query,              \
	.set_vmem = driver_http_set_vmem,        \
	.set_balloon = driver_http_set_balloon,  \
	.link_word = driver_http_link_word,      \
	.connects = driver_http_connects

#endif
