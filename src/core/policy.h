/* SPDX-License-Identifier: MIT */
#ifndef VMRD_POLICY_H
#define VMRD_POLICY_H

/*
 * The grow/shrink policy: pure, integer-only and deterministic.  It reads a
 * snapshot (struct policy_input, time included) and its own state, and says
 * what to do and why.  No I/O, no clock, no allocation, no logging: the
 * daemon and the simulator run this very code.
 *
 * Sizes are bytes, times microseconds of CLOCK_MONOTONIC, PSI averages and
 * ratios hundredths of a percent ("centi").
 *
 * Memory comes in two kinds that growth cannot trade for each other.
 * Memory onlined into ZONE_MOVABLE (where virtio-mem memory goes by
 * default, so that it can be unplugged again) holds only movable pages:
 * anonymous memory and file cache.  The kernel zones (DMA, DMA32, Normal)
 * hold those and everything the kernel cannot move: slab, page tables,
 * kernel stacks, block-device buffers.  Growing ZONE_MOVABLE cannot relieve
 * a shortage of the kernel zones; growing the kernel zones can relieve
 * either, but that memory is hard to give back.  File cache is not demand:
 * it is grown for only when it refaults, and trimmed back otherwise.
 *
 * How one evaluation decides (POLICY_MODE_DEFAULT):
 *
 *  1. Facts.  The headroom target is max(min_headroom_bytes,
 *     headroom_ratio_centi x MemTotal).  Demand is MemTotal - MemAvailable
 *     plus the protected cache (below).  The velocity is the least-squares
 *     slope of (MemAvailable - MemTotal) over velocity_window_usec, limited
 *     to the newest interval's slope (0 if its sign differs), so that a
 *     jump that already happened does not read as a fall still going on.
 *     The kernel zones get the same: their available memory (free above
 *     the high watermark, plus their regular file pages but half the low
 *     watermarks), a target of max(kernel_min_headroom_bytes,
 *     kernel_headroom_ratio_centi x their managed memory) and a velocity.
 *     Their own cache, reclaimable slab and block-device buffers, is not
 *     counted available: only the kernel zones can hold it, so a walk of
 *     many files or a raw device read that fills it is demand the kernel
 *     zones must grow for before it thrashes (bounded by
 *     kernel_max_ratio_centi).
 *     The unmovable velocity is the slope of slab + page tables + kernel
 *     stacks + buffers.  The refault rate is file refaults per second over
 *     the window.  The stall share is PSI some stall time over the time
 *     since the previous evaluation.  The lead time is the plug latency
 *     (measured by the daemon, else plug_latency_usec) + lead_margin_usec;
 *     the falling bytes are |velocity| x lead time while it falls.
 *
 *  2. Shortages.  Each is a need in bytes:
 *     GLOBAL: MemAvailable below the headroom target (the deficit) or
 *       falling fast enough to cross reserve_bytes within the lead time:
 *       need = deficit + falling bytes.
 *     KERNEL (zones known, kernel_growth not off): the same test on the
 *       kernel zones (their deficit + their falling bytes), counted only
 *       when growth of the kernel zones is what helps: ZONE_MOVABLE has at
 *       least that need free above its high watermark (the pressure is not
 *       user pages spilling over), or unmovable memory grows at least half
 *       as fast as kernel-zone memory is used up.  Otherwise a kernel
 *       shortage is user pages filling the kernel zones, and GLOBAL grows
 *       ZONE_MOVABLE for them.  A GLOBAL shortage whose fall is at least
 *       half unmovable growth is served in the kernel zones too.  And
 *       when the kernel zones sit at twice their high watermark or below
 *       while ZONE_MOVABLE has a headroom target free (or their own cache
 *       is most of the guest's cache), refaults at cache_refault_rate or
 *       stalled kernel allocations mean their working set does not fit
 *       (refaults after our own trim too, once more than twice what it
 *       asked for came back): need = the refaulted bytes of the window,
 *       at least grow_step_min_bytes.
 *     CACHE: file refaults at or above cache_refault_rate while MemFree is
 *       below the headroom target (the cache does not fit and the kernel
 *       is evicting the working set), and not within velocity_window_usec
 *       + calm_hold_usec of our own trim (whose refaults say the trim went
 *       too far, not that the guest is too small): need = the refaulted
 *       bytes of the window, at least grow_step_min_bytes.  Streaming reads do not
 *       refault and so never grow the guest.  A cache grow starts the
 *       protection below.
 *     Stalls (PSI some share >= calm_stall_centi, a PSI trigger event,
 *     allocation stalls, PSI full share or avg10 >= full_emergency_centi)
 *     only raise the urgency of a shortage; stalls without one are cache
 *     turning over (CACHE_TURNOVER): nothing to grow for.  An OOM kill,
 *     or MemAvailable below reserve_bytes and still falling (EXHAUSTING:
 *     the prediction failed or the host held the earlier grows, and a
 *     request the host may hold again would come too late), is an
 *     EMERGENCY with at least emergency_step_bytes
 *     (in the kernel zones when they are short, else ZONE_MOVABLE).
 *
 *  3. GROW.  A kernel need is served first, in the kernel zones:
 *     whole memory blocks (memory_block_bytes), plus the unplugged part of
 *     partially plugged ZONE_MOVABLE blocks (the kernel fills those first),
 *     capped so that the kernel zones stay within kernel_max_ratio_centi of
 *     max_bytes.  Memory in the kernel zones serves user pages too, so the
 *     movable need is max(global, cache) - kernel need, served in
 *     ZONE_MOVABLE by a later request.  When the kernel need cannot be
 *     served (kernel_growth off or impossible, or the bound reached) and
 *     there is no movable need, the decision is CANT_HELP: growing would not
 *     help, and the guest says so instead of growing to its maximum.
 *     The step is the need, at least grow_step_min_bytes (emergency:
 *     emergency_step_bytes), rounded up to blocks.  Escalation doubles the
 *     falling-bytes part (not the deficit) per grow while stalls continue
 *     after a grow has landed, at most escalate_max_shift times; it drops
 *     to 0 at the first evaluation without a shortage.  So a step is never
 *     beyond what the trend needs.  Hot-added memory needs struct pages
 *     (memmap_overhead_centi of it) from memory the guest has now: the step
 *     is cut to what MemAvailable can pay, but never below one block.  A
 *     wanted grow is held while the backend is busy (BACKEND_BUSY), in
 *     backoff after a failure (BACKOFF), while the host holds growth
 *     (HOST_DENIED, until its retry_after) or at max_bytes (AT_MAX).
 *
 *  4. The daemon stops a running page-cache trim on any GROW decision.
 *     Without a grow, a running trim is stopped (RECLAIM_STOP,
 *     PRESSURE_RISING) on stalls or when file refaults since the previous
 *     evaluation exceed reclaim_refault_limit.  If a grow is wanted but
 *     held, the decision is RECLAIM_STOP instead of the hold.
 *
 *  5. Otherwise, with the backend idle, no trim running and no backoff or
 *     host hold, it may shrink.  "Pressure" is any shortage, stall, refault
 *     burst, or available memory draining faster than the headroom target
 *     per minute; calm means none for calm_hold_usec, so the hold after a
 *     burst ends when the burst is over, and a guest still filling memory
 *     keeps what it has.  Holds in this order: AT_MIN,
 *     NO_SURPLUS, PRESSURE_RECENT, PINGPONG_HOLD (calm_hold_usec x
 *     2^pingpong_level), GROW_HOLD (grow_hold_usec after a grow; 0 by
 *     default), SHRINK_INTERVAL, NOT_RELEASABLE and STEADY (surplus below
 *     one block, or the first calm_hold_usec after start).  The surplus is
 *     MemAvailable - protected cache - headroom target - shrink_margin_bytes
 *     - what a fall of MemAvailable would take within calm_hold_usec (a
 *     guest still filling memory has no surplus to give);
 *     the release is (shrink_fraction_centi >> pingpong_level) of it, at
 *     least one block, at most shrink_step_max_bytes and shrink_max_blocks
 *     blocks, rounded down to blocks, never below min_bytes and never more
 *     than releasable_bytes (what lies in ZONE_MOVABLE: memory plugged
 *     into the kernel zones is reported as not releasable).  Offlining needs
 *     free memory to migrate into: when MemFree is below release +
 *     reserve/2 and there is file cache above reclaim_min_cache_bytes, the
 *     policy first asks for a trim (RECLAIM, TRIM_CACHE) of whole reclaim
 *     steps, at most reclaim_max_steps of them, once per shrink.
 *
 *  6. Host reclaim: when host_reclaim_target_bytes is set and below
 *     current_bytes, the policy shrinks (HOST_RECLAIM) toward max(host
 *     target, the lowest total that keeps MemAvailable >= headroom target
 *     + shrink margin, min_bytes) in the same steps, without the fraction,
 *     ping-pong, grow-hold or interval limits, but only when calm.
 *     Otherwise it holds with HOST_RECLAIM_UNSAFE (or AT_MIN,
 *     NOT_RELEASABLE).  Any shortage wins over the host's ask.
 *
 *  7. Cache back to the host: when nothing else is to be done and the
 *     guest is calm, cold file cache (file cache - protected cache -
 *     reclaim_min_cache_bytes) is trimmed (RECLAIM, TRIM_COLD) in steps of
 *     an eighth of it, between reclaim_step_bytes / 4 and reclaim_step_bytes,
 *     every trim_interval_usec: the kernel reclaims the coldest pages
 *     first, and with free page reporting the host gets them back within
 *     seconds.  Refaults after a trim mean it reached the working set: the
 *     interval doubles, to at least trim_backoff_min_usec and at most
 *     trim_backoff_max_usec, counted from the last refault, and halves
 *     back after each trim without them.  Protected cache is the active file
 *     cache while refaults (above reclaim_refault_limit in one evaluation,
 *     or at cache_refault_rate) were seen within cache_protect_usec: a
 *     working set that refaulted is demand, not surplus.
 *
 *  8. Ping-pong: a grow within pingpong_window_usec of a shrink raises
 *     pingpong_level (at most pingpong_max_level, once per shrink), which
 *     lengthens the calm hold and shrinks the fraction; the level drops by
 *     one per 4 x pingpong_window_usec without ping-pong.  A trim stopped
 *     by pressure counts the same.
 *
 *  9. Backend feedback (policy_backend_done): a failure starts a backoff of
 *     backoff_min_usec << (failures - 1), at most backoff_max_usec; a deny
 *     with a retry hint from the host holds exactly that long instead
 *     (HOST_DENIED) and is not a failure, unless a grow becomes more
 *     urgent than the one denied (the host lets urgent growth through);
 *     a success ends both.  A failed
 *     shrink released nothing and so does not count towards ping-pong.
 *
 * An episode runs from a grow after calm until calm again; its overshoot
 * is peak MemTotal - peak demand - headroom target (0 if negative), in the
 * decision for metrics and `vmrctl why`.
 *
 * Every step is a whole number of blocks: (target - current) % block_bytes
 * is 0 and min_bytes <= target <= max_bytes for GROW and SHRINK (when
 * current itself lies within them).  A block_bytes of 0 is taken as 1.
 * Without PSI (psi_available false) the PSI fields are ignored and calm is
 * judged from memory alone; without zones (zones_available false) every
 * shortage is GLOBAL, as before zone awareness.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/backoff.h"
#include "core/urgency.h"

enum policy_mode {
	POLICY_MODE_DEFAULT = 0,
	/*
	 * The design vmrd started from, kept as a benchmark reference: each
	 * evaluation with a PSI trigger event grows by psionly_step_bytes
	 * (rounded up to a block), and after psionly_quiet_usec without an
	 * event each evaluation shrinks by that step down to min_bytes.  It
	 * only respects the backend (busy, backoff, min, max): no headroom,
	 * velocity, calm, zones, releasable or trim logic.
	 */
	POLICY_MODE_PSI_ONLY = 1,
};

