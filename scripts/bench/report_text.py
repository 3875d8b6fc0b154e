"""The prose of bench/RESULTS.md: what each scenario, system and metric is.

Kept apart from report.py so that the numbers code stays short; every
sentence here describes how a number is measured, none states a result.
"""

SCENARIO_TEXT = {
    "ramp": "Unthrottled ramp: 2 processes allocate {size} each as fast as they can "
            "(about {total} in all) from a {base} base, maximum {max}, no swap, {cpus} vCPUs; "
            "hold {hold} s.",
    "burst": "Burst then idle: 2 processes allocate {size} each, hold {hold} s, free, then "
             "{idle} s idle. The return times measure how fast QEMU's RSS, and the guest's "
             "size, give back the burst's excess after the free.",
    "reread": "Page cache: write a {size} file, drop caches, read it cold, stay idle {idle} s, "
              "read it again. A second read much faster than the first means the cache "
              "stayed warm.",
    "creep": "Cache creep: write and read {count} new files of {size} at {rate} MiB/s "
             "(the anonymous working set is small).",
    "sawtooth": "Sawtooth: {cycles} cycles of 2 x {size} allocated, held {hold} s, freed, "
                "{idle} s pause.",
    "unmovable": "Unmovable demand (`kmemhog`): {files} empty files in {dirs} directories on "
                 "the ext4 data disk ({disk}), then caches dropped; each of {passes} passes "
                 "({idle} s apart) stats every file (ext4 inodes and dentries: slab) and reads "
                 "the disk's last {raw} through the raw block device, kept open (`Buffers`). "
                 "Neither can live in ZONE_MOVABLE, where hot-plugged memory goes, so only the "
                 "kernel zones (DMA32, Normal) can serve them: a {base} guest has 375–440 MiB of "
                 "DMA32 (the less with virtio-mem, see *Systems*), less than the demand; a {max} static guest holds it all. *pass 1* is "
                 "cold everywhere; the later passes are fast only where the kernel zones kept "
                 "the tree and the block cache. Measured from the end of the set-up (the "
                 "workload's `passes` marker) to the end.",
    "hotset": "Hot set (`cachehog hotset`): {size} of hot files ({files} files) written with "
              "{passes} cold files of {cold} (each dropped from the page cache once synced, "
              "so that the set-up does not grow the guest), then caches dropped; {passes} times, one cold "
              "file is streamed (read once, never again) and then the whole hot set is read. "
              "The hot set fits a {base} guest only if it grows; a {max} static guest keeps "
              "it cached. *hot re-read* is the mean time of passes 2 to {passes}. Measured "
              "from the end of the set-up (the workload's `passes` marker) to the end.",
    "overcommit": "Overcommit: three VMs ({base} base, {max} maximum each, {zram} zram swap, "
                  "weights {weights}) under a host budget of {budget}. Each allocates {size} "
                  "alone in turn ({slot} s apart), then all three at once. vmrd-host enforces "
                  "the budget only in (d) and (e); static VMs have no broker. Sums add the three "
                  "runners' once-per-second samples (their clocks start within a fraction of a "
                  "second); *guest size* is base + virtio-mem plugged size (static: the fixed "
                  "size), the quantity vmrd-host budgets, while RSS also holds QEMU's own "
                  "memory (see *sum RSS at start*). *together s* includes the {hold} s hold. "
                  "vmrd-host counts each VM at its size plus what its QEMU holds beyond it "
                  "(budget mode strict).",
    "hostpressure": "Host pressure in a cgroup: three VMs ({base} base, {max} maximum, {zram} "
                    "zram swap, weights {weights}) run inside one memory cgroup made for the run, "
                    "and vmrd-host's budget is that cgroup (`budget = cgroup:/NAME`). Each guest "
                    "allocates {size} at {rate} MiB/s and holds it. Once all three hold it, the "
                    "cgroup is limited to what it holds (anonymous memory) plus half of what a "
                    "workload needs, and that workload runs {press} s inside the cgroup only: it "
                    "rewrites a {write} MiB file in a loop, so its dirty page cache does not fit "
                    "and reclaim stalls (it has oom_score_adj 1000: an OOM kill in the cgroup "
                    "takes it, never a QEMU). *crossed* is when the cgroup's memory PSI some "
                    "avg10 first reached vmrd-host's host pressure threshold (10 %), counted "
                    "from the start of the workload; *relieved after* is how long it then took "
                    "to fall below it. Static VMs have no broker: nothing gives memory back.",
}

SYSTEMS_TEXT = [
    "- **(a) static, max size**: a plain VM with all memory from boot (`-m MAX`), no "
    "balloon, no daemon.",
    "- **(b) static, base size**: the same at the base size.",
    "- **(c) static max + balloon FPR, deflate-on-oom**: the strongest thing a user can "
    "switch on in QEMU today: `virtio-balloon-pci,free-page-reporting=on,"
    "deflate-on-oom=on`. Free page reporting returns freed anonymous memory, but not "
    "page cache, and the host has no say.",
    "- **(d) vmrd psi-only + vmrd-host**: the original naive design (`[policy] mode = "
    "psi-only`: one 4 MiB step per PSI event, release after 10 s without events); "
    "virtio-mem, no balloon.",
    "- **(e) vmrd default + vmrd-host, FPR on**: vmrd with its default policy and the "
    "free-page-reporting balloon, as we recommend deploying it.", "",
    "At the same 512 MiB base, the virtio-mem guests (d, e) start with about 65 MiB less "
    "MemTotal than (b): their hotpluggable range lies above 4 GiB, so the guest kernel "
    "maps a 64 MiB swiotlb bounce buffer (seen as \"software IO TLB: mapped ... (64MB)\" "
    "in a boot log at loglevel 7). A guest of 512 MiB has no ZONE_NORMAL at all: all of "
    "its boot memory lies below 4 GiB, in DMA and DMA32; memory virtio-mem plugs above "
    "4 GiB goes to the zone the kernel command line chooses (see *Guest kernel command "
    "line*).",
]

