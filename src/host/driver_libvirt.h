/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_DRIVER_LIBVIRT_H
#define VMRD_HOST_DRIVER_LIBVIRT_H

/*
 * A libvirt domain's driver (driver_libvirt.c): struct driver_ops over the
 * connection of discover.h, which struct driver_env's libvirt points to.
 * Its VMs come from discovery (discover_config()), never from a [vm]
 * section.
 */

#include "host/driver.h"

extern const struct driver_ops driver_libvirt_ops;

#endif
