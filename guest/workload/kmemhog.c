/* SPDX-License-Identifier: MIT */
/*
 * kmemhog: memory demand that only the kernel zones (DMA32, Normal) can
 * serve.  Memory that virtio-mem hot-plugs is onlined into ZONE_MOVABLE,
 * which holds anonymous pages and regular file cache but not slab or a raw
 * block device's page cache, so this demand cannot use it.
 *
 *   kmemhog --files N [--dirs D] [--raw SIZE] [--dev PATH] [--passes P]
 *           [--idle SEC] [--drop] [--dir DIR]
 *
 * It opens the block device PATH (default /dev/vda, the guest's ext4 data
 * disk) read-only and keeps it open to the end: a block device's page
 * cache ("Buffers" in /proc/meminfo) is dropped at its last close.  It
 * creates N empty files in D directories under DIR (default
 * /mnt/data/kmemhog), so each file costs an ext4 inode and a dentry in
 * slab and nothing in ZONE_MOVABLE.  With --drop it then drops every
 * cache, so that the first pass starts cold in any guest.  Each pass
 * stats every file of the tree (slab) and reads the last SIZE bytes of
 * the device (Buffers); a pass that finds both still cached is fast, one
 * whose kernel memory was reclaimed reads them from the disk again.
 *
 * After the set-up it prints "VMRD-E2E: event=phase name=passes" so that
 * the host can measure the passes apart from the set-up.  The last line is
 * machine-readable:
 *   VMRD-E2E: kmemhog status=ok|oom-killed|failed elapsed_ms=N ...
 * and the line before it has the per-pass times (kmemhog-passes).
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "workload.h"

#define KMEMHOG_BUF_BYTES (1 << 20)
#define KMEMHOG_MAX_PASSES 64

struct kmemhog_opts {
	const char *dir;
	const char *dev;
	uint64_t files;
	uint64_t dirs;
	uint64_t raw_bytes;
	uint64_t passes;
	uint64_t idle_sec;
	bool drop;
};

struct kmemhog_pass {
	uint64_t walk_ms;
	uint64_t raw_ms;
	uint64_t stats;
	uint64_t disk_kb;	/* read from the disk during the pass */
};

static unsigned char kmemhog_buf[KMEMHOG_BUF_BYTES];

static void kmemhog_usage(FILE *out)
{
	fprintf(out,
		"usage: kmemhog --files N [--dirs D] [--raw SIZE] [--dev PATH] [--passes P]\n"
		"               [--idle SEC] [--drop] [--dir DIR]\n"
		"  --files   empty files to create and stat on every pass (slab)\n"
		"  --dirs    directories they are spread over (default files / 1000)\n"
		"  --raw     bytes of the raw block device to read on every pass (Buffers)\n"
		"  --dev     block device (default /dev/vda), kept open to the end\n"
		"  --passes  walk + read passes (default 3)\n"
		"  --idle    seconds between passes (default 0)\n"
		"  --drop    drop every cache after the set-up, so that pass 1 is cold\n"
		"  --dir     tree location on a disk-backed filesystem (default /mnt/data/kmemhog)\n");
}

static void kmemhog_line(const char *what, uint64_t n, uint64_t ms)
{
	printf("kmemhog: %s=%" PRIu64 " ms=%" PRIu64 " buffers_kb=%" PRIu64 " sreclaimable_kb=%"
	       PRIu64 " sunreclaim_kb=%" PRIu64 " memfree_kb=%" PRIu64 "\n", what, n, ms,
	       workload_meminfo_kb("Buffers"), workload_meminfo_kb("SReclaimable"),
	       workload_meminfo_kb("SUnreclaim"), workload_meminfo_kb("MemFree"));
}

/* Creates directory d and its share of the files; returns 0 or -errno. */
static int kmemhog_create_dir(const struct kmemhog_opts *o, int top, uint64_t d)
{
	uint64_t per = (o->files + o->dirs - 1) / o->dirs;
	char name[32];
	int fd, r = 0;

	snprintf(name, sizeof(name), "d%05" PRIu64, d);
	if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (uint64_t i = d * per; i < (d + 1) * per && i < o->files; i++) {
		snprintf(name, sizeof(name), "f%07" PRIu64, i);
		/* mknodat makes an empty regular file in one system call. */
		if (mknodat(fd, name, S_IFREG | 0644, 0) < 0 && errno != EEXIST) {
			r = -errno;
			goto out;
		}
	}
out:
	close(fd);
	return r;
}