/* The defaults (policy_config_defaults) are given after each field. */
struct policy_config {
	enum policy_mode mode; /* DEFAULT */

	/* Grow: the headroom target is max(min_headroom, ratio x MemTotal). */
	uint64_t min_headroom_bytes;   /* 128 MiB */
	uint32_t headroom_ratio_centi; /* 10.00 % */
	/*
	 * Available memory we never plan to cross; the velocity check protects
	 * it.  Half of it is the hard floor that struct pages for hot-added
	 * memory and migration before offlining may not dig into.  64 MiB;
	 * must not exceed min_headroom_bytes.
	 */
	uint64_t reserve_bytes;
	/* How long a grow takes to show up in MemTotal until the daemon has measured it. */
	uint64_t plug_latency_usec; /* 1 s */
	uint64_t lead_margin_usec;  /* 500 ms: sampling and safety on top of the plug latency */
	/* Span of history used to estimate velocities and the refault rate: 3 s, at most 10 min. */
	uint64_t velocity_window_usec;
	/* Bounds of one grow request. */
	uint64_t grow_step_min_bytes; /* 64 MiB */
	uint64_t grow_step_max_bytes; /* 1 GiB */
	uint32_t escalate_max_shift;  /* 3: the trend part up to 8 x while stalls last */
	/* OOM kill: at least this much at once. */
	uint64_t emergency_step_bytes; /* 256 MiB, at most grow_step_max_bytes */
	uint32_t full_emergency_centi; /* 5.00 %: PSI full at or above this is a severe stall */
	/* Hot-added memory needs struct pages: 64 bytes per 4 KiB page, 1.60 %. */
	uint32_t memmap_overhead_centi;

