/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_BROKER_H
#define VMRD_HOST_BROKER_H

/*
 * The broker: the set of VMs, the arbiter run over them, and the actions
 * its decisions call for (messages to guests, sizes to the hypervisor, the
 * state file).  Each VM is two leaves, its guest link (vm.c) and its
 * hypervisor driver (driver.c), which report news; the broker collects it
 * at the end of every loop iteration (broker_flush()), feeds the arbiter
 * and acts.  It owns the arbiter's VM array: arb[i] belongs to vms[i], and
 * only the arbiter writes arb[i].state (the broker seeds and resets it
 * through arbiter_vm_seed() and arbiter_vm_reconcile()).  main.c owns the
 * loop and hands events here.
 */

#include <stdbool.h>
#include <stdint.h>

#include "core/arbiter.h"
#include "host/config.h"
#include "host/ctl.h"
#include "host/driver.h"
#include "host/footprint.h"
#include "host/hostmem.h"
#include "host/state.h"
#include "host/state_writer.h"
#include "host/vm.h"
#include "host/vsock.h"

#define BROKER_WHY_LOG 8

struct broker_vm {
	struct config_vm cfg;
	/* Removed by a reload; freed at the next flush, once the loop turn is over. */
	bool dead;
	struct vm link;                /* the guest side */
	struct driver drv;             /* the hypervisor side */
	struct vsock_hybrid hybrid;    /* CH/FC: the hybrid vsock listener (fd -1: none) */

	uint64_t added_usec;
	bool ever_reconciled;          /* its size has been known since it was added */
	/* What its QEMU holds (RSS) and how much of it is QEMU's own. */
	struct footprint fp;
	struct footprint_giveback giveback; /* gave up per mechanism, and what the host got back */
	int fp_warned;                 /* the errno last logged for reading it (0: none) */
	uint64_t ram_usec;             /* when its guest RAM was last told apart (smaps) */
	int ram_err;                   /* that read's -errno (0: the overhead is measured) */

	/* What the broker did, for status and metrics. */
	uint64_t granted_bytes;        /* last grant sent */
	uint64_t reclaim_bytes;        /* last reclaim ask sent (0: none yet) */
	char reclaim_reason[PROTO_WORD_MAX + 1];
	char last_reason[PROTO_WORD_MAX + 1];
	uint64_t grants_total;
	uint64_t denies_total;
	uint64_t reclaims_total;

	/* The last decisions that did something, for `vmrctl host why`; oldest at log_head. */
	struct broker_decision {
		uint64_t usec;
		struct arbiter_decision d;
	} log[BROKER_WHY_LOG];
	unsigned log_head;
	unsigned log_len;
};

struct broker {
	struct loop *loop;
	bool dry_run;
	/* The global settings; cfg.vms is empty: the VMs are vms[]. */
	struct config cfg;
	struct arbiter_config acfg;
	/* What the leaves share; updated in place on reload. */
	struct vm_env vm_env;
	struct driver_env drv_env;

	/* The AF_VSOCK listener of the VMs with a cid, open while one has. */
	struct vsock_host vsock;
	bool vsock_open;

	/*
	 * The VMs, and the arbiter's VMs index for index with vms[], evaluated
	 * in place; as many as there are (common/array.h, each with its
	 * capacity), grown by add_vm() and freed by broker_shutdown().
	 */
	struct broker_vm **vms;
	struct arbiter_vm *arb;
	struct arbiter_decision *dec;
	unsigned char *arb_scratch;    /* ARBITER_SCRATCH_BYTES(n_vms) at least, malloc-aligned */
	size_t n_vms;
	size_t vms_cap, arb_cap, dec_cap, arb_scratch_cap;

	/* Something changed that the arbiter should look at. */
	bool dirty;
	/* A target changed: write the state file. */
	bool state_dirty;
	int state_error;               /* of the last write, so a failure is logged once */
	uint64_t last_eval_usec;
	struct arbiter_summary summary;
	bool summary_valid;

	/*
	 * The memory the VMs live in, sampled by main.c (broker_host_sample()):
	 * the host, or the budget's cgroup, whose limit is then the budget.
	 */
	uint64_t budget_bytes;
	uint32_t host_psi_some_centi;
	uint32_t host_psi_full_centi;
	uint64_t host_available_bytes;
	uint64_t host_usage_bytes;
	int host_err;                  /* the last sample failed with this (0: fine) */
	/* "/" for the footprints (proc/PID/status); set by main.c. */
	int rootfd;
	uint64_t last_footprint_usec;  /* the start of the footprint round under way */
	size_t fp_next;                /* the next VM it samples */

	/* Targets from the state file, consumed as VMs are created; then the last one written. */
	struct state saved;
	struct state saving;           /* the next one, built in place (no allocation per save) */
	struct state_writer writer;    /* writes it off the loop (an fsync takes milliseconds) */

	uint64_t started_usec;
	uint64_t evaluations_total;
	uint64_t reloads_total;

	/* The control socket's view of all this (ctl.c knows nothing of the broker). */
	struct ctl_source ctl;
};

void broker_init(struct broker *b, struct loop *loop, const struct config *cfg, bool dry_run);

/* Create the configuration's VMs; after broker_init and state loading. */
int broker_start(struct broker *b, const struct config *cfg, uint64_t now_usec);

/*
 * Swap in a new, already validated configuration: VMs that kept their name
 * and sockets keep their connections and arbiter state; others are created
 * or removed.
 */
void broker_reload(struct broker *b, const struct config *cfg, uint64_t now_usec);

/* Periodic work: reconnects, QMP timeouts, arbiter at least once a second. */
void broker_tick(struct broker *b, uint64_t now_usec);

/* End of a loop iteration: collect the VMs' news, evaluate if needed, write state, free dead VMs. */
void broker_flush(struct broker *b, uint64_t now_usec);

/*
 * A sample of the memory the VMs live in (NULL and err < 0: it could not be
 * read; the last figures are kept).  With a cgroup budget its limit becomes
 * the budget: lowering memory.high or memory.max at run time cuts the VMs.
 */
void broker_host_sample(struct broker *b, const struct hostmem *h, int err);

/* What every VM's QEMU holds, and its overhead: all once a round (a second), spread over it (broker_host.c). */
void broker_sample_footprints(struct broker *b, uint64_t now_usec);

/* Point b->ctl at the broker (broker_ctl.c). */
void broker_ctl_init(struct broker *b);

void broker_save_state(struct broker *b);
/* Save the state, free every VM and what the broker holds. */
void broker_shutdown(struct broker *b);

#endif
