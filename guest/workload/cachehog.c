/* SPDX-License-Identifier: MIT */
/*
 * cachehog: page-cache workloads for a test guest.  It needs a real
 * filesystem (the guest mounts its virtio-blk disk at /mnt/data): tmpfs
 * pages are shmem, not reclaimable cache.
 *
 *   cachehog reread --size 400M [--idle 10] [--drop]
 *       writes one file if missing, reads it (optionally after dropping
 *       caches), idles, and reads it again; a fast second read means the
 *       cache survived the idle period.
 *   cachehog creep --size 64M --count 20 [--rate 20]
 *       keeps writing and reading new files, so the cache grows steadily
 *       as on a host that scans logs or builds software.
 *   cachehog hotset --size 900M --passes 4 --cold 512M [--count 8]
 *       writes a hot set of SIZE in COUNT files and PASSES cold files of
 *       COLD each, drops caches and prints a "passes" phase marker; then,
 *       PASSES times, streams one cold file (read once, never again) and
 *       reads the whole hot set.  The hot set stays cached only if the
 *       guest has room for it; the cold reads are what a guest should not
 *       grow for (a static guest caches them until it is full).
 *
 * The work runs in a child so that an OOM kill is seen and reported.  The
 * last line is machine-readable:
 *   VMRD-E2E: cachehog status=ok|oom-killed|failed mode=M elapsed_ms=N ...
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>

#include "workload.h"

#define CACHEHOG_BUF_BYTES (1 << 20)

struct cachehog_opts {
	const char *mode;
	const char *dir;
	uint64_t size_bytes;
	uint64_t count;
	uint64_t idle_sec;
	uint64_t rate_mib_per_sec;
	uint64_t passes;
	uint64_t cold_bytes;
	bool drop;
};

#define CACHEHOG_MAX_PASSES 64

static unsigned char cachehog_buf[CACHEHOG_BUF_BYTES];

static void cachehog_usage(FILE *out)
{
	fprintf(out,
		"usage: cachehog reread --size SIZE [--idle SEC] [--drop] [--dir DIR]\n"
		"       cachehog creep --size SIZE --count N [--rate MIB_PER_SEC] [--dir DIR]\n"
		"       cachehog hotset --size SIZE --passes N --cold SIZE [--count FILES] [--dir DIR]\n"
		"  --dir   directory on a disk-backed filesystem (default /mnt/data)\n");
}

static void cachehog_pace(uint64_t start_usec, uint64_t done_bytes, uint64_t rate_mib_per_sec)
{
	uint64_t due, now;

	if (!rate_mib_per_sec)
		return;
	due = start_usec + done_bytes / WORKLOAD_MIB * 1000000 / rate_mib_per_sec;
	now = workload_now_usec();
	if (due > now)
		workload_sleep_usec(due - now);
}

static int cachehog_write(const char *path, uint64_t size_bytes, uint64_t rate_mib_per_sec)
{
	uint64_t start = workload_now_usec(), done = 0;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(cachehog_buf); i++)
		cachehog_buf[i] = (unsigned char)(i * 31 + size_bytes);
	while (done < size_bytes) {
		size_t n = size_bytes - done < sizeof(cachehog_buf) ? size_bytes - done : sizeof(cachehog_buf);
		ssize_t w = write(fd, cachehog_buf, n);
		if (w < 0) {
			r = -errno;
			goto out;
		}
		done += (uint64_t)w;
		cachehog_pace(start, done, rate_mib_per_sec);
	}
	if (fsync(fd) < 0)
		r = -errno;
out:
	close(fd);
	return r;
}

/* Reads a whole file; returns the time it took in milliseconds or -errno. */
static int64_t cachehog_read(const char *path, uint64_t rate_mib_per_sec)
{
	uint64_t start = workload_now_usec(), done = 0;
	int64_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, cachehog_buf, sizeof(cachehog_buf));
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		done += (uint64_t)n;
		cachehog_pace(start, done, rate_mib_per_sec);
	}
	r = (int64_t)((workload_now_usec() - start) / 1000);
out:
	close(fd);
	return r;
}

