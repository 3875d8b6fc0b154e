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
#include "host/guestram.h"

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

/* What the guest holds through each mechanism (the balloon as far as it is believed). */
static void sample_giveback(struct broker_vm *v, uint64_t rss_bytes, uint64_t now_usec)
{
	struct footprint_giveback *g = &v->giveback;
	uint64_t sizes[FOOTPRINT_MECH__MAX], vmem;
	bool was_open = g->open;

	if (!driver_reconciled(&v->drv))
		return;
	vmem = v->cfg.vmem_id[0] ? v->drv.sizes.vmem_size_bytes : 0;
	sizes[FOOTPRINT_VMEM] = vmem;
	sizes[FOOTPRINT_BALLOON] = v->cfg.balloon_id[0] ? driver_current_bytes(&v->drv) - vmem : 0;
	footprint_giveback_sample(g, now_usec, rss_bytes, sizes);
	if (was_open && !g->open)
		log_info("vm %s: gave up %llu MiB so far (virtio-mem %llu, balloon %llu), the host got "
			 "back %llu MiB (virtio-mem %llu, balloon %llu); QEMU RSS now %llu MiB",
			 v->cfg.name,
			 (unsigned long long)((g->gave_up_bytes[0] + g->gave_up_bytes[1]) >> 20),
			 (unsigned long long)(g->gave_up_bytes[FOOTPRINT_VMEM] >> 20),
			 (unsigned long long)(g->gave_up_bytes[FOOTPRINT_BALLOON] >> 20),
			 (unsigned long long)((g->back_bytes[0] + g->back_bytes[1]) >> 20),
			 (unsigned long long)(g->back_bytes[FOOTPRINT_VMEM] >> 20),
			 (unsigned long long)(g->back_bytes[FOOTPRINT_BALLOON] >> 20),
			 (unsigned long long)(rss_bytes >> 20));
}

/*
 * Its guest RAM is told from QEMU's own memory this often: smaps walks the
 * page tables of the whole guest, and QEMU's own memory changes slowly.
 * Past 1,000 VMs the period grows by 10 ms per VM: at most 100 walks a
 * second, whatever the number of VMs.
 */
#define BROKER_GUESTRAM_PERIOD_USEC (10 * 1000 * 1000ull)
#define BROKER_GUESTRAM_PER_VM_USEC (10 * 1000ull)

/*
 * QEMU's own memory: its RSS less the guest RAM it holds (smaps), or, where
 * smaps cannot be read, less the guest's size (which counts nothing for a
 * guest that has not touched its memory yet).  The smaps read's -errno is
 * kept in ram_err.
 */
static void sample_overhead(struct broker *b, struct broker_vm *v, uint64_t rss_bytes,
			   uint64_t guest_size, uint64_t now_usec)
{
	struct guestram g;
	int r = v->ram_err;

	uint64_t period = BROKER_GUESTRAM_PERIOD_USEC;

	if (b->n_vms > period / BROKER_GUESTRAM_PER_VM_USEC)
		period = b->n_vms * BROKER_GUESTRAM_PER_VM_USEC;
	if (!v->ram_usec || now_usec - v->ram_usec >= period) {
		r = guestram_read(b->rootfd, v->drv.pid, &g);
		v->ram_usec = now_usec;
		if (r == 0)
			footprint_update(&v->fp, g.rss_bytes, g.guest_bytes);
		else if (r != v->ram_err && r != -ESRCH && r != -ENOENT)
			log_warnc(r, "vm %s: cannot tell guest RAM from QEMU's own memory in "
				  "/proc/%d/smaps; counting QEMU's RSS beyond the guest size as its "
				  "overhead", v->cfg.name, v->drv.pid);
		v->ram_err = r;
	}
	if (r < 0)
		footprint_update(&v->fp, rss_bytes, guest_size);
	else
		v->fp.rss_bytes = rss_bytes;
}

/* One VM's QEMU: what it holds, and its overhead (measured, or the configured one). */
static void sample_footprint(struct broker *b, size_t i, uint64_t now_usec)
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
		sample_overhead(b, v, fs.rss_bytes, a->current_bytes, now_usec);
		sample_giveback(v, fs.rss_bytes, now_usec);
		a->rss_bytes = fs.rss_bytes;
	}
	a->overhead_bytes = b->cfg.overhead_auto ? v->fp.overhead_bytes : b->cfg.overhead_bytes;
}

/*
 * A round reads every QEMU once, spread over the round in step with the
 * clock: reading a thousand /proc/PID/status at once held the loop for
 * 50-80 ms here, and every guest asking meanwhile waited.  Called every
 * loop turn; a VM removed mid-round may shift the others by one place.
 */
void broker_sample_footprints(struct broker *b, uint64_t now_usec)
{
	uint64_t elapsed = now_usec - b->last_footprint_usec;
	size_t due = b->n_vms;

	if (elapsed >= BROKER_FOOTPRINT_PERIOD_USEC && b->fp_next >= b->n_vms) {
		b->last_footprint_usec = now_usec;
		b->fp_next = 0;
		elapsed = 0;
	}
	if (elapsed < BROKER_FOOTPRINT_PERIOD_USEC)
		due = (size_t)(b->n_vms * elapsed / BROKER_FOOTPRINT_PERIOD_USEC) + 1;
	for (; b->fp_next < due && b->fp_next < b->n_vms; b->fp_next++)
		if (!b->vms[b->fp_next]->dead)
			sample_footprint(b, b->fp_next, now_usec);
}
