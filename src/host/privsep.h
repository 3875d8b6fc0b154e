/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_PRIVSEP_H
#define VMRD_HOST_PRIVSEP_H

/*
 * Privilege separation in the OpenBSD manner: every guest byte is read and
 * parsed in a child process, the guest reader, that holds nothing else.
 *
 * 1. privsep_start() forks the reader before vmrd-host connects to any
 *    QMP socket.  The child (privsep_child.c) closes every descriptor but
 *    its end of a SOCK_SEQPACKET socketpair and stderr, becomes nobody
 *    when run as root, sets no_new_privs and loads a seccomp allow-list
 *    whose default action kills it (docs/privsep.md lists the calls).
 * 2. The parent keeps connecting and accepting the channels (vm.c,
 *    vsock.c, discovery) and passes each descriptor to the child with
 *    SCM_RIGHTS (vm_reader_ops.attach); the child frames and parses the
 *    lines and sends back fixed-size typed records (privsep_rec.h), which
 *    the parent checks before vm_input() sees them.  The parent never
 *    reads a guest channel.
 * 3. The parent keeps its own copy of each descriptor and writes the
 *    answers itself: writing is not parsing, one writer keeps the order of
 *    answers (an error for a bad line and a grant never interleave), the
 *    output queue bound stays in vm.c, and the copy is what a restarted
 *    child is given again.  The child has no way to write to a guest.
 * 4. A child that dies (or that the parent kills: a bad record, a socket
 *    it does not drain) is reaped, its cause logged once, and a new one
 *    forked after a backoff (common/backoff) with every live channel
 *    passed again.  The VMs' sessions, sizes and grants live in the
 *    parent, so none is lost; at most the line being read is.
 * 5. A child that is alive but stuck (a parser in a loop) would leave
 *    every guest unheard: the parent pings it every PRIVSEP_PING_USEC and
 *    replaces it when a ping goes unanswered for PRIVSEP_STUCK_USEC.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "host/privsep_rec.h"
#include "host/vm.h"

#define PRIVSEP_BACKOFF_MIN_USEC (100 * 1000ull)
#define PRIVSEP_BACKOFF_MAX_USEC (10 * 1000000ull)
/* A child that lived this long was working: the next restart waits the shortest delay. */
#define PRIVSEP_STABLE_USEC (10 * 1000000ull)
/* Records taken per loop turn before the other descriptors' turn. */
#define PRIVSEP_RECS_PER_TURN 256
/* The watchdog: a ping this often; a child that answers none for this long is replaced. */
#define PRIVSEP_PING_USEC (2 * 1000000ull)
#define PRIVSEP_STUCK_USEC (10 * 1000000ull)
/* Channels the child can be given (slot numbers it accepts). */
#define PRIVSEP_MAX_SLOTS (1u << 20)

struct privsep_slot {
	struct vm *vm;       /* NULL: free, once no DEL is pending */
	uint64_t id;
	int fd;              /* the parent's copy (vm->ch.fd) */
	bool passed;         /* the child has it (its ADD was sent) */
	bool del_pending;    /* the child still has it: its DEL is owed */
};

struct privsep {
	struct loop *loop;
	struct loop_watch sock;       /* our end of the socketpair (-1: no child) */
	struct loop_watch restart;    /* timerfd: fork the next child */
	struct loop_watch watchdog;   /* timerfd: ping the child, or replace it */
	pid_t pid;                    /* the child (-1: none) */
	struct backoff backoff;
	uint64_t started_usec;
	uint32_t lines_per_wakeup;    /* what the child may handle per channel and turn */
	bool drop;                    /* root: the child becomes uid/gid */
	uid_t uid;
	gid_t gid;

	struct privsep_slot *slots;
	uint32_t n_slots;             /* slots used or freed; free ones are reused */
	uint32_t n_pending;           /* ADDs and DELs not sent yet (the socket was full) */
	uint64_t next_id;
	uint64_t ping_id;             /* the last ping sent */
	uint64_t ping_usec;           /* when (0: none unanswered) */

	uint64_t restarts_total;
	uint64_t bad_records_total;
	int last_status;              /* the last child's wait status (-1: none ended) */
};

extern const struct vm_reader_ops privsep_reader_ops;

/* Fork the first child; call before any QMP connection is made.  0 or -errno. */
int privsep_start(struct privsep *ps, struct loop *loop, uint32_t lines_per_wakeup);
/*
 * A reload's lines per wakeup: channels passed from now on get it, and the
 * next ping (within PRIVSEP_PING_USEC) gives it to those the child has.
 */
void privsep_set_lines_per_wakeup(struct privsep *ps, uint32_t lines_per_wakeup);
/* Kill and reap the child; the VMs' channels stay the parent's. */
void privsep_stop(struct privsep *ps);

/* The child's pid (-1 while it is restarted). */
static inline pid_t privsep_pid(const struct privsep *ps)
{
	return ps->pid;
}

/*
 * One record from a reader for vm: checked (privsep_rec_check()) and
 * turned into vm_input().  -EPROTO for a record no honest reader sends.
 */
int privsep_deliver(struct vm *vm, const struct privsep_rec *rec, uint64_t now_usec);

/*
 * The reader in the calling process, for the unit tests and vsock-peer
 * (no fork, no filter: the same framing and parsing, the same records).
 */
#define PRIVSEP_LOCAL_MAX 8
struct privsep_local {
	struct loop *loop;
	uint32_t lines_per_wakeup;
	uint64_t (*clock)(void);
	struct vm *vms[PRIVSEP_LOCAL_MAX];
	struct privsep_chan *chans[PRIVSEP_LOCAL_MAX];
	uint64_t next_id;
};

extern const struct vm_reader_ops privsep_local_ops;
/* Handle what the channels left for the next turn (true: some is left still). */
bool privsep_local_drain(struct privsep_local *l, uint64_t now_usec);
/* Read throttled channels again when their budget is back. */
void privsep_local_tick(struct privsep_local *l, uint64_t now_usec);
/* Close and free every channel. */
void privsep_local_close(struct privsep_local *l);

#endif