	/* Zones (see the top of this file). */
	bool zones;                           /* yes: tell kernel from movable shortages */
	uint64_t kernel_min_headroom_bytes;   /* 64 MiB */
	uint32_t kernel_headroom_ratio_centi; /* 5.00 % of the kernel zones' managed memory */
	/* The kernel zones (boot memory included) never grow past this share of max. */
	uint32_t kernel_max_ratio_centi;      /* 50.00 % */

	/* File cache. */
	uint64_t cache_refault_rate_bytes;    /* 2 MiB/s of file refaults: the cache does not fit */
	uint64_t cache_protect_usec;          /* 10 min: refaulted cache stays demand this long */

	/* Shrink only when calm. */
	uint32_t calm_stall_centi;      /* 1.00 %: PSI some stall share below this is calm */
	uint64_t calm_hold_usec;        /* 5 s: no pressure for this long */
	uint64_t grow_hold_usec;        /* 0: no shrink this long after a grow (0: none) */
	uint64_t shrink_margin_bytes;   /* 64 MiB: surplus = available - target - margin */
	uint32_t shrink_fraction_centi; /* 100.00 %: release this share of the surplus */
	uint32_t shrink_max_blocks;     /* 1024: and at most this many blocks per step */
	uint64_t shrink_step_max_bytes; /* 512 MiB: and at most this much per step */
	uint64_t shrink_interval_usec;  /* 1 s: between two shrinks */
	/* A grow within this time after a shrink counts as ping-pong. */
	uint64_t pingpong_window_usec;  /* 120 s */
	uint32_t pingpong_max_level;    /* 4: hold x 2^level, fraction / 2^level */