METRICS_TEXT = [
    "- *OOM kills*: the guest's `oom_kill` counter (or the console's kill lines, "
    "whichever is larger).",
    "- *PSI some/full s*: growth of `total=` in the guest's /proc/pressure/memory "
    "over the measured window.",
    "- *workload s*: the workload's own elapsed time (memhog/cachehog/kmemhog), set-up "
    "included.",
    "- *hot re-read* / *later passes* (hotset, unmovable): the mean time of passes 2 to N, "
    "and the mean MiB a pass read from the disk (`pgpgin`). Times under TCG follow the "
    "host's load (see *Runs*); the disk reads do not: a pass that found its data "
    "cached reads next to nothing.",
    "- The *measured window* runs from the scenario's start marker to its end marker; "
    "for unmovable and hotset it starts at the workload's `passes` marker, after its "
    "set-up (writing files, creating the tree) and a drop of the caches.",
    "- *avg QEMU RSS* and *avg guest demand* (MemTotal − MemAvailable) are averaged over "
    "the measured window, sampled once per second; *RSS / demand* is their ratio (1.0 "
    "would be a host that holds exactly what the guest uses; QEMU under TCG itself adds "
    "roughly 100–200 MiB of RSS).",
    "- *50 % / 90 % returned*: seconds after the burst was freed until QEMU's RSS fell by "
    "half / nine tenths of the burst's excess over the RSS before the burst; \"never\" "
    "means not within the idle period.",
    "- *90 % of excess size back*: seconds after the free until the guest's size as the "
    "host sees it (boot memory less the balloon, plus virtio-mem's plugged size; not RSS) "
    "came back to its size before the burst plus a tenth of the burst's excess; 0 when "
    "the size never grew, \"never\" when not within the idle period.",
    "- *size* in the size tables is the guest's MemTotal (the size the guest sees and "
    "vmrd's headroom target is about); *size gap* is how much larger the host-side size "
    "is (kernel image, reserved memory, swiotlb), the median over the run: a constant "
    "per system. "
    "*demand* is MemTotal − MemAvailable, *headroom* is vmrd's default target "
    "max(128 MiB, 10 % of the peak MemTotal), *overshoot* = peak size − peak demand − "
    "headroom, and *s above* counts the seconds in which MemTotal exceeded (demand + "
    "headroom) × 1.1, with demand and headroom of the same sample.",
    "- *kernel zones* are DMA32 + Normal from /proc/zoneinfo (DMA is left out: its lowmem "
    "reserve keeps it from ordinary kernel allocations); *Movable* is ZONE_MOVABLE. "
    "*managed* is the most pages the zone managed, *free min/avg* the free pages over the "
    "window; *s kernel short* counts the seconds in which the kernel zones' free pages "
    "were less than 16 MiB above their low watermark (kswapd wakes at low and reclaims "
    "a little past high, so free pages that stay there mean constant reclaim). *kernel / movable direct reclaim* are the growth of `allocstall_normal` "
    "(allocations that must come from the kernel zones) and `allocstall_movable`; "
    "*refaults* the growth of `workingset_refault_file`.",
    "- *s at max in vain* (virtio-mem guests only): seconds in which the guest was "
    "within 8 MiB of its maximum while ZONE_MOVABLE still had more than 128 MiB free: "
    "the growth sits unused, as for demand that only the kernel zones can serve.",
    "- *grow p50 / p99*: vmrd's own measure from sending a grow request to seeing "
    "MemTotal reach it (the host backend confirms grants by MemTotal).",
    "- *resizes*: completed vmrd resize requests (grows/shrinks); \"N grows decided\" "
    "when vmrd decided more grows than completed (a grow still outstanding, or one "
    "decided while another was in flight).",
    "- *vmrd CPU / max RSS*: `vmrctl metrics` (`vmrd_cpu_seconds_total`, "
    "`vmrd_max_resident_bytes`) at the end of the scenario.",
]

GOALS_TEXT = (
    "The goals of issue 8 (vmrd policy v2), each for (e) against (c) from the tables "
    "below. *result* is computed by scripts/bench/goals.py from the numbers of this "
    "report; a goal whose runs are missing says \"not run\". Timings come from TCG "
    "guests on a shared 2-core host: the *Runs* table gives each run's host load.")

GOALS9_TEXT = ("The goals of issue 9 (the budget is the host's real memory), for vmrd (e), "
               "checked from the numbers above by goals.py: in the overcommit scenario the sum "
               "of the three QEMU RSS never over the budget, no OOM kill, and what each VM "
               "lacks (PSI some seconds, largest zram swap) ordered by weight; in the "
               "hostpressure scenario the cgroup's pressure relieved within 30 s of crossing "
               "the threshold, and no guest below its min.")
