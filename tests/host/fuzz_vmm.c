/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes every answer parser of the Cloud Hypervisor and Firecracker
 * drivers (through their tables): an API answer, whatever it holds, is
 * taken or refused with a reason, never a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "host/driver_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct http_vmm *vmms[] = { &driver_ch_vmm, &driver_fc_vmm };
	struct driver d;
	char err[96];

	for (size_t v = 0; v < 2; v++)
		for (size_t i = 0; i < vmms[v]->n_queries; i++) {
			memset(&d, 0, sizeof(d));
			/* With both devices, every check of the parsers runs. */
			strcpy(d.cfg.vmem_id, "mem0");
			strcpy(d.cfg.balloon_id, "balloon0");
			vmms[v]->queries[i].parse(&d, (const char *)data, size, err, sizeof(err));
		}
	return 0;
}
