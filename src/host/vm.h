/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_VM_H
#define VMRD_HOST_VM_H

/*
 * The guest side of one VM: the channel to the vmrd inside it, where
 * everything is untrusted.  A leaf, like qmp.c: it gets what it needs in a
 * struct vm_env (the loop, the limits, a clock) and tells its owner what
 * happened as news bits the owner takes with vm_take_news(); it never
 * writes anyone else's state.  The owner answers through vm_send() and
 * vm_welcome().
 *
 * The channel is a unix socket QEMU serves for the virtio-serial port
 * org.vmrd.0; vm.c connects to it as a client and reconnects with backoff
 * when QEMU restarts (or it is handed a connected descriptor with
 * vm_attach()).  vm.c never reads it: it hands the descriptor to the
 * reader in env->reader (privsep.h: a sandboxed child process that frames
 * and parses every guest byte) and gets back typed input, one
 * vm_input() per line, never text.  vm.c keeps the session (hello,
 * request, report), writes the answers (output is queued in a fixed
 * buffer), and disconnects a guest that sends more than error_limit bad
 * lines within error_window for a penalty period.
 *
 * Whatever a guest can make happen as often as it likes has a budget per
 * link (common/ratelimit): lines (the reader's, privsep_read.h), hellos
 * (each one costs a welcome and a new session; past VM_HELLOS_BURST, one
 * per VM_HELLO_USEC, a hello is an error), and log lines it causes
 * (VM_LOG_BURST, then one per VM_LOG_USEC; what is dropped is counted and
 * said in one "N suppressed" line).  A hello with a version other than
 * PROTO_VERSION is answered bad_version and the channel closed, as
 * docs/protocol.md says.
 */

#include <stdbool.h>
#include <stdint.h>

#include "common/backoff.h"
#include "common/loop.h"
#include "common/ratelimit.h"
#include "core/arbiter.h"
#include "core/proto.h"

#define VM_NAME_MAX 32
#define VM_PATH_MAX 108
#define VM_OUT_MAX (8 * 1024)
#define VM_BACKOFF_MIN_USEC (100 * 1000ull) /* channel reconnects */
#define VM_BACKOFF_MAX_USEC (5 * 1000000ull)
/* Budgets per link: far above what an honest agent sends (a hello per agent start). */
#define VM_HELLOS_BURST 5
#define VM_HELLO_USEC (2 * 1000000ull)
#define VM_LOG_BURST 20
#define VM_LOG_USEC (1000000ull)

struct vm;

/*
 * Who reads the channels (privsep.h): attach starts reading vm->ch.fd
 * (the reader keeps its own copy of the descriptor) and reports through
 * vm_input(); detach stops it before vm.c closes its copy.  stats (may
 * be NULL: a reader in this process) tells how the reader fares.
 */
struct vm_reader_stats {
	int pid;               /* the reader process (-1: none running now) */
	uint64_t restarts;     /* readers that ended and were replaced */
	uint64_t bad_records;  /* malformed records the owner refused (each ends a reader) */
};

struct vm_reader_ops {
	int (*attach)(void *ctx, struct vm *vm);
	void (*detach)(void *ctx, struct vm *vm);
	void (*stats)(void *ctx, struct vm_reader_stats *ret);
};

/* What every VM's channel shares; the owner may change the limits at any time. */
struct vm_env {
	const struct vm_reader_ops *reader;
	void *reader_ctx;
	struct loop *loop;
	uint32_t lines_per_wakeup;  /* lines handled per loop iteration */
	uint32_t error_limit;       /* bad lines within error_window_usec before a kick */
	uint64_t error_window_usec;
	uint64_t penalty_usec;      /* how long a kicked guest's channel stays closed */
	uint64_t (*clock)(void);    /* now in usec for the loop's callbacks (NULL: CLOCK_MONOTONIC) */
};

/* News for the owner, taken with vm_take_news(). */
enum vm_news {
	VM_NEWS_HELLO = 1u << 0,   /* a guest agent said hello: it waits for vm_welcome() */
	VM_NEWS_REQUEST = 1u << 1, /* vm->request holds a new request */
	VM_NEWS_REPORT = 1u << 2,  /* vm->report holds a new report */
	VM_NEWS_DONE = 1u << 3,    /* the guest finished a resize: the sizes are worth a look */
	VM_NEWS_DOWN = 1u << 4,    /* the channel closed; hello and request are gone (the report stays) */
};

