/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the QMP reply parser: every message QEMU could send goes through
 * qmp_parse_message, and whatever it returns is fed to each reply and
 * event parser, as the broker might do after a confused exchange.
 */
#include <stddef.h>
#include <stdint.h>

#include "host/qmp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_msg m;
	struct qmp_vmem v;
	uint64_t n;
	const char *id;

	if (qmp_parse_message((const char *)data, size, &m) < 0)
		return 0;
	if (m.value) {
		qmp_parse_memory_devices(m.value, "vmem0", &v);
		qmp_parse_balloon(m.value, &n);
		qmp_parse_size_summary(m.value, &n);
		qmp_parse_vmem_event(m.value, &id, &n);
		qmp_parse_balloon_event(m.value, &n);
	}
	json_decref(m.root);
	return 0;
}
