/* SPDX-License-Identifier: MIT */
/*
 * QMP drivers: virtio-mem (qom-set requested-size, query-memory-devices)
 * and virtio-balloon (balloon, query-balloon), plus reconciliation of the
 * VM's real size whenever QMP (re)connects.
 */
#include "host/vm.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "host/broker.h"

#define DRIVER_DEFAULT_BLOCK (2ull << 20)

static void on_ready(struct qmp *q, void *ctx);
static void on_down(struct qmp *q, int err, void *ctx);
static void on_event(struct qmp *q, const struct qmp_msg *m, void *ctx);

static const struct qmp_ops driver_ops = {
	.ready = on_ready,
	.down = on_down,
	.event = on_event,
};

void driver_init(struct vm *vm, struct loop *loop)
{
	qmp_init(&vm->qmp, loop, vm->cfg.qmp_path, &driver_ops, vm);
}

uint64_t driver_block_bytes(const struct vm *vm)
{
	if (vm->cfg.vmem_id[0] && vm->reconciled)
		return vm->vmem.block_bytes;
	return vm->cfg.vmem_id[0] ? DRIVER_DEFAULT_BLOCK : 4096;
}

static void note_qmp_error(struct vm *vm, int err, const struct qmp_msg *m, const char *what)
{
	vm->qmp_errors++;
	snprintf(vm->qmp_error, sizeof(vm->qmp_error), "%s",
		 m && m->name ? m->name : (err == -ETIMEDOUT ? "timeout" : "disconnected"));
	log_warnx("vm %s: %s failed: %s%s%s", vm->cfg.name, what, vm->qmp_error,
		  m && m->desc ? ": " : "", m && m->desc ? m->desc : "");
}

static void reconcile_step_done(struct vm *vm)
{
	if (vm->reconcile_waiting == 0 || --vm->reconcile_waiting > 0)
		return;
	if (vm->reconcile_failed) {
		log_warnx("vm %s: reconciliation with QEMU failed; will retry on reconnect", vm->cfg.name);
		return;
	}
	vm->reconciled = true;
	broker_vm_reconciled(vm->broker, vm);
}

static void on_summary(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct vm *vm = arg;

	if (err < 0 || qmp_parse_size_summary(m->value, &vm->base_bytes) < 0) {
		note_qmp_error(vm, err, m, "query-memory-size-summary");
		vm->reconcile_failed = true;
	}
	reconcile_step_done(vm);
}

static void on_memdevs(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct vm *vm = arg;
	int r = err;

	if (err == 0)
		r = qmp_parse_memory_devices(m->value, vm->cfg.vmem_id, &vm->vmem);
	if (r < 0) {
		note_qmp_error(vm, err, m, r == -ENOENT ? "finding the virtio-mem device" :
							  "query-memory-devices");
		if (vm->reconcile_waiting)
			vm->reconcile_failed = true;
	} else if (vm->reconciled) {
		vm->arb.current_bytes = vm_current_bytes(vm);
		vm->broker->dirty = true;
	}
	reconcile_step_done(vm);
}

static void on_balloon(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct vm *vm = arg;

	if (err < 0 || qmp_parse_balloon(m->value, &vm->balloon_actual_bytes) < 0) {
		note_qmp_error(vm, err, m, "query-balloon");
		if (vm->reconcile_waiting)
			vm->reconcile_failed = true;
	} else if (vm->reconciled) {
		vm->arb.current_bytes = vm_current_bytes(vm);
		vm->broker->dirty = true;
	}
	reconcile_step_done(vm);
}

static int query(struct vm *vm, const char *cmd,
		 void (*fn)(struct qmp *, int, const struct qmp_msg *, void *), uint64_t now_usec)
{
	int r = qmp_execute(&vm->qmp, cmd, NULL, fn, vm, now_usec);

	if (r < 0)
		log_warnc(r, "vm %s: cannot send %s", vm->cfg.name, cmd);
	return r;
}

static void on_ready(struct qmp *q, void *ctx)
{
	struct vm *vm = ctx;
	uint64_t now_usec = clock_now_usec();

	log_info("vm %s: QMP connected to %s", vm->cfg.name, vm->cfg.qmp_path);
	vm->reconciled = false;
	vm->reconcile_failed = false;
	vm->apply_inflight = false;
	vm->reconcile_waiting = 1 + !!vm->cfg.vmem_id[0] + !!vm->cfg.balloon_id[0];
	/* Replies come in order; the step counter finishes after the last. */
	query(vm, "query-memory-size-summary", on_summary, now_usec);
	if (vm->cfg.vmem_id[0])
		query(vm, "query-memory-devices", on_memdevs, now_usec);
	if (vm->cfg.balloon_id[0])
		query(vm, "query-balloon", on_balloon, now_usec);
}

static void on_down(struct qmp *q, int err, void *ctx)
{
	struct vm *vm = ctx;

	log_warnc(err, "vm %s: QMP connection lost (QEMU gone?); reconnecting", vm->cfg.name);
	vm->reconciled = false;
	vm->reconcile_waiting = 0;
	vm->apply_inflight = false;
	vm->broker->dirty = true;
}