struct vm {
	char name[VM_NAME_MAX];          /* for the log */
	char path[VM_PATH_MAX];          /* the channel's socket */
	const struct vm_env *env;
	unsigned news;                   /* enum vm_news bits not yet taken */

	struct loop_watch ch;
	struct backoff backoff;          /* reconnecting; a connect that works is a success */
	uint64_t retry_at_usec;          /* closed: no connect before this */

	bool hello;                      /* the agent said hello on this connection */
	bool welcomed;                   /* ...and was answered */
	char agent[PROTO_AGENT_MAX + 1];
	struct arbiter_request request;  /* the latest request (valid: one came) */
	struct arbiter_report report;    /* the latest report */

	struct ratelimit hello_rl;       /* hellos answered */
	struct ratelimit log_rl;         /* log lines the guest causes */
	struct ratelimit lines_rl;       /* the guest's line budget, across its connections */
	char out[VM_OUT_MAX];
	size_t out_len;

	uint32_t window_errors;
	uint64_t window_start_usec;
	uint64_t lines_total;
	uint64_t errors_total;
	uint64_t kicks_total;            /* disconnects for misbehaviour */
	uint64_t throttled_total;        /* times the line budget ran out */
};

/* What the reader made of the guest's bytes (typed: vm.c parses no guest text). */
enum vm_input_kind {
	VM_INPUT_MSG,        /* one line, a message of a guest verb */
	VM_INPUT_BAD,        /* one line that is not: reason is the word to answer with */
	VM_INPUT_EOF,        /* the channel ended (err 0) or a read failed (err < 0) */
	VM_INPUT_THROTTLED,  /* the guest's line budget ran out: its channel is read more slowly */
};

struct vm_input {
	enum vm_input_kind kind;
	int err;
	const char *reason;          /* BAD: a static word */
	const struct proto_msg *msg; /* MSG */
};

/* Ready to connect to path at now_usec (vm_tick() does it). */
void vm_init(struct vm *vm, const struct vm_env *env, const char *name, const char *path,
	     uint64_t now_usec);
/* Close the channel without news (the owner is letting the VM go). */
void vm_close(struct vm *vm);

/* Connect when due; say what the log budget dropped. */
void vm_tick(struct vm *vm, uint64_t now_usec);
/*
 * Use a connected descriptor (accepted elsewhere, or a test's socketpair):
 * -EBUSY when connected, -EAGAIN while the channel is closed for backoff
 * or a penalty.
 */
int vm_attach(struct vm *vm, int fd, uint64_t now_usec);

/* May the guest make us log one more line?  (Its log budget; says what was dropped.) */
bool vm_log_ok(struct vm *vm, uint64_t now_usec);

/*
 * The lines the guest may still send at once (its bucket spends one per
 * line the reader handled, on any of its connections): what a reader
 * given its channel, new or again, starts with.
 */
uint32_t vm_line_tokens(struct vm *vm);

/* The reader's news of the channel (privsep.c calls it with checked records only). */
void vm_input(struct vm *vm, const struct vm_input *in, uint64_t now_usec);

static inline bool vm_channel_up(const struct vm *vm)
{
	return vm->ch.fd >= 0;
}

/* The news since the last call (enum vm_news bits), and none left. */
unsigned vm_take_news(struct vm *vm);

/* Queue a message for the guest; drops the channel if the queue overflows. */
int vm_send(struct vm *vm, const struct proto_msg *msg, uint64_t now_usec);

/*
 * Answer the agent's hello with the VM's sizes as the hypervisor reports
 * them; balloon_bytes is the boot memory of a VM the host resizes with a
 * balloon (0: none), below which any page can be given back.
 */
int vm_welcome(struct vm *vm, uint64_t min_bytes, uint64_t max_bytes, uint64_t current_bytes,
	       uint64_t block_bytes, uint64_t balloon_bytes, uint64_t now_usec);

/* Drop the channel (reason for the log) and retry after delay_usec. */
void vm_disconnect(struct vm *vm, const char *reason, uint64_t delay_usec, uint64_t now_usec);

#endif