	/* Trim page cache (cgroup v2 memory.reclaim). */
	bool reclaim_enabled;             /* yes */
	uint64_t reclaim_step_bytes;      /* 32 MiB per write to memory.reclaim */
	uint32_t reclaim_max_steps;       /* 4: at most this many steps per trim before a shrink */
	uint64_t reclaim_min_cache_bytes; /* 64 MiB: leave at least this much file cache */
	/*
	 * File refaults per evaluation that stop a trim: 512 pages (2 MiB of
	 * 4 KiB pages) coming straight back means the trim reached the
	 * working set.
	 */
	uint64_t reclaim_refault_limit;
	uint64_t trim_interval_usec;    /* 1 s between proactive trim steps (0: no proactive trim) */
	uint64_t trim_backoff_min_usec; /* 30 s: the first pause after a trim that refaulted */
	uint64_t trim_backoff_max_usec; /* 5 min */

	/* Backend failure: retry with exponential backoff between these. */
	uint64_t backoff_min_usec; /* 1 s */
	uint64_t backoff_max_usec; /* 60 s */

	/* PSI-only mode. */
	uint64_t psionly_step_bytes; /* 4 MiB */
	uint64_t psionly_quiet_usec; /* 10 s */
};

/* Why the kernel zones can (not) be grown, as the daemon found it. */
enum policy_kernel_growth {
	POLICY_KGROW_YES = 0,
	POLICY_KGROW_OFF,          /* [policy] zones = no */
	POLICY_KGROW_NO_MECHANISM, /* no way to place new memory in the kernel zones */
};

