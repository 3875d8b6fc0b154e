/* SPDX-License-Identifier: MIT */
/*
 * scale-peers: load for vmrd-host (make bench-scale) -- N fake QEMUs and N
 * fake guests in one process, NOT a test of QEMU (the real-QEMU tests are
 * in tests/host).  For each VM i it serves two unix sockets in DIR that
 * vmrd-host connects to:
 *   vmI.qmp    a QMP peer with a virtio-mem device vmem0 that follows every
 *              requested-size at once (greeting, qmp_capabilities,
 *              query-memory-size-summary, query-memory-devices, qom-set);
 *   vmI.guest  the guest's channel: hello, then a report every
 *              REPORT interval and a request every REQUEST interval on
 *              average (uniformly spread), alternately 128 MiB up
 *              (urgency normal) and down (low), answering each grant with
 *              done.
 * VM 0 is the one measured: it asks every MEASURE interval, up with
 * urgency high (not held after a shrink) and down with low.  The time from
 * writing a request to reading its grant or deny is the latency; every
 * answer of every VM is recorded to DIR/latency.csv (vm,seq,answer,us).
 *
 *   scale-peers DIR N [-d SECONDS] [-q REQUEST_S] [-r REPORT_S] [-m MEASURE_MS]
 *
 * It prints "ready" once it listens, runs until every guest was welcomed
 * and SECONDS more have passed (or 5 minutes without that), and prints a
 * JSON summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define SEC UINT64_C(1000000)
#define BUF 8192
#define TICK_MS 5

enum kind { QMP_LISTEN, QMP_CONN, GUEST_LISTEN, GUEST_CONN };

struct peer;

struct end {
	int fd;
	enum kind kind;
	struct peer *p;
	char in[BUF];
	size_t in_len;
};

struct peer {
	size_t idx;
	struct end qmp_l, qmp_c, guest_l, guest_c;
	uint64_t boot, plugged, max_plug;      /* the fake QEMU */
	bool welcomed;
	uint64_t seq;
	uint64_t pending_seq;                  /* 0: no request in flight */
	uint64_t sent_usec;
	uint64_t next_req_usec, next_report_usec;
	bool up;                               /* the next request grows */
};

struct stats {
	uint64_t *us;
	size_t n, cap;
	uint64_t grants, denies;
};

static struct {
	size_t n;
	struct peer *peers;
	int epfd;
	uint64_t rng;
	uint64_t req_usec, report_usec, measure_usec;
	struct stats measured, all;
	uint64_t requests, reports, welcomed;
	FILE *csv;
} g;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t rng_next(void)
{
	uint64_t z = (g.rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A wait of the given mean, uniform between none and twice it. */
static uint64_t spread(uint64_t mean)
{
	return rng_next() % (2 * mean + 1);
}

static void die(const char *what)
{
	fprintf(stderr, "scale-peers: %s: %s\n", what, strerror(errno));
	exit(70);
}

static void watch(struct end *e, int fd, enum kind kind, struct peer *p)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = e };

	e->fd = fd;
	e->kind = kind;
	e->p = p;
	e->in_len = 0;
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

static int listen_at(const char *dir, size_t i, const char *suffix)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vm%zu.%s", dir, i, suffix);
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		die(sa.sun_path);
	return fd;
}

static void put(struct end *e, const char *s)
{
	size_t len = strlen(s), off = 0;

	/* Lines are short and the broker reads: a full socket buffer is waited out. */
	while (off < len) {
		ssize_t w = write(e->fd, s + off, len - off);

		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return;
		off += w > 0 ? (size_t)w : 0;
	}
}

