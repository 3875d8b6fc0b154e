/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the guest workload programs.  These programs run only
 * inside QEMU test guests, are linked statically and keep to libc, so the
 * helpers live in this header instead of a library.
 */
#ifndef VMRD_GUEST_WORKLOAD_H
#define VMRD_GUEST_WORKLOAD_H

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKLOAD_MIB (UINT64_C(1) << 20)

static inline uint64_t workload_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static inline void workload_sleep_usec(uint64_t usec)
{
	struct timespec ts = {
		.tv_sec = (time_t)(usec / 1000000),
		.tv_nsec = (long)(usec % 1000000) * 1000,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Parses "300M", "2G", "4096" or "512K" into bytes; returns -EINVAL on junk. */
static inline int workload_parse_size(const char *s, uint64_t *ret_bytes)
{
	char *end;
	uint64_t v, mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mult = UINT64_C(1) << 10; end++; break;
	case 'm': case 'M': mult = UINT64_C(1) << 20; end++; break;
	case 'g': case 'G': mult = UINT64_C(1) << 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -EINVAL;
	*ret_bytes = v * mult;
	return 0;
}

static inline int workload_parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Reads one "Key: value kB" field of /proc/meminfo, in KiB; 0 if missing. */
static inline uint64_t workload_meminfo_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Writes level ("1" page cache, "3" page cache and slab) to drop_caches
 * after a sync, so that the next pass starts cold. */
static inline void workload_drop_caches(const char *prog, const char *level)
{
	FILE *f;

	sync();
	f = fopen("/proc/sys/vm/drop_caches", "we");
	if (!f)
		return;
	if (fprintf(f, "%s\n", level) < 0 || fclose(f) != 0)
		printf("%s: drop_caches: %s\n", prog, strerror(errno));
}

/*
 * A phase marker in the form of scripts/bench/guest-bench.sh, so that the
 * host can cut its timeline at a point inside the workload (e.g. where the
 * set-up ends and the measured passes begin).
 */
static inline void workload_phase(const char *name)
{
	char up[64] = "?";
	FILE *f = fopen("/proc/uptime", "re");

	if (f) {
		if (fscanf(f, "%63s", up) != 1)
			snprintf(up, sizeof(up), "?");
		fclose(f);
	}
	printf("VMRD-E2E: event=phase name=%s uptime=%s\n", name, up);
	fflush(stdout);
}

/* Appends ",v" (or "v" first) to a comma list kept in buf. */
static inline void workload_list_add(char *buf, size_t size, uint64_t v)
{
	size_t len = strlen(buf);

	if (len < size)
		snprintf(buf + len, size - len, "%s%" PRIu64, len ? "," : "", v);
}

static inline void workload_set_oom_score_adj(int adj)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "we");

	if (!f)
		return;
	fprintf(f, "%d\n", adj);
	fclose(f);
}

/*
 * Results of the worker processes.  A worker killed by SIGKILL is counted
 * as an OOM kill: nothing else in a test guest sends SIGKILL, and the
 * kernel's oom_kill counter is reported next to it for confirmation.
 */
struct workload_result {
	unsigned ok;
	unsigned failed;
	unsigned oom_killed;
	unsigned other_signal;
};

/* One counter of /proc/vmstat; 0 if missing. */
static inline uint64_t workload_vmstat(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen("/proc/vmstat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ' ')
			v = strtoull(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static inline uint64_t workload_vmstat_oom_kill(void)
{
	return workload_vmstat("oom_kill");
}

/* KiB read from block devices so far (pgpgin): a pass that finds its data
 * cached reads next to nothing, whatever the host's load does to time. */
static inline uint64_t workload_disk_read_kb(void)
{
	return workload_vmstat("pgpgin");
}

static inline void workload_reap(const char *prog, pid_t *pids, unsigned n, struct workload_result *res)
{
	unsigned done = 0;

	memset(res, 0, sizeof(*res));
	while (done < n) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			done++;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
				res->ok++;
			} else if (WIFEXITED(status)) {
				res->failed++;
				printf("%s: worker pid=%d exited status=%d\n", prog, pid, WEXITSTATUS(status));
			} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
				res->oom_killed++;
				printf("%s: worker pid=%d oom-killed\n", prog, pid);
			} else if (WIFSIGNALED(status)) {
				res->other_signal++;
				printf("%s: worker pid=%d killed signal=%d\n", prog, pid, WTERMSIG(status));
			}
			fflush(stdout);
		}
	}
}

/*
 * Runs fn(arg) in one child with a normal OOM score while this process
 * lowers its own, so that an OOM kill takes the work and this process
 * lives to report it.  Returns 0 with *res filled in, or -errno.
 */
static inline int workload_run_child(const char *prog, int (*fn)(const void *), const void *arg,
				     struct workload_result *res)
{
	pid_t pid;

	workload_set_oom_score_adj(-1000);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		workload_set_oom_score_adj(0);
		_exit(fn(arg));
	}
	workload_reap(prog, &pid, 1, res);
	return 0;
}

static inline const char *workload_status(const struct workload_result *res)
{
	if (res->oom_killed)
		return "oom-killed";
	if (res->failed || res->other_signal)
		return "failed";
	return "ok";
}

/* Exit codes: 0 all workers finished, 2 some were OOM-killed, 1 otherwise. */
static inline int workload_exit_code(const struct workload_result *res)
{
	if (res->oom_killed)
		return 2;
	if (res->failed || res->other_signal)
		return 1;
	return 0;
}

#endif
