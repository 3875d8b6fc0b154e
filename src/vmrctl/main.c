/* SPDX-License-Identifier: MIT */
/*
 * vmrctl: asks vmrd (or, with "host", vmrd-host) over its control socket
 * and prints the answer.  The daemons render everything; vmrctl only
 * chooses the command and the socket (and, for top, redraws the answers).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "build-config.h"
#include "common/ctlsrv.h"
#include "vmrctl/top.h"

#define VMRD_SOCKET "/run/vmrd/vmrd.sock"
#define HOST_SOCKET "/run/vmrd-host/control.sock"

/* The commands, and where each may be used. */
struct verb {
	const char *name;
	bool guest;
	bool host;
	bool json;     /* takes --json */
	bool vm_arg;   /* host only: an optional VM name follows */
};

static const struct verb verbs[] = {
	{ "status", true, true, true, false },
	{ "why", true, true, true, true },
	{ "metrics", true, true, false, false },
	{ "top", true, true, false, false },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vmrctl [-s socket] [--json] status | why | metrics\n"
		   "       vmrctl [-s socket] [--json] host status | host why [VM] | host metrics\n"
		   "       vmrctl [-s socket] [-i ms] [host] top\n"
		   "  -s, --socket path  control socket (default " VMRD_SOCKET ",\n"
		   "                     for host commands " HOST_SOCKET ")\n"
		   "  -j, --json         machine-readable output (status, why)\n"
		   "  -t, --timeout ms   how long to wait for the answer (default 5000)\n"
		   "  -i, --interval ms  top: time between refreshes (default 1000)\n");
}

static int parse_ms(const char *what, const char *s, int min, int *ret)
{
	int v;
	char end;

	if (sscanf(s, "%d%c", &v, &end) != 1 || v < min) {
		fprintf(stderr, "vmrctl: bad %s '%s'\n", what, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static const struct verb *find_verb(const char *name, bool host)
{
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0 && (host ? verbs[i].host : verbs[i].guest))
			return &verbs[i];
	return NULL;
}

/* VM names are [A-Za-z0-9._-] (vmrd-host.conf(5)); anything else cannot match one. */
static bool vm_name_ok(const char *s)
{
	return s[0] && strlen(s) < 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						   "0123456789._-") == strlen(s);
}

/*
 * The exit status of a query, and the message that goes with it: an error
 * answer (already on stderr) is 1; no daemon there 69; one that did not
 * answer (busy, timed out, closed without a word) 75, worth a retry.
 */
static int query_status(const char *sock, int r)
{
	if (r == 0)
		return 0;
	if (r == -EREMOTEIO)
		return 1;
	if (r == -ECONNRESET)
		fprintf(stderr, "vmrctl: %s: closed without an answer (daemon busy, or not a vmrd control "
			"socket)\n", sock);
	else if (r == -ETIMEDOUT)
		fprintf(stderr, "vmrctl: %s: no answer within the timeout\n", sock);
	else
		fprintf(stderr, "vmrctl: %s: %s\n", sock, strerror(-r));
	return r == -ENOENT || r == -ECONNREFUSED ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const struct verb *verb;
	const char *sock = NULL, *vm = NULL;
	int c, json = 0, timeout_ms = 5000, interval_ms = 1000, host = 0, r;
	char cmd[CTLSRV_CMD_MAX];

	while ((c = getopt_long(argc, argv, "s:jt:i:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (parse_ms("timeout", optarg, 1, &timeout_ms) < 0)
				return EX_USAGE;
			break;
		case 'i':
			if (parse_ms("interval", optarg, 100, &interval_ms) < 0)
				return EX_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vmrctl %s\n", VMRD_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	argv += optind;
	argc -= optind;
	if (argc >= 1 && strcmp(argv[0], "host") == 0) {
		host = 1;
		argv++;
		argc--;
	}
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	verb = find_verb(argv[0], host);
	if (!verb) {
		fprintf(stderr, "vmrctl: unknown command '%s%s'\n", host ? "host " : "", argv[0]);
		usage(stderr);
		return EX_USAGE;
	}
	if (argc == 2 && host && verb->vm_arg)
		vm = argv[1];
	else if (argc != 1) {
		usage(stderr);
		return EX_USAGE;
	}
	if (vm && !vm_name_ok(vm)) {
		fprintf(stderr, "vmrctl: '%s' cannot be a VM name\n", vm);
		return EX_USAGE;
	}
	if (!sock)
		sock = host ? HOST_SOCKET : VMRD_SOCKET;
	if (strcmp(verb->name, "top") == 0) {
		struct top_options t = { .socket = sock, .what = host ? "vmrd-host" : "vmrd",
					 .interval_ms = (unsigned)interval_ms,
					 .timeout_ms = timeout_ms < 2000 ? timeout_ms : 2000 };

		return top_run(&t);
	}
	snprintf(cmd, sizeof(cmd), "%s%s%s%s", verb->name, json && verb->json ? " json" : "",
		 vm ? " " : "", vm ? vm : "");
	r = ctlsrv_query(sock, cmd, STDOUT_FILENO, STDERR_FILENO, timeout_ms);
	return query_status(sock, r);
}