static int cachehog_reread(const struct cachehog_opts *o)
{
	char path[4096];
	struct stat st;
	int64_t first, second;
	int r;

	snprintf(path, sizeof(path), "%s/cachehog.reread", o->dir);
	if (stat(path, &st) < 0 || (uint64_t)st.st_size != o->size_bytes) {
		r = cachehog_write(path, o->size_bytes, 0);
		if (r < 0) {
			printf("cachehog: write %s: %s\n", path, strerror(-r));
			return 1;
		}
	}
	if (o->drop)
		workload_drop_caches("cachehog", "1");
	first = cachehog_read(path, 0);
	printf("cachehog: read=1 ms=%" PRId64 " cached_kb=%" PRIu64 "\n", first,
	       workload_meminfo_kb("Cached"));
	workload_sleep_usec(o->idle_sec * 1000000);
	second = cachehog_read(path, 0);
	printf("cachehog: read=2 ms=%" PRId64 " cached_kb=%" PRIu64 "\n", second,
	       workload_meminfo_kb("Cached"));
	printf("VMRD-E2E: cachehog-reread size_mib=%" PRIu64 " idle_s=%" PRIu64 " read1_ms=%" PRId64
	       " read2_ms=%" PRId64 " cached_kb=%" PRIu64 "\n", o->size_bytes / WORKLOAD_MIB,
	       o->idle_sec, first, second, workload_meminfo_kb("Cached"));
	return first < 0 || second < 0;
}

static int cachehog_creep(const struct cachehog_opts *o)
{
	char path[4096];

	for (uint64_t i = 0; i < o->count; i++) {
		int64_t ms;
		int r;

		snprintf(path, sizeof(path), "%s/cachehog.creep.%" PRIu64, o->dir, i);
		r = cachehog_write(path, o->size_bytes, o->rate_mib_per_sec);
		if (r < 0) {
			printf("cachehog: write %s: %s\n", path, strerror(-r));
			return 1;
		}
		ms = cachehog_read(path, 0);
		printf("cachehog: file=%" PRIu64 " read_ms=%" PRId64 " cached_kb=%" PRIu64
		       " memavailable_kb=%" PRIu64 "\n", i, ms, workload_meminfo_kb("Cached"),
		       workload_meminfo_kb("MemAvailable"));
		if (ms < 0)
			return 1;
	}
	return 0;
}

/* Drops a written (and synced) file's pages, so that writing the set-up
 * does not fill the page cache and make a guest grow before the passes. */