/* One evaluation's view of the world.  Counters are cumulative (as in /proc). */
struct policy_input {
	uint64_t now_usec;

	uint64_t mem_total_bytes;
	uint64_t mem_available_bytes;
	uint64_t mem_free_bytes;
	uint64_t file_cache_bytes;  /* Active(file) + Inactive(file) */
	uint64_t active_file_bytes; /* Active(file) */
	uint64_t swap_total_bytes;
	uint64_t swap_free_bytes;
	/* What only the kernel zones can hold. */
	uint64_t slab_reclaimable_bytes;
	uint64_t buffers_bytes;     /* block-device page cache (Buffers) */
	uint64_t unmovable_bytes;   /* SUnreclaim + PageTables + KernelStack + Buffers */

	/* /proc/zoneinfo folded into kernel zones and ZONE_MOVABLE. */
	bool zones_available;
	uint64_t kernel_free_bytes;
	uint64_t kernel_high_bytes;  /* sum of the high watermarks */
	uint64_t kernel_low_bytes;
	uint64_t kernel_managed_bytes;
	uint64_t kernel_file_bytes;
	uint64_t movable_free_bytes;
	uint64_t movable_high_bytes;
	uint64_t movable_managed_bytes;
	uint64_t movable_present_bytes; /* present - managed: unplugged parts of online blocks */
	enum policy_kernel_growth kernel_growth;
	/* Granularity of zone placement (the guest's memory block size; 0: block_bytes). */
	uint64_t memory_block_bytes;

	bool psi_available;
	uint32_t psi_some_avg10; /* centi */
	uint32_t psi_some_avg60;
	uint32_t psi_full_avg10;
	uint64_t psi_some_total_usec;
	uint64_t psi_full_total_usec;
	uint32_t trigger_events; /* PSI trigger events since the previous evaluation */

	uint64_t oom_kill;
	uint64_t allocstall;
	uint64_t allocstall_kernel; /* stalls of allocations that need the kernel zones */
	uint64_t refault_file;   /* pages */
	uint64_t refault_anon;
	uint64_t page_bytes;     /* the guest's page size (0: 4 KiB) */

	/* The backend's view. */
	uint64_t current_bytes;
	uint64_t min_bytes;
	uint64_t max_bytes;
	uint64_t block_bytes;
	/* How much of current could be released (ZONE_MOVABLE). UINT64_MAX: unknown. */
	uint64_t releasable_bytes;
	bool backend_busy; /* a request is outstanding */
	/* Measured time from a grow request to the memory showing up (0: not yet measured). */
	uint64_t plug_latency_usec;

	bool reclaim_busy; /* the page-cache trimmer is running */

	/* The host asked the guest to shrink to this total (0: no ask). */
	uint64_t host_reclaim_target_bytes;
};

enum policy_action {
	POLICY_HOLD = 0,
	POLICY_GROW,
	POLICY_SHRINK,
	POLICY_RECLAIM,      /* trim reclaim_bytes of cold page cache */
	POLICY_RECLAIM_STOP, /* abort the running trim at once */
};

/* Where a grow should land. */
enum policy_zone {
	POLICY_ZONE_MOVABLE = 0,
	POLICY_ZONE_KERNEL,
};

/* Which shortage a decision saw (struct policy_decision.shortage), as bits. */
enum policy_shortage {
	POLICY_SHORT_GLOBAL = 1u << 0,
	POLICY_SHORT_KERNEL = 1u << 1,
	POLICY_SHORT_CACHE = 1u << 2,
	/* The kernel zones are short, but of user pages spilling over: GLOBAL serves it. */
	POLICY_SHORT_KERNEL_SPILL = 1u << 3,
};

