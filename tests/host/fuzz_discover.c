/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes libvirt discovery's domain-XML parser and the virtio-mem update
 * XML built from it: whatever a libvirtd sends must be read or refused,
 * never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "host/discover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct discover_dom d;
	char *dev = NULL;

	discover_parse_xml((const char *)data, size, &d);
	if (discover_vmem_update_xml((const char *)data, size, "virtiomem0", 1ull << 30, &dev) == 0)
		free(dev);
	return 0;
}