static int kmemhog_create(const struct kmemhog_opts *o, int top)
{
	for (uint64_t d = 0; d < o->dirs; d++) {
		int r = kmemhog_create_dir(o, top, d);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Stats every entry of one directory; returns the count or -errno. */
static int64_t kmemhog_walk_dir(int top, const char *name)
{
	struct dirent *e;
	struct stat st;
	int64_t n = 0;
	DIR *dir;
	int fd;

	fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		n = -errno;
		close(fd);
		return n;
	}
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

static int64_t kmemhog_walk(const struct kmemhog_opts *o, int top)
{
	char name[32];
	int64_t total = 0;

	for (uint64_t d = 0; d < o->dirs; d++) {
		int64_t n;

		snprintf(name, sizeof(name), "d%05" PRIu64, d);
		n = kmemhog_walk_dir(top, name);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

/* Buffered reads of the device's last raw_bytes: its page cache is
 * allocated without __GFP_MOVABLE, so it lands in the kernel zones. */
static int kmemhog_read_raw(const struct kmemhog_opts *o, int devfd, uint64_t dev_bytes)
{
	uint64_t off = dev_bytes > o->raw_bytes ? dev_bytes - o->raw_bytes : 0;

	off -= off % KMEMHOG_BUF_BYTES;
	while (off < dev_bytes) {
		ssize_t n = pread(devfd, kmemhog_buf, sizeof(kmemhog_buf), (off_t)off);

		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		off += (uint64_t)n;
	}
	return 0;
}

static int kmemhog_pass(const struct kmemhog_opts *o, int top, int devfd, uint64_t dev_bytes,
			struct kmemhog_pass *ret)
{
	uint64_t t0 = workload_now_usec(), t1, disk_kb = workload_disk_read_kb();
	int64_t n = kmemhog_walk(o, top);
	int r;

	if (n < 0)
		return (int)n;
	t1 = workload_now_usec();
	r = o->raw_bytes ? kmemhog_read_raw(o, devfd, dev_bytes) : 0;
	if (r < 0)
		return r;
	ret->stats = (uint64_t)n;
	ret->walk_ms = (t1 - t0) / 1000;
	ret->raw_ms = (workload_now_usec() - t1) / 1000;
	ret->disk_kb = workload_disk_read_kb() - disk_kb;
	return 0;
}

static void kmemhog_summary(const struct kmemhog_opts *o, uint64_t create_ms,
			    const struct kmemhog_pass *p, uint64_t n)
{
	char list[KMEMHOG_MAX_PASSES * 24] = "";
	uint64_t rest = 0, rest_kb = 0;

	for (uint64_t i = 0; i < n; i++) {
		workload_list_add(list, sizeof(list), p[i].walk_ms + p[i].raw_ms);
		if (i > 0) {
			rest += p[i].walk_ms + p[i].raw_ms;
			rest_kb += p[i].disk_kb;
		}
	}
	printf("VMRD-E2E: kmemhog-passes files=%" PRIu64 " dirs=%" PRIu64 " raw_mib=%" PRIu64
	       " create_ms=%" PRIu64 " passes=%" PRIu64 " pass_ms=%s pass1_ms=%" PRIu64
	       " rest_avg_ms=%" PRIu64 " rest_disk_mib=%" PRIu64 " buffers_kb=%" PRIu64
	       " slab_kb=%" PRIu64 "\n",
	       o->files, o->dirs, o->raw_bytes / WORKLOAD_MIB, create_ms, n, list,
	       n ? p[0].walk_ms + p[0].raw_ms : 0, n > 1 ? rest / (n - 1) : 0,
	       n > 1 ? rest_kb / 1024 / (n - 1) : 0,
	       workload_meminfo_kb("Buffers"),
	       workload_meminfo_kb("SReclaimable") + workload_meminfo_kb("SUnreclaim"));
}

static int kmemhog_open(const struct kmemhog_opts *o, int *ret_top, int *ret_dev,
			uint64_t *ret_dev_bytes)
{
	uint64_t bytes = 0;
	int top, dev;

	if (mkdir(o->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	top = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -errno;
	dev = open(o->dev, O_RDONLY | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, BLKGETSIZE64, &bytes) < 0) {
		int r = -errno;

		if (dev >= 0)
			close(dev);
		close(top);
		return r;
	}
	*ret_top = top;
	*ret_dev = dev;
	*ret_dev_bytes = bytes;
	return 0;
}

static int kmemhog_run(const void *arg)
{
	const struct kmemhog_opts *o = arg;
	struct kmemhog_pass p[KMEMHOG_MAX_PASSES];
	uint64_t dev_bytes = 0, t0, create_ms, n = 0;
	int top = -1, devfd = -1, r;

	r = kmemhog_open(o, &top, &devfd, &dev_bytes);
	if (r < 0) {
		printf("kmemhog: open %s or %s: %s\n", o->dir, o->dev, strerror(-r));
		return 1;
	}
	t0 = workload_now_usec();
	r = kmemhog_create(o, top);
	create_ms = (workload_now_usec() - t0) / 1000;
	if (r < 0) {
		printf("kmemhog: create: %s\n", strerror(-r));
		goto out;
	}
	kmemhog_line("created", o->files, create_ms);
	/* 3: page cache (Buffers included) and slab (dentries, inodes). */
	if (o->drop)
		workload_drop_caches("kmemhog", "3");
	workload_phase("passes");
	for (n = 0; n < o->passes; n++) {
		if (n > 0)
			workload_sleep_usec(o->idle_sec * 1000000);
		r = kmemhog_pass(o, top, devfd, dev_bytes, &p[n]);
		if (r < 0) {
			printf("kmemhog: pass %" PRIu64 ": %s\n", n + 1, strerror(-r));
			goto out;
		}
		printf("kmemhog: pass=%" PRIu64 " stats=%" PRIu64 " walk_ms=%" PRIu64 " raw_ms=%"
		       PRIu64 " disk_read_kb=%" PRIu64 "\n", n + 1, p[n].stats, p[n].walk_ms,
		       p[n].raw_ms, p[n].disk_kb);
		kmemhog_line("pass", n + 1, p[n].walk_ms + p[n].raw_ms);
	}
out:
	kmemhog_summary(o, create_ms, p, n);
	close(devfd);
	close(top);
	return r < 0;
}

static int kmemhog_parse(int argc, char **argv, struct kmemhog_opts *o)
{
	static const struct option longopts[] = {
		{ "files", required_argument, NULL, 'f' },
		{ "dirs", required_argument, NULL, 'D' },
		{ "raw", required_argument, NULL, 'r' },
		{ "dev", required_argument, NULL, 'b' },
		{ "passes", required_argument, NULL, 'p' },
		{ "idle", required_argument, NULL, 'i' },
		{ "drop", no_argument, NULL, 'x' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r = 0;

	*o = (struct kmemhog_opts){ .dir = "/mnt/data/kmemhog", .dev = "/dev/vda", .passes = 3 };
	while ((c = getopt_long(argc, argv, "f:D:r:b:p:i:xd:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': r = workload_parse_u64(optarg, &o->files); break;
		case 'D': r = workload_parse_u64(optarg, &o->dirs); break;
		case 'r': r = workload_parse_size(optarg, &o->raw_bytes); break;
		case 'b': o->dev = optarg; break;
		case 'p': r = workload_parse_u64(optarg, &o->passes); break;
		case 'i': r = workload_parse_u64(optarg, &o->idle_sec); break;
		case 'x': o->drop = true; break;
		case 'd': o->dir = optarg; break;
		case 'h': kmemhog_usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (!o->dirs)
		o->dirs = o->files / 1000 ? o->files / 1000 : 1;
	if (optind != argc || o->files == 0 || o->dirs > 99999 || o->files > 9999999 ||
	    o->passes == 0 || o->passes > KMEMHOG_MAX_PASSES)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct kmemhog_opts o;
	struct workload_result res;
	uint64_t start;

	if (kmemhog_parse(argc, argv, &o) < 0) {
		kmemhog_usage(stderr);
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	start = workload_now_usec();
	if (workload_run_child("kmemhog", kmemhog_run, &o, &res) < 0) {
		perror("kmemhog: fork");
		return 1;
	}
	printf("VMRD-E2E: kmemhog status=%s elapsed_ms=%" PRIu64 " files=%" PRIu64 " raw_mib=%"
	       PRIu64 "\n", workload_status(&res), (workload_now_usec() - start) / 1000, o.files,
	       o.raw_bytes / WORKLOAD_MIB);
	return workload_exit_code(&res);
}