enum policy_reason {
	/* grow */
	POLICY_R_LOW_HEADROOM = 0,
	POLICY_R_FALLING_FAST,
	POLICY_R_KERNEL_SHORT,
	POLICY_R_CACHE_REFAULTS,
	POLICY_R_EMERGENCY,
	POLICY_R_PSI_EVENT,      /* PSI-only mode */
	/* shrink / reclaim */
	POLICY_R_SURPLUS,
	POLICY_R_HOST_RECLAIM,
	POLICY_R_TRIM_CACHE,
	POLICY_R_TRIM_COLD,
	POLICY_R_PSI_QUIET,      /* PSI-only mode */
	/* hold */
	POLICY_R_STEADY,
	POLICY_R_AT_MAX,
	POLICY_R_AT_MIN,
	POLICY_R_BACKEND_BUSY,
	POLICY_R_BACKOFF,
	POLICY_R_HOST_DENIED,
	POLICY_R_CANT_HELP,
	POLICY_R_CACHE_TURNOVER,
	POLICY_R_PRESSURE_RECENT,
	POLICY_R_GROW_HOLD,
	POLICY_R_PINGPONG_HOLD,
	POLICY_R_SHRINK_INTERVAL,
	POLICY_R_NO_SURPLUS,
	POLICY_R_NOT_RELEASABLE,
	POLICY_R_RECLAIMING,
	POLICY_R_HOST_RECLAIM_UNSAFE,
	POLICY_R_PRESSURE_RISING, /* with RECLAIM_STOP */
	POLICY_R__MAX,
};

/* Why growth cannot help (POLICY_R_CANT_HELP). */
enum policy_cant_help {
	POLICY_CANT_NONE = 0,
	POLICY_CANT_KERNEL_OFF,       /* zone-aware growth switched off */
	POLICY_CANT_NO_MECHANISM,     /* no way to grow the kernel zones */
	POLICY_CANT_KERNEL_BOUND,     /* the kernel zones reached kernel_max_ratio of max */
};

/* The signals seen in one evaluation (struct policy_decision.signals). */
enum policy_signal {
	POLICY_SIG_TRIGGER = 1u << 0,    /* PSI trigger events */
	POLICY_SIG_FULL_AVG10 = 1u << 1, /* PSI full avg10 at the emergency level */
	POLICY_SIG_FULL_STALL = 1u << 2, /* full stall time since the last evaluation */
	POLICY_SIG_OOM_KILL = 1u << 3,
	POLICY_SIG_ALLOCSTALL = 1u << 4,
	POLICY_SIG_FALLING = 1u << 5,    /* would cross the reserve within the lead time */
	POLICY_SIG_LOW = 1u << 6,        /* below the headroom target */
	POLICY_SIG_SOME_STALL = 1u << 7, /* PSI some stall share at or above calm_stall */
	POLICY_SIG_REFAULTS = 1u << 8,   /* file refaults above reclaim_refault_limit */
	POLICY_SIG_KERNEL_LOW = 1u << 9, /* kernel zones below their target or falling fast */
	POLICY_SIG_UNMOVABLE = 1u << 10, /* ...because of unmovable memory */
	POLICY_SIG_CACHE_MISS = 1u << 11,/* refault rate at cache_refault_rate with no free memory */
	/* The kernel zones are full and thrash (refaults, stalls) while ZONE_MOVABLE has room. */
	POLICY_SIG_KERNEL_CACHE = 1u << 12,
	/* Available memory drains faster than the headroom target per minute: not calm. */
	POLICY_SIG_DRAINING = 1u << 13,
	/* Available memory below the reserve and still falling: the prediction failed, OOM is near. */
	POLICY_SIG_EXHAUSTING = 1u << 14,
};

