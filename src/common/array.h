/* SPDX-License-Identifier: MIT */
#ifndef VMRD_ARRAY_H
#define VMRD_ARRAY_H

/*
 * A growable array: a typed pointer, a length and a capacity that the
 * owning struct holds side by side, e.g.
 *
 *	struct config_vm *vms;  size_t n_vms;  size_t vms_cap;
 *	r = ARRAY_GROW(cfg->vms, cfg->vms_cap, cfg->n_vms + 1);
 *
 * ARRAY_GROW makes room for at least need elements.  The capacity doubles,
 * so n appends cost O(n) copies in all; the new elements are zeroed, so a
 * slot is ready for use the way calloc() leaves it.  The owner frees the
 * pointer with free() and resets the capacity.  Elements move when the
 * array grows: keep indexes across a grow, not pointers.
 *
 * libc only (it is part of the base library the pure core may link).
 */

#include <stddef.h>

/* 0, or -ENOMEM (*items and *cap unchanged; also when need * size overflows). */
int array_grow(void **items, size_t *cap, size_t need, size_t size);

#define ARRAY_GROW(items, cap, need) \
	array_grow((void **)&(items), &(cap), (need), sizeof(*(items)))

#endif
