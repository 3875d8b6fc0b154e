/* SPDX-License-Identifier: MIT */
#ifndef VMRD_HOST_QMP_ALLOW_H
#define VMRD_HOST_QMP_ALLOW_H

/*
 * The QMP commands vmrd-host may send, and with which arguments.
 *
 * A QMP socket is full control of its QEMU: it can migrate the VM to a
 * command, dump guest memory, add devices, set any QOM property or quit.
 * vmrd-host needs five commands, so qmp_execute() sends those and nothing
 * else, whatever a bug or a future caller asks for:
 *  1. the command is one of the table in qmp_allow.c (three queries,
 *     `balloon`, `qom-set`), else -EPERM;
 *  2. its arguments are absent or an object whose every key is one the
 *     command is sent with, else -EPERM;
 *  3. `qom-set` only sets the property `requested-size` (virtio-mem's
 *     size); any other property is -EPERM.
 * Pure (jansson values in, an int out), so the unit test links it alone.
 * qmp_capabilities, sent once per connection by the client itself, is not
 * a command callers can send and is not in the table.
 */

#include <jansson.h>

/* 0 when cmd with args (may be NULL) may be sent; -EPERM when not, -EINVAL without a cmd. */
int qmp_allow_check(const char *cmd, const json_t *args);

#endif
