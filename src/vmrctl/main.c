/* SPDX-License-Identifier: MIT */
/*
 * vmrctl: asks vmrd (or, with "host", vmrd-host) over its control socket
 * and prints the answer.  The daemons render everything; vmrctl only
 * chooses the command and the socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "build-config.h"
#include "common/ctlsrv.h"

#define VMRD_SOCKET "/run/vmrd/vmrd.sock"
#define HOST_SOCKET "/run/vmrd-host/control.sock"

static void usage(FILE *f)
{
	fprintf(f, "usage: vmrctl [-s socket] [--json] status | why | metrics\n"
		   "       vmrctl [-s socket] [--json] host status | host metrics\n"
		   "  -s, --socket path  control socket (default " VMRD_SOCKET ",\n"
		   "                     for host commands " HOST_SOCKET ")\n"
		   "  -j, --json         machine-readable output (status, why)\n"
		   "  -t, --timeout ms   how long to wait for the answer (default 5000)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *sock = NULL, *verb;
	int c, json = 0, timeout_ms = 5000, host = 0, r;
	char cmd[64];

	while ((c = getopt_long(argc, argv, "s:jt:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (sscanf(optarg, "%d", &timeout_ms) != 1 || timeout_ms <= 0) {
				fprintf(stderr, "vmrctl: bad timeout '%s'\n", optarg);
				return EX_USAGE;
			}
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
	if (argc != 1) {
		usage(stderr);
		return EX_USAGE;
	}
	verb = argv[0];
	if (strcmp(verb, "status") != 0 && strcmp(verb, "metrics") != 0 &&
	    (host || strcmp(verb, "why") != 0)) {
		fprintf(stderr, "vmrctl: unknown command '%s'\n", verb);
		usage(stderr);
		return EX_USAGE;
	}
	snprintf(cmd, sizeof(cmd), "%s%s", verb, json && strcmp(verb, "metrics") != 0 ? " json" : "");
	if (!sock)
		sock = host ? HOST_SOCKET : VMRD_SOCKET;
	r = ctlsrv_query(sock, cmd, STDOUT_FILENO, timeout_ms);
	if (r < 0) {
		fprintf(stderr, "vmrctl: %s: %s\n", sock, strerror(-r));
		return r == -ENOENT || r == -ECONNREFUSED ? EX_UNAVAILABLE : EX_TEMPFAIL;
	}
	return 0;
}
