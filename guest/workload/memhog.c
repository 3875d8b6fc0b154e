/* SPDX-License-Identifier: MIT */
/*
 * memhog: allocates anonymous memory inside a test guest, at a given rate
 * or as fast as it can, touching every page, holds it, frees it, and can
 * repeat that as a sawtooth in several processes at once.
 *
 * The parent only supervises: it forks the workers, lowers its own OOM
 * score so that the kernel picks a worker, and reports every worker that
 * was OOM-killed.  The last line is machine-readable:
 *   VMRD-E2E: memhog status=ok|oom-killed|failed elapsed_ms=N ...
 */
#include <getopt.h>
#include <sys/mman.h>

#include "workload.h"

struct memhog_opts {
	uint64_t size_bytes;
	uint64_t rate_mib_per_sec;	/* 0 means unthrottled */
	uint64_t hold_sec;
	uint64_t idle_sec;		/* pause after freeing, between cycles */
	uint64_t cycles;
	uint64_t procs;
	bool random_fill;
	bool quiet;
};

static void memhog_usage(FILE *out)
{
	fprintf(out,
		"usage: memhog --size SIZE [--rate MIB_PER_SEC] [--hold SEC] [--cycles N]\n"
		"              [--idle SEC] [--procs N] [--fill touch|random] [--quiet]\n"
		"  --size    memory per process (e.g. 300M, 1G)\n"
		"  --rate    allocation rate per process in MiB/s (default: unthrottled)\n"
		"  --hold    seconds to hold the full size before freeing (default 0)\n"
		"  --cycles  sawtooth: allocate, hold, free N times (default 1)\n"
		"  --idle    seconds to wait after freeing, between cycles (default 0)\n"
		"  --procs   number of worker processes (default 1)\n"
		"  --fill    touch: one word per page (compressible, not same-filled);\n"
		"            random: whole pages of noise (incompressible, slower)\n");
}

static void memhog_fill_page(unsigned char *page, uint64_t index, bool random_fill, uint64_t *seed)
{
	uint64_t *w = (uint64_t *)page;

	if (!random_fill) {
		/* A distinct word per page keeps zram from treating the page
		 * as same-filled, while the rest still compresses well. */
		w[0] = index ^ ((uint64_t)getpid() << 40) ^ UINT64_C(0x9e3779b97f4a7c15);
		return;
	}
	for (size_t i = 0; i < 4096 / sizeof(uint64_t); i++) {
		*seed ^= *seed << 13;
		*seed ^= *seed >> 7;
		*seed ^= *seed << 17;
		w[i] = *seed;
	}
}

/* One allocate-hold-free cycle; returns 0 or a negative errno. */
static int memhog_cycle(const struct memhog_opts *o, unsigned worker, uint64_t cycle)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t start = workload_now_usec(), next_report = start + 1000000;
	uint64_t seed = workload_now_usec() | 1;
	unsigned char *mem;

	mem = mmap(NULL, o->size_bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;

	for (uint64_t off = 0; off < o->size_bytes; off += page) {
		memhog_fill_page(mem + off, off / page, o->random_fill, &seed);
		if (off % WORKLOAD_MIB != 0)
			continue;
		uint64_t now = workload_now_usec();
		if (o->rate_mib_per_sec) {
			uint64_t due = start + (off / WORKLOAD_MIB) * 1000000 / o->rate_mib_per_sec;
			if (due > now)
				workload_sleep_usec(due - now);
		}
		if (!o->quiet && now >= next_report) {
			printf("memhog: worker=%u cycle=%" PRIu64 " allocated_mib=%" PRIu64
			       " elapsed_ms=%" PRIu64 " memavailable_kb=%" PRIu64 "\n",
			       worker, cycle, off / WORKLOAD_MIB, (now - start) / 1000,
			       workload_meminfo_kb("MemAvailable"));
			fflush(stdout);
			next_report = now + 1000000;
		}
	}
	printf("memhog: worker=%u cycle=%" PRIu64 " allocated_mib=%" PRIu64 " alloc_ms=%" PRIu64 "\n",
	       worker, cycle, o->size_bytes / WORKLOAD_MIB, (workload_now_usec() - start) / 1000);
	fflush(stdout);
	workload_sleep_usec(o->hold_sec * 1000000);
	munmap(mem, o->size_bytes);
	printf("memhog: worker=%u cycle=%" PRIu64 " freed\n", worker, cycle);
	fflush(stdout);
	return 0;
}