static void cachehog_uncache(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* Writes the COUNT hot files and PASSES cold files unless present. */
static int cachehog_hotset_setup(const struct cachehog_opts *o)
{
	uint64_t per = o->size_bytes / o->count;
	char path[4096];
	struct stat st;
	int r;

	for (uint64_t i = 0; i < o->count + o->passes; i++) {
		bool hot = i < o->count;
		uint64_t want = hot ? per : o->cold_bytes;

		snprintf(path, sizeof(path), "%s/cachehog.%s.%" PRIu64, o->dir, hot ? "hot" : "cold",
			 hot ? i : i - o->count);
		if (stat(path, &st) == 0 && (uint64_t)st.st_size == want)
			continue;
		r = cachehog_write(path, want, 0);
		if (r < 0) {
			printf("cachehog: write %s: %s\n", path, strerror(-r));
			return r;
		}
		cachehog_uncache(path);
	}
	return 0;
}

/* Reads every hot file once; returns the milliseconds or -errno. */
static int64_t cachehog_hot_pass(const struct cachehog_opts *o)
{
	uint64_t start = workload_now_usec();
	char path[4096];

	for (uint64_t i = 0; i < o->count; i++) {
		int64_t ms;

		snprintf(path, sizeof(path), "%s/cachehog.hot.%" PRIu64, o->dir, i);
		ms = cachehog_read(path, 0);
		if (ms < 0)
			return ms;
	}
	return (int64_t)((workload_now_usec() - start) / 1000);
}

/* Per-pass times of the hot set and the cold reads between the passes,
 * and what the re-read passes read from the disk. */
struct cachehog_times {
	char hot_list[CACHEHOG_MAX_PASSES * 24];
	char cold_list[CACHEHOG_MAX_PASSES * 24];
	uint64_t hot1_ms, reread_ms, cold_ms, reread_disk_kb;
};

static void cachehog_hotset_summary(const struct cachehog_opts *o, const struct cachehog_times *t)
{
	printf("VMRD-E2E: cachehog-hotset size_mib=%" PRIu64 " files=%" PRIu64 " cold_mib=%" PRIu64
	       " passes=%" PRIu64 " hot_ms=%s hot1_ms=%" PRIu64 " hot_reread_ms=%" PRIu64
	       " hot_reread_disk_mib=%" PRIu64 " cold_ms=%" PRIu64 " cold_each_ms=%s cached_kb=%"
	       PRIu64 "\n", o->size_bytes / WORKLOAD_MIB, o->count, o->cold_bytes / WORKLOAD_MIB,
	       o->passes, t->hot_list, t->hot1_ms,
	       o->passes > 1 ? t->reread_ms / (o->passes - 1) : 0,
	       o->passes > 1 ? t->reread_disk_kb / 1024 / (o->passes - 1) : 0, t->cold_ms,
	       t->cold_list, workload_meminfo_kb("Cached"));
}

static int cachehog_hotset(const struct cachehog_opts *o)
{
	struct cachehog_times t = { .hot1_ms = 0 };
	char path[4096];

	if (cachehog_hotset_setup(o) < 0)
		return 1;
	workload_drop_caches("cachehog", "1");
	workload_phase("passes");
	for (uint64_t p = 0; p < o->passes; p++) {
		uint64_t disk_kb;
		int64_t ms;

		snprintf(path, sizeof(path), "%s/cachehog.cold.%" PRIu64, o->dir, p);
		ms = cachehog_read(path, 0);
		if (ms < 0)
			return 1;
		printf("cachehog: cold=%" PRIu64 " ms=%" PRId64 "\n", p + 1, ms);
		workload_list_add(t.cold_list, sizeof(t.cold_list), (uint64_t)ms);
		t.cold_ms += (uint64_t)ms;
		disk_kb = workload_disk_read_kb();
		ms = cachehog_hot_pass(o);
		if (ms < 0)
			return 1;
		disk_kb = workload_disk_read_kb() - disk_kb;
		printf("cachehog: hot=%" PRIu64 " ms=%" PRId64 " disk_read_kb=%" PRIu64 " cached_kb=%"
		       PRIu64 " memavailable_kb=%" PRIu64 "\n", p + 1, ms, disk_kb,
		       workload_meminfo_kb("Cached"), workload_meminfo_kb("MemAvailable"));
		workload_list_add(t.hot_list, sizeof(t.hot_list), (uint64_t)ms);
		if (p == 0) {
			t.hot1_ms = (uint64_t)ms;
		} else {
			t.reread_ms += (uint64_t)ms;
			t.reread_disk_kb += disk_kb;
		}
	}
	cachehog_hotset_summary(o, &t);
	return 0;
}

static int cachehog_parse(int argc, char **argv, struct cachehog_opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "idle", required_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'r' },
		{ "dir", required_argument, NULL, 'd' },
		{ "drop", no_argument, NULL, 'D' },
		{ "passes", required_argument, NULL, 'p' },
		{ "cold", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r = 0;

	*o = (struct cachehog_opts){ .dir = "/mnt/data", .count = 1, .passes = 1 };
	if (argc < 2)
		return -EINVAL;
	o->mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "s:n:i:r:d:Dp:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': r = workload_parse_size(optarg, &o->size_bytes); break;
		case 'n': r = workload_parse_u64(optarg, &o->count); break;
		case 'i': r = workload_parse_u64(optarg, &o->idle_sec); break;
		case 'r': r = workload_parse_u64(optarg, &o->rate_mib_per_sec); break;
		case 'd': o->dir = optarg; break;
		case 'D': o->drop = true; break;
		case 'p': r = workload_parse_u64(optarg, &o->passes); break;
		case 'c': r = workload_parse_size(optarg, &o->cold_bytes); break;
		case 'h': cachehog_usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (optind != argc || o->size_bytes == 0)
		return -EINVAL;
	if (strcmp(o->mode, "hotset") == 0)
		return o->count && o->passes && o->passes <= CACHEHOG_MAX_PASSES && o->cold_bytes ?
		       0 : -EINVAL;
	if (strcmp(o->mode, "reread") != 0 && strcmp(o->mode, "creep") != 0)
		return -EINVAL;
	return 0;
}

static int cachehog_mode(const void *arg)
{
	const struct cachehog_opts *o = arg;

	if (strcmp(o->mode, "reread") == 0)
		return cachehog_reread(o);
	if (strcmp(o->mode, "hotset") == 0)
		return cachehog_hotset(o);
	return cachehog_creep(o);
}

int main(int argc, char **argv)
{
	struct cachehog_opts o;
	struct workload_result res;
	uint64_t start;

	if (cachehog_parse(argc, argv, &o) < 0) {
		cachehog_usage(stderr);
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	start = workload_now_usec();
	if (workload_run_child("cachehog", cachehog_mode, &o, &res) < 0) {
		perror("cachehog: fork");
		return 1;
	}
	printf("VMRD-E2E: cachehog status=%s mode=%s elapsed_ms=%" PRIu64 "\n", workload_status(&res),
	       o.mode, (workload_now_usec() - start) / 1000);
	return workload_exit_code(&res);
}