/* Any stall: what makes a shortage urgent, or, alone, cache turnover. */
#define POLICY_SIG_STALLS                                                                        \
	(POLICY_SIG_TRIGGER | POLICY_SIG_FULL_AVG10 | POLICY_SIG_FULL_STALL | POLICY_SIG_ALLOCSTALL | \
	 POLICY_SIG_SOME_STALL)

struct policy_decision {
	enum policy_action action;
	enum policy_reason reason;
	enum urgency urgency;
	enum policy_zone zone;    /* GROW: where the memory should land */
	enum policy_cant_help cant_help;
	uint64_t now_usec;
	uint64_t current_bytes;
	uint64_t target_bytes;    /* GROW/SHRINK: the new total; else current */
	uint64_t reclaim_bytes;   /* RECLAIM */
	/* The numbers behind it. */
	uint64_t mem_total_bytes;
	uint64_t available_bytes;
	uint64_t headroom_target_bytes;
	int64_t velocity_bytes_per_sec; /* of MemAvailable net of MemTotal; negative when falling */
	uint64_t deficit_bytes;   /* headroom target - available, or 0 */
	uint64_t surplus_bytes;   /* available - protected cache - headroom target - margin, or 0 */
	uint64_t demand_bytes;    /* MemTotal - MemAvailable + protected cache */
	uint64_t protected_cache_bytes;
	uint32_t shortage;        /* enum policy_shortage bits */
	uint64_t kernel_available_bytes;
	uint64_t kernel_headroom_bytes;
	uint64_t kernel_deficit_bytes;
	uint64_t kernel_bytes;      /* the kernel zones' managed memory */
	uint64_t kernel_max_bytes;  /* their bound */
	uint64_t movable_free_bytes;
	int64_t unmovable_velocity_bytes_per_sec;
	uint64_t refault_rate_bytes_per_sec;
	uint64_t need_kernel_bytes;
	uint64_t need_movable_bytes;
	uint32_t psi_some_avg10;
	uint32_t psi_full_avg10;
	uint32_t stall_centi;     /* PSI some stall share since the previous evaluation */
	uint64_t last_pressure_usec;    /* when pressure was last seen (0: never) */
	uint64_t hold_until_usec;       /* for holds with a deadline (0: none) */
	uint32_t escalation;      /* GROW: the shift applied to this step */
	uint32_t pingpong_level;
	uint32_t signals;         /* enum policy_signal bits */
	uint64_t min_bytes;       /* the backend's bounds, for AT_MIN/AT_MAX */
	uint64_t max_bytes;
	uint64_t releasable_bytes;
	uint64_t host_target_bytes; /* the host's ask, 0: none */
	uint32_t failures;        /* consecutive backend failures */
	uint64_t overshoot_bytes; /* of the last finished episode */
};

/* Entries in the history ring; older entries beyond it are dropped. */
#define POLICY_HISTORY 64

/* The series the history keeps, one slope each. */
enum policy_series {
	POLICY_SERIES_NET_AVAIL = 0, /* MemAvailable - MemTotal */
	POLICY_SERIES_NET_KERNEL,    /* kernel available - kernel managed */
	POLICY_SERIES_UNMOVABLE,     /* unmovable + reclaimable slab */
	POLICY_SERIES_REFAULT,       /* file refaults (a counter) */
	POLICY_SERIES__MAX,
};

/* The policy's memory between evaluations; opaque to callers. */
struct policy_state {
	bool primed;            /* counters below hold a previous sample */
	uint64_t prev_now_usec;
	uint64_t prev_oom_kill;
	uint64_t prev_allocstall;
	uint64_t prev_allocstall_kernel;
	uint64_t prev_refault_file;
	uint64_t prev_psi_some_total_usec;
	uint64_t prev_psi_full_total_usec;
	uint64_t start_usec;

	uint64_t hist_usec[POLICY_HISTORY];
	int64_t hist[POLICY_SERIES__MAX][POLICY_HISTORY]; /* KiB, or refault pages */
	uint32_t hist_head;
	uint32_t hist_len;

