/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_VM_H
#define VMRD_HOST_VM_H

/*
 * One VM as the broker sees it: its configuration, its QMP connection
 * (driver.c), its guest channel (vm.c) and the arbiter's view of it.
 *
 * The channel is a unix socket QEMU serves for the virtio-serial port
 * org.vmrd.0; the broker connects to it as a client and reconnects when
 * QEMU restarts.  Everything from the guest is untrusted: lines are framed
 * with a fixed buffer, at most lines_per_wakeup are handled per loop
 * iteration, output is queued in a fixed buffer, and a guest that sends
 * more than error_limit bad lines within error_window is disconnected for
 * a penalty period.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/arbiter.h"
#include "core/proto.h"
#include "host/config.h"
#include "common/backoff.h"
#include "common/clock.h"
#include "common/loop.h"
#include "host/qmp.h"

#define VM_OUT_MAX (8 * 1024)
#define VM_READ_BUDGET 4096

struct broker;

struct vm {
	struct config_vm cfg;
	struct broker *broker;
	/* Removed by a reload; freed once the loop iteration is over. */
	bool dead;

	/* --- QMP side (driver.c) --- */
	struct qmp qmp;
	bool reconciled;               /* base and device sizes known since (re)connect */
	unsigned reconcile_waiting;    /* replies still expected */
	bool reconcile_failed;
	uint64_t base_bytes;           /* boot memory (-m) */
	struct qmp_vmem vmem;          /* when cfg.vmem_id is set */
	uint64_t balloon_actual_bytes; /* when cfg.balloon_id is set */
	uint64_t balloon_target_bytes; /* last balloon value we set (0: none) */
	uint64_t applied_bytes;        /* last total size QEMU accepted */
	unsigned apply_inflight;       /* resize commands awaiting a reply */
	bool apply_again;              /* a newer target arrived while one was in flight */
	unsigned qmp_errors;
	char qmp_error[64];            /* last QMP error class, for status */

	/* --- guest channel (vm.c) --- */
	struct loop_watch ch;
	struct backoff ch_backoff;     /* reconnecting; a connect that works is a success */
	uint64_t ch_retry_at_usec;
	bool hello;
	bool welcome_pending; /* hello came before QEMU told us the VM's size */
	char agent[PROTO_AGENT_MAX + 1];
	struct proto_reader reader;
	char rbuf[2 * PROTO_LINE_MAX];
	bool backlog;                  /* lines or bytes left over for the next iteration */
	char in[VM_READ_BUDGET];       /* read but not yet fed to the reader */
	size_t in_off;
	size_t in_len;
	char out[VM_OUT_MAX];
	size_t out_len;
	uint32_t window_errors;
	uint64_t window_start_usec;
	uint64_t lines_total;
	uint64_t errors_total;
	uint64_t kicks_total;          /* disconnects for misbehaviour */

	/* --- arbitration --- */
	struct arbiter_vm arb;
	uint64_t requested_bytes;      /* last guest request (after nothing: raw) */
	uint64_t granted_bytes;        /* last grant sent */
	char last_reason[PROTO_WORD_MAX + 1];
	uint64_t grants_total;
	uint64_t denies_total;
	uint64_t reclaims_total;
};

/* Allocate and start connecting; NULL on allocation failure. */
struct vm *vm_new(struct broker *b, const struct config_vm *cfg, uint64_t now_usec);
void vm_free(struct vm *vm);

/* Reconnect the channel when due; handle backlogged lines. */
void vm_tick(struct vm *vm, uint64_t now_usec);
/* Handle lines left over from an earlier wakeup (the per-wakeup budget ran out). */
void vm_drain(struct vm *vm, uint64_t now_usec);

/* Queue a message for the guest; drops the channel if the queue overflows. */
int vm_send(struct vm *vm, const struct proto_msg *msg, uint64_t now_usec);
/* Answer hello with welcome, now or (before QEMU answered) once the VM is reconciled. */
void vm_send_welcome(struct vm *vm, uint64_t now_usec);

/* Drop the guest channel (reason for the log) and retry after delay_usec. */
void vm_disconnect(struct vm *vm, const char *reason, uint64_t delay_usec, uint64_t now_usec);

static inline bool vm_channel_up(const struct vm *vm)
{
	return vm->ch.fd >= 0;
}

/* The VM's size as QEMU reports it: boot + virtio-mem plugged - balloon. */
uint64_t vm_current_bytes(const struct vm *vm);

/* --- driver.c: QMP drivers (virtio-mem, balloon) --- */
void driver_init(struct vm *vm, struct loop *loop);
/* Set the VM's total size; clamped to [min, max] and to what the devices can do. */
int driver_apply(struct vm *vm, uint64_t target_bytes, uint64_t now_usec);
/* Ask QEMU for the device sizes again (after `done`, or periodically). */
void driver_refresh(struct vm *vm, uint64_t now_usec);
/* The host block size the guest should align to. */
uint64_t driver_block_bytes(const struct vm *vm);

#endif