static void on_event(struct qmp *q, const struct qmp_msg *m, void *ctx)
{
	struct vm *vm = ctx;
	const char *id;
	uint64_t size;

	if (strcmp(m->name, "MEMORY_DEVICE_SIZE_CHANGE") == 0) {
		if (qmp_parse_vmem_event(m->value, &id, &size) < 0 || !id ||
		    strcmp(id, vm->cfg.vmem_id) != 0)
			return;
		vm->vmem.size_bytes = size;
	} else if (strcmp(m->name, "BALLOON_CHANGE") == 0) {
		if (!vm->cfg.balloon_id[0] || qmp_parse_balloon_event(m->value, &size) < 0)
			return;
		vm->balloon_actual_bytes = size;
	} else if (strcmp(m->name, "SHUTDOWN") == 0) {
		log_info("vm %s: QEMU reports SHUTDOWN", vm->cfg.name);
		return;
	} else {
		return;
	}
	if (vm->reconciled) {
		vm->arb.current_bytes = vm_current_bytes(vm);
		log_debug("vm %s: %s, current %llu", vm->cfg.name, m->name,
			  (unsigned long long)vm->arb.current_bytes);
		vm->broker->dirty = true;
	}
}

void driver_refresh(struct vm *vm, uint64_t now_usec)
{
	if (!vm->reconciled)
		return;
	if (vm->cfg.vmem_id[0])
		query(vm, "query-memory-devices", on_memdevs, now_usec);
	if (vm->cfg.balloon_id[0])
		query(vm, "query-balloon", on_balloon, now_usec);
}

static void on_applied(struct qmp *q, int err, const struct qmp_msg *m, void *arg)
{
	struct vm *vm = arg;

	if (err < 0)
		note_qmp_error(vm, err, m, "resize");
	/* A failed resize is retried when the arbiter next sets a target. */
	if (vm->apply_inflight && --vm->apply_inflight == 0 && vm->apply_again) {
		vm->apply_again = false;
		driver_apply(vm, vm->arb.state.target_bytes, clock_now_usec());
	}
}

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Split a total size into virtio-mem requested-size and a balloon target.
 * Sizes above the boot memory come from virtio-mem when there is one;
 * sizes below it can only come from the balloon.
 */
static void split_target(const struct vm *vm, uint64_t total, uint64_t *ret_vmem, uint64_t *ret_balloon)
{
	uint64_t above = total > vm->base_bytes ? total - vm->base_bytes : 0;

	*ret_vmem = 0;
	*ret_balloon = 0;
	if (vm->cfg.vmem_id[0]) {
		above = clamp(above, 0, vm->vmem.max_bytes);
		*ret_vmem = above - above % vm->vmem.block_bytes;
	}
	if (vm->cfg.balloon_id[0])
		*ret_balloon = clamp(total, 1ull << 20, vm->base_bytes);
}

int driver_apply(struct vm *vm, uint64_t target_bytes, uint64_t now_usec)
{
	uint64_t total, vmem, balloon;
	int r = 0;

	if (!vm->reconciled || !qmp_is_ready(&vm->qmp))
		return -ENOTCONN;
	if (vm->apply_inflight) {
		vm->apply_again = true;
		return 0;
	}
	/* Never trust anything, not even the arbiter: clamp right before QEMU sees it. */
	total = clamp(target_bytes, vm->cfg.min_bytes, vm->cfg.max_bytes);
	split_target(vm, total, &vmem, &balloon);
	if (vm->broker->dry_run) {
		log_info("vm %s: dry run: would set total %llu (virtio-mem %llu, balloon %llu)",
			 vm->cfg.name, (unsigned long long)total, (unsigned long long)vmem,
			 (unsigned long long)balloon);
		vm->applied_bytes = total;
		return 0;
	}
	if (vm->cfg.vmem_id[0] && vmem != vm->vmem.requested_bytes) {
		r = qmp_execute(&vm->qmp, "qom-set",
				json_pack("{s:s, s:s, s:I}", "path", vm->cfg.vmem_id, "property",
					  "requested-size", "value", (json_int_t)vmem),
				on_applied, vm, now_usec);
		if (r < 0)
			goto out;
		vm->apply_inflight++;
		vm->vmem.requested_bytes = vmem;
	}
	if (vm->cfg.balloon_id[0] && balloon != vm->balloon_target_bytes &&
	    !(vm->balloon_target_bytes == 0 && balloon == vm->base_bytes)) {
		r = qmp_execute(&vm->qmp, "balloon", json_pack("{s:I}", "value", (json_int_t)balloon),
				on_applied, vm, now_usec);
		if (r < 0)
			goto out;
		vm->apply_inflight++;
		vm->balloon_target_bytes = balloon;
	}
	vm->applied_bytes = total;
out:
	if (r < 0)
		log_warnc(r, "vm %s: cannot send resize to QEMU", vm->cfg.name);
	return r;
}