	/* Times are only meaningful with their seen_* flag: 0 is a valid time. */
	bool seen_pressure;
	bool seen_grow;
	bool seen_shrink;
	bool seen_trigger;
	bool seen_refaults;
	uint64_t last_pressure_usec;
	uint64_t last_grow_usec;
	uint64_t last_shrink_usec;
	uint64_t last_trigger_usec;
	uint64_t last_refaults_usec; /* the cache did not fit (a cache grow or refaults after a trim) */
	uint32_t escalation;
	bool grow_landed;       /* the last grow completed: stalls now count for escalation */
	uint32_t pingpong_level;
	uint64_t pingpong_decay_usec;
	bool pingpong_armed;    /* a shrink happened that a grow has not answered yet */
	bool trimmed;           /* a trim was asked for since the last shrink */
	enum policy_action pending; /* GROW/SHRINK awaiting policy_backend_done */

	/* Trimming: refaults soon after our own trim do not grow the guest... */
	bool seen_trim;
	uint64_t last_trim_usec;
	/* ...up to twice what it asked for, counted from the refaults before it. */
	uint64_t trim_bytes;
	uint64_t trim_refault_base; /* pages */
	/* Proactive trim pacing. */
	uint64_t trim_at_usec;      /* next proactive step not before */
	uint64_t trim_interval_usec;/* current interval (doubles on refaults) */
	bool trim_watch;            /* a proactive step went out: look for refaults */

	struct backoff backoff;     /* after backend failures */
	/* The host denied a resize in this direction with a retry hint. */
	bool host_hold;
	enum policy_action host_hold_dir;
	enum urgency host_hold_urgency;  /* a grow more urgent than the one denied asks again */
	uint64_t host_retry_at_usec;
	enum urgency pending_urgency;    /* of the grow awaiting policy_backend_done */

	/* The current episode (from a grow after calm until calm again). */
	bool episode;
	uint64_t episode_peak_total;
	uint64_t episode_peak_demand;
	uint64_t episode_headroom;
	uint64_t overshoot_bytes;   /* of the last finished episode */
};

void policy_config_defaults(struct policy_config *cfg);
/* 0, or -EINVAL with *ret_msg naming the inconsistency. */
int policy_config_validate(const struct policy_config *cfg, const char **ret_msg);

void policy_init(struct policy_state *st);
void policy_evaluate(struct policy_state *st, const struct policy_config *cfg,
		     const struct policy_input *in, struct policy_decision *ret);

/*
 * Feedback: a request finished (status 0 or -errno), the guest now has
 * current_bytes.  retry_after_usec > 0 with a failure is the host's hint
 * (a deny for a hold): wait exactly that long, no backoff.  The next
 * input's current_bytes is what the policy plans from; this call only
 * drives backoff and the grow/shrink clocks.
 */
void policy_backend_done(struct policy_state *st, const struct policy_config *cfg,
			 uint64_t now_usec, int status, uint64_t retry_after_usec,
			 uint64_t current_bytes);

const char *policy_action_name(enum policy_action a);
const char *policy_reason_name(enum policy_reason r);
const char *policy_zone_name(enum policy_zone z);
/*
 * A human sentence for the decision, sizes in MiB and times relative
 * ("pressure 2 min ago", "only 256 MiB lies in ZONE_MOVABLE").  Returns the
 * length or -ENOSPC (buf then holds a truncated, terminated sentence).
 */
int policy_decision_explain(const struct policy_decision *d, char *buf, size_t len);
/*
 * One JSON object, no newline, keys: action, reason, urgency, zone,
 * target_bytes, current_bytes, reclaim_bytes, mem_total_bytes,
 * available_bytes, headroom_target_bytes, velocity_bytes_per_sec,
 * deficit_bytes, surplus_bytes, demand_bytes, protected_cache_bytes,
 * kernel_available_bytes, kernel_headroom_bytes, kernel_bytes,
 * kernel_max_bytes, need_kernel_bytes, need_movable_bytes,
 * refault_rate_bytes_per_sec, psi_some_avg10, psi_full_avg10 (percent,
 * numbers with two decimals), escalation, pingpong_level, overshoot_bytes,
 * explain.  Returns the length or -ENOSPC.
 */
int policy_decision_json(const struct policy_decision *d, char *buf, size_t len);

#endif