static void drop(struct end *e)
{
	if (e->fd < 0)
		return;
	epoll_ctl(g.epfd, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	e->fd = -1;
	if (e->kind == GUEST_CONN) {
		e->p->welcomed = false;
		e->p->pending_seq = 0;
	}
}

/* ---- the fake QEMU ---- */

static uint64_t json_number(const char *line, const char *key)
{
	const char *k = strstr(line, key);

	if (!k)
		return 0;
	k += strlen(key);
	while (*k == ' ' || *k == ':' || *k == '"')
		k++;
	return strtoull(k, NULL, 10);
}

static void qmp_line(struct end *e, const char *line)
{
	struct peer *p = e->p;
	char out[1024], id[64] = "";
	const char *idp = strstr(line, "\"id\"");

	if (idp)
		snprintf(id, sizeof(id), ", \"id\": %llu", (unsigned long long)json_number(line, "\"id\""));
	if (strstr(line, "query-memory-size-summary"))
		snprintf(out, sizeof(out), "{\"return\": {\"base-memory\": %llu, \"plugged-memory\": %llu}%s}\n",
			 (unsigned long long)p->boot, (unsigned long long)p->plugged, id);
	else if (strstr(line, "query-memory-devices"))
		snprintf(out, sizeof(out),
			 "{\"return\": [{\"type\": \"virtio-mem\", \"data\": {\"id\": \"vmem0\", \"memaddr\": "
			 "4294967296, \"node\": 0, \"memdev\": \"/objects/mem0\", \"size\": %llu, "
			 "\"requested-size\": %llu, \"max-size\": %llu, \"block-size\": 2097152}}]%s}\n",
			 (unsigned long long)p->plugged, (unsigned long long)p->plugged,
			 (unsigned long long)p->max_plug, id);
	else if (strstr(line, "qom-set")) {
		uint64_t v = json_number(line, "\"value\"");

		p->plugged = v > p->max_plug ? p->max_plug : v;
		snprintf(out, sizeof(out), "{\"return\": {}%s}\n", id);
	} else if (strstr(line, "qmp_capabilities"))
		snprintf(out, sizeof(out), "{\"return\": {}%s}\n", id);
	else
		snprintf(out, sizeof(out), "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
					   "\"scale-peers\"}%s}\n", id);
	put(e, out);
}

/* ---- the fake guest ---- */

static void record(struct peer *p, bool grant)
{
	uint64_t us = now_usec() - p->sent_usec;
	struct stats *sets[2] = { &g.all, p->idx == 0 ? &g.measured : NULL };

	for (int k = 0; k < 2; k++) {
		struct stats *s = sets[k];

		if (!s)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 4096;
			s->us = realloc(s->us, s->cap * sizeof(*s->us));
			if (!s->us)
				die("realloc");
		}
		s->us[s->n++] = us;
		s->grants += grant;
		s->denies += !grant;
	}
	if (g.csv)
		fprintf(g.csv, "%zu,%llu,%s,%llu\n", p->idx, (unsigned long long)p->pending_seq,
			grant ? "grant" : "deny", (unsigned long long)us);
}

static void guest_line(struct end *e, const char *line)
{
	struct peer *p = e->p;
	uint64_t seq = json_number(line, "seq=");
	char out[256];

	if (strncmp(line, "welcome ", 8) == 0) {
		if (!p->welcomed)
			g.welcomed++;
		p->welcomed = true;
		return;
	}
	if (!p->pending_seq || seq != p->pending_seq)
		return;
	if (strncmp(line, "grant ", 6) == 0) {
		record(p, true);
		snprintf(out, sizeof(out), "done seq=%llu current=%llu\n", (unsigned long long)seq,
			 (unsigned long long)json_number(line, "target="));
		put(e, out);
		p->pending_seq = 0;
	} else if (strncmp(line, "deny ", 5) == 0) {
		record(p, false);
		p->pending_seq = 0;
	}
}

static void guest_hello(struct peer *p)
{
	char out[256];

	snprintf(out, sizeof(out), "hello v=1 block=134217728 current=%llu agent=scale-peers\n",
		 (unsigned long long)(p->boot + p->plugged));
	put(&p->guest_c, out);
}

static void guest_due(struct peer *p, uint64_t now)
{
	uint64_t cur = p->boot + p->plugged;
	char out[256];

	if (p->guest_c.fd < 0 || !p->welcomed)
		return;
	if (now >= p->next_report_usec) {
		snprintf(out, sizeof(out), "report mem_total=%llu mem_available=%llu psi_some_avg10=%u "
			 "psi_full_avg10=0\n", (unsigned long long)cur, (unsigned long long)(cur / 3),
			 (unsigned)(rng_next() % 200));
		put(&p->guest_c, out);
		g.reports++;
		p->next_report_usec = now + g.report_usec;
	}
	if (now < p->next_req_usec || p->pending_seq)
		return;
	/* Up while there is room, down to the boot size: always a real change. */
	if (p->plugged == 0)
		p->up = true;
	if (p->plugged + 128 * MIB > p->max_plug)
		p->up = false;
	p->pending_seq = ++p->seq;
	snprintf(out, sizeof(out), "request seq=%llu target=%llu urgency=%s reason=bench\n",
		 (unsigned long long)p->seq,
		 (unsigned long long)(p->up ? cur + 128 * MIB : cur - 128 * MIB),
		 p->up ? (p->idx == 0 ? "high" : "normal") : "low");
	p->up = !p->up;
	p->sent_usec = now_usec();
	put(&p->guest_c, out);
	g.requests++;
	p->next_req_usec = now + (p->idx == 0 ? g.measure_usec : spread(g.req_usec));
}

/* ---- the loop ---- */

static void accept_on(struct end *l)
{
	struct peer *p = l->p;
	struct end *c = l->kind == QMP_LISTEN ? &p->qmp_c : &p->guest_c;
	int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	drop(c);
	watch(c, fd, l->kind == QMP_LISTEN ? QMP_CONN : GUEST_CONN, p);
	if (c->kind == QMP_CONN) {
		put(c, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, "
		       "\"package\": \"scale-peers\"}, \"capabilities\": []}}\n");
	} else {
		guest_hello(p);
		p->next_report_usec = now_usec() + rng_next() % g.report_usec;
		p->next_req_usec = now_usec() + (p->idx == 0 ? g.measure_usec : spread(g.req_usec));
	}
}

