"""What the benchmark reports say about the machine they ran on: one reader
for report.py, scale.py and fuzz.py."""
import os
import platform


def cpu_model(default="unknown CPU"):
    """The first 'model name' of /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default


def mem_total_mib():
    """MemTotal of /proc/meminfo in MiB."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def summary(note):
    """'CPU, N cores, M GiB, Linux X (NOTE)', one line for a report."""
    return "%s, %d cores, %d GiB, Linux %s (%s)" % (
        cpu_model(), os.cpu_count() or 0, mem_total_mib() // 1024, platform.release(), note)