static int memhog_worker(const struct memhog_opts *o, unsigned worker)
{
	/* The parent lowered its score; workers are the ones to kill. */
	workload_set_oom_score_adj(0);
	for (uint64_t c = 0; c < o->cycles; c++) {
		int r = memhog_cycle(o, worker, c);
		if (r < 0) {
			printf("memhog: worker=%u mmap failed: %s\n", worker, strerror(-r));
			return 1;
		}
		if (c + 1 < o->cycles)
			workload_sleep_usec(o->idle_sec * 1000000);
	}
	return 0;
}

static int memhog_parse(int argc, char **argv, struct memhog_opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "hold", required_argument, NULL, 'H' },
		{ "cycles", required_argument, NULL, 'c' },
		{ "idle", required_argument, NULL, 'i' },
		{ "procs", required_argument, NULL, 'p' },
		{ "fill", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r = 0;

	*o = (struct memhog_opts){ .cycles = 1, .procs = 1 };
	while ((c = getopt_long(argc, argv, "s:r:H:c:i:p:f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': r = workload_parse_size(optarg, &o->size_bytes); break;
		case 'r': r = workload_parse_u64(optarg, &o->rate_mib_per_sec); break;
		case 'H': r = workload_parse_u64(optarg, &o->hold_sec); break;
		case 'c': r = workload_parse_u64(optarg, &o->cycles); break;
		case 'i': r = workload_parse_u64(optarg, &o->idle_sec); break;
		case 'p': r = workload_parse_u64(optarg, &o->procs); break;
		case 'f':
			if (strcmp(optarg, "random") == 0)
				o->random_fill = true;
			else if (strcmp(optarg, "touch") != 0)
				r = -EINVAL;
			break;
		case 'q': o->quiet = true; break;
		case 'h': memhog_usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "memhog: invalid value '%s'\n", optarg);
			return r;
		}
	}
	if (optind != argc || o->size_bytes == 0 || o->procs == 0 || o->procs > 256 || o->cycles == 0)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct memhog_opts o;
	struct workload_result res;
	pid_t pids[256];
	uint64_t start, oom_before;

	if (memhog_parse(argc, argv, &o) < 0) {
		memhog_usage(stderr);
		return 64;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	workload_set_oom_score_adj(-1000);
	oom_before = workload_vmstat_oom_kill();
	start = workload_now_usec();
	printf("memhog: start size_mib=%" PRIu64 " rate_mib_s=%" PRIu64 " procs=%" PRIu64
	       " cycles=%" PRIu64 " hold_s=%" PRIu64 "\n",
	       o.size_bytes / WORKLOAD_MIB, o.rate_mib_per_sec, o.procs, o.cycles, o.hold_sec);

	for (unsigned i = 0; i < o.procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("memhog: fork");
			o.procs = i;
			break;
		}
		if (pids[i] == 0)
			_exit(memhog_worker(&o, i));
	}
	workload_reap("memhog", pids, (unsigned)o.procs, &res);

	printf("VMRD-E2E: memhog status=%s elapsed_ms=%" PRIu64 " procs=%" PRIu64 " ok=%u oom_killed=%u"
	       " failed=%u kernel_oom_kills=%" PRIu64 "\n",
	       workload_status(&res), (workload_now_usec() - start) / 1000, o.procs, res.ok,
	       res.oom_killed, res.failed + res.other_signal, workload_vmstat_oom_kill() - oom_before);
	return workload_exit_code(&res);
}
