/* SPDX-License-Identifier: MIT */
#include "vmrd/placement.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"

#define AUTO_ONLINE "sys/devices/system/memory/auto_online_blocks"
#define ONLINE_POLICY "sys/module/memory_hotplug/parameters/online_policy"

static const char *const mode_names[] = {
	[PLACEMENT_UNKNOWN] = "unknown",
	[PLACEMENT_OFFLINE] = "offline",
	[PLACEMENT_ONLINE] = "online",
	[PLACEMENT_ONLINE_KERNEL] = "online_kernel",
	[PLACEMENT_ONLINE_MOVABLE] = "online_movable",
};

const char *placement_mode_name(enum placement_mode mode)
{
	if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return "unknown";
	return mode_names[mode];
}

/* The text without one trailing newline. */
static size_t trim_len(const char *buf, size_t len)
{
	return len > 0 && buf[len - 1] == '\n' ? len - 1 : len;
}

int placement_parse_mode(const char *buf, size_t len, enum placement_mode *ret)
{
	len = trim_len(buf, len);
	for (unsigned m = PLACEMENT_OFFLINE; m < sizeof(mode_names) / sizeof(mode_names[0]); m++) {
		if (strlen(mode_names[m]) == len && memcmp(mode_names[m], buf, len) == 0) {
			*ret = (enum placement_mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

int placement_probe(int rootfd, struct placement *ret)
{
	char buf[64];
	size_t len;
	struct placement p = { 0 };
	int r;

	r = fileio_read_at(rootfd, AUTO_ONLINE, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	r = placement_parse_mode(buf, len, &p.mode);
	if (r < 0)
		return r;
	p.writable = faccessat(rootfd, AUTO_ONLINE, W_OK, 0) == 0;
	if (fileio_read_at(rootfd, ONLINE_POLICY, buf, sizeof(buf), &len) == 0) {
		len = trim_len(buf, len);
		p.auto_movable = len == strlen("auto-movable") && memcmp(buf, "auto-movable", len) == 0;
	}
	*ret = p;
	return 0;
}

int placement_set(int rootfd, enum placement_mode mode)
{
	if (mode == PLACEMENT_UNKNOWN)
		return -EINVAL;
	return fileio_write_at(rootfd, AUTO_ONLINE, placement_mode_name(mode));
}
