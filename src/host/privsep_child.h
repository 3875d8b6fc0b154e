/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_PRIVSEP_CHILD_H
#define VMRD_HOST_PRIVSEP_CHILD_H

/*
 * The guest reader's process (privsep.h): sandbox itself, then read the
 * channels the parent passes and send back records, until the parent's
 * end of the socket closes.  It never logs: what goes wrong before its
 * loop runs is its exit status, which the parent names (privsep_exit_why()).
 */

#include <stdbool.h>
#include <sys/types.h>

enum privsep_exit {
	PRIVSEP_EXIT_OK = 0,            /* the parent closed the socket */
	PRIVSEP_EXIT_SETUP = 90,        /* descriptors or signals could not be set up */
	PRIVSEP_EXIT_PRIVS,             /* setgroups/setgid/setuid failed */
	PRIVSEP_EXIT_NO_NEW_PRIVS,      /* prctl(PR_SET_NO_NEW_PRIVS) failed */
	PRIVSEP_EXIT_SECCOMP,           /* the filter could not be built or loaded */
	PRIVSEP_EXIT_LOOP,              /* epoll failed, or memory ran out */
	PRIVSEP_EXIT_PROTO,             /* the parent sent a record it should not have */
	PRIVSEP_EXIT_SELFTEST,          /* VMRD_PRIVSEP_SELFTEST: open() was not stopped */
};

struct privsep_sandbox {
	bool drop;                      /* become uid/gid (the parent runs as root) */
	uid_t uid;
	gid_t gid;
	pid_t parent;
};

/* Run the reader on sock (our end of the socketpair); never returns. */
void privsep_child_main(int sock, const struct privsep_sandbox *sb) __attribute__((noreturn));

/* What a child's exit status means (NULL: not one of ours). */
const char *privsep_exit_why(int status);

#endif
