/* SPDX-License-Identifier: MIT */
/*
 * The memory the broker's VMs live in: the host's (or the budget cgroup's)
 * samples main.c hands in, and what each VM's QEMU holds.  The budget is
 * the host's real memory, so a VM costs its guest size and its QEMU's own
 * memory beside it.
 */
#include "host/broker.h"

#include <errno.h>

#include "common/log.h"

/* Every QEMU's RSS is sampled this often (a "round"). */
#define BROKER_FOOTPRINT_PERIOD_USEC (1000 * 1000ull)

void broker_host_sample(struct broker *b, const struct hostmem *h, int err)
{
	if (!h) {
		if (err != b->host_err)
			log_warnc(err, "cannot read %s%s; keeping the last figures",
				  b->cfg.budget_cgroup[0] ? "the budget cgroup " : "the host's memory",
				  b->cfg.budget_cgroup);
		b->host_err = err;
		return;
	}
	b->host_err = 0;
	b->host_psi_some_centi = h->has_psi ? h->psi_some_avg10_centi : 0;
	b->host_psi_full_centi = h->has_psi ? h->psi_full_avg10_centi : 0;
	b->host_available_bytes = h->available_bytes;
	b->host_usage_bytes = h->usage_bytes;
	if (!b->cfg.budget_cgroup[0] || h->limit_bytes == b->budget_bytes)
		return;
	if (h->limit_bytes == HOSTMEM_UNLIMITED || h->limit_bytes == 0) {
		log_warnx("cgroup %s has no memory limit any more; keeping the budget %llu",
			  b->cfg.budget_cgroup, (unsigned long long)b->budget_bytes);
		return;
	}
	log_info("budget %llu (cgroup %s limit, was %llu)", (unsigned long long)h->limit_bytes,
		 b->cfg.budget_cgroup, (unsigned long long)b->budget_bytes);
	b->budget_bytes = h->limit_bytes;
	b->dirty = true;
}

/* One VM's QEMU: what it holds, and its overhead (measured, or the configured one). */
static void sample_footprint(struct broker *b, size_t i)
{
	struct broker_vm *v = b->vms[i];
	struct arbiter_vm *a = &b->arb[i];
	struct footprint_sample fs;
	int r = v->drv.pid > 0 ? footprint_read(b->rootfd, v->drv.pid, &fs) : -ESRCH;

	if (r < 0) {
		if (r != v->fp_warned && r != -ESRCH)
			log_warnc(r, "vm %s: cannot read what QEMU (pid %d) holds; counting its last "
				  "overhead %llu", v->cfg.name, v->drv.pid,
				  (unsigned long long)v->fp.overhead_bytes);
		v->fp_warned = r;
		a->rss_bytes = 0;
	} else {
		v->fp_warned = 0;
		footprint_update(&v->fp, fs.rss_bytes, a->current_bytes);
		a->rss_bytes = fs.rss_bytes;
	}
	a->overhead_bytes = b->cfg.overhead_auto ? v->fp.overhead_bytes : b->cfg.overhead_bytes;
}

void broker_sample_footprints(struct broker *b, uint64_t now_usec)
{
	if (now_usec - b->last_footprint_usec < BROKER_FOOTPRINT_PERIOD_USEC)
		return;
	for (size_t i = 0; i < b->n_vms; i++)
		if (!b->vms[i]->dead)
			sample_footprint(b, i);
	b->last_footprint_usec = now_usec;
}