static void readable(struct end *e)
{
	ssize_t n = read(e->fd, e->in + e->in_len, sizeof(e->in) - 1 - e->in_len);
	char *start, *nl;

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		drop(e);
		return;
	}
	e->in_len += (size_t)n;
	e->in[e->in_len] = '\0';
	start = e->in;
	while ((nl = strchr(start, '\n'))) {
		*nl = '\0';
		if (e->kind == QMP_CONN)
			qmp_line(e, start);
		else
			guest_line(e, start);
		start = nl + 1;
	}
	e->in_len -= (size_t)(start - e->in);
	memmove(e->in, start, e->in_len);
	/* A line longer than the buffer is nonsense from the broker: start afresh. */
	if (e->in_len == sizeof(e->in) - 1)
		e->in_len = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_stats(const char *name, struct stats *s, const char *sep)
{
	qsort(s->us, s->n, sizeof(*s->us), cmp_u64);
	printf("\"%s\": {\"answers\": %zu, \"grants\": %llu, \"denies\": %llu", name, s->n,
	       (unsigned long long)s->grants, (unsigned long long)s->denies);
	if (s->n)
		printf(", \"p50_us\": %llu, \"p99_us\": %llu, \"max_us\": %llu",
		       (unsigned long long)s->us[(s->n + 1) / 2 - 1],
		       (unsigned long long)s->us[(s->n * 99 + 99) / 100 - 1],
		       (unsigned long long)s->us[s->n - 1]);
	printf("}%s", sep);
}

static void raise_nofile(size_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void setup(const char *dir)
{
	g.peers = calloc(g.n, sizeof(*g.peers));
	if (!g.peers)
		die("calloc");
	raise_nofile(4 * g.n + 64);
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		die("epoll_create1");
	for (size_t i = 0; i < g.n; i++) {
		struct peer *p = &g.peers[i];

		p->idx = i;
		p->boot = GIB;
		p->max_plug = GIB;
		p->qmp_c.fd = p->guest_c.fd = -1;
		watch(&p->qmp_l, listen_at(dir, i, "qmp"), QMP_LISTEN, p);
		watch(&p->guest_l, listen_at(dir, i, "guest"), GUEST_LISTEN, p);
	}
}

static void loop(uint64_t run_usec)
{
	uint64_t start = now_usec(), all_in = 0;

	for (;;) {
		struct epoll_event evs[256];
		int k = epoll_wait(g.epfd, evs, 256, TICK_MS);
		uint64_t now;

		for (int i = 0; i < k; i++) {
			struct end *e = evs[i].data.ptr;

			if (e->kind == QMP_LISTEN || e->kind == GUEST_LISTEN)
				accept_on(e);
			else if (e->fd >= 0)
				readable(e);
		}
		now = now_usec();
		for (size_t i = 0; i < g.n; i++)
			guest_due(&g.peers[i], now);
		if (!all_in && g.welcomed == g.n) {
			all_in = now;
			fprintf(stderr, "scale-peers: all %zu guests welcomed after %.1f s\n", g.n,
				(now - start) / 1e6);
		}
		if ((all_in && now - all_in >= run_usec) || now - start >= 300 * SEC + run_usec)
			return;
	}
}

int main(int argc, char **argv)
{
	double dur = 60, req = 30, rep = 5, measure_ms = 1000;
	char path[512];
	int opt;

	while ((opt = getopt(argc, argv, "d:q:r:m:")) != -1) {
		double *dst = opt == 'd' ? &dur : opt == 'q' ? &req : opt == 'r' ? &rep : opt == 'm' ? &measure_ms : NULL;

		if (!dst || (*dst = atof(optarg)) <= 0) {
			fprintf(stderr, "usage: scale-peers DIR N [-d S] [-q S] [-r S] [-m MS]\n");
			return 64;
		}
	}
	if (argc - optind != 2 || (g.n = strtoul(argv[optind + 1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: scale-peers DIR N [-d S] [-q S] [-r S] [-m MS]\n");
		return 64;
	}
	g.rng = 1;
	g.req_usec = (uint64_t)(req * 1e6);
	g.report_usec = (uint64_t)(rep * 1e6);
	g.measure_usec = (uint64_t)(measure_ms * 1e3);
	snprintf(path, sizeof(path), "%s/latency.csv", argv[optind]);
	g.csv = fopen(path, "we");
	if (g.csv)
		fprintf(g.csv, "vm,seq,answer,us\n");
	setup(argv[optind]);
	printf("ready\n");
	fflush(stdout);
	loop((uint64_t)(dur * 1e6));
	printf("{\"vms\": %zu, \"welcomed\": %llu, \"requests\": %llu, \"reports\": %llu, ", g.n,
	       (unsigned long long)g.welcomed, (unsigned long long)g.requests,
	       (unsigned long long)g.reports);
	print_stats("measured", &g.measured, ", ");
	print_stats("all", &g.all, "}\n");
	if (g.csv)
		fclose(g.csv);
	return 0;
}
