/* SPDX-License-Identifier: MIT */
/*
 * A plugin built for another ABI version (999), to check that the loader
 * refuses it with a message rather than calling into a table it cannot
 * trust.
 */
#include <stddef.h>

#include "vmrd/backend.h"

static const struct vmrd_backend_ops mismatch_ops = {
	.abi_version = 999,
	.name = "mismatch",
};

const struct vmrd_backend_ops *vmrd_backend_plugin_init(uint32_t abi_version);

__attribute__((visibility("default")))
const struct vmrd_backend_ops *vmrd_backend_plugin_init(uint32_t abi_version)
{
	return &mismatch_ops;
}
