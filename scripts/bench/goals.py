"""The benchmark goals of issue 8 (vmrd policy v2), checked from the numbers.

Each goal compares vmrd, system (e), with the free-page-reporting balloon,
system (c), in one scenario of the same benchmark run.  evaluate() gives one
row per goal with both values, the bound and "pass" or "miss", computed
here and never written by hand; a goal whose runs are missing is "not run".
"""

E, C = "vmrd", "balloon-fpr"


def _get(results, scenario, system, key):
    m = results.get(scenario, {}).get(system)
    return None if m is None else m.get(key)


def _num(v):
    return v if isinstance(v, (int, float)) else None


def relative(results, scenario, key, factor, text, unit):
    """(e) <= factor x (c)."""
    e, c = _get(results, scenario, E, key), _get(results, scenario, C, key)
    row = dict(goal=text, scenario=scenario, unit=unit, c=c, e=e)
    if _num(e) is None or _num(c) is None:
        return dict(row, bound=None, result="not run")
    bound = factor * c
    return dict(row, bound=bound, result="pass" if e <= bound else "miss")


def absolute(results, scenario, key, bound_of, text, unit):
    """(e)'s value against a bound taken from (e)'s own run (bound_of)."""
    m = results.get(scenario, {}).get(E)
    e = None if m is None else m.get(key)
    row = dict(goal=text, scenario=scenario, unit=unit, c=_get(results, scenario, C, key), e=e)
    if m is None or e is None:
        return dict(row, bound=None, result="not run")
    bound = bound_of(m)
    if _num(e) is None or bound is None:
        # "never" (a return that did not happen in the run) misses.
        return dict(row, bound=bound, result="miss")
    return dict(row, bound=bound, result="pass" if e <= bound else "miss")


def oom_goal(results):
    """0 OOM kills in every scenario that (e) ran."""
    def total(system):
        # A run that never reached its start marker has no count.
        got = [r[system].get("oom_kills") for r in results.values() if system in r]
        got = [g for g in got if g is not None]
        return (sum(got), len(got)) if got else (None, 0)
    e, n = total(E)
    c, _ = total(C)
    row = dict(goal="0 OOM kills in every scenario (%d scenarios run)" % n, scenario="all",
               unit="kills", c=c, e=e, bound=0)
    if e is None:
        return dict(row, result="not run")
    return dict(row, result="pass" if e == 0 else "miss")


def evaluate(results):
    return [
        oom_goal(results),
        relative(results, "creep", "avg_rss_mib", 0.5, "creep: avg QEMU RSS <= 0.5 x (c)", "MiB"),
        relative(results, "hotset", "hot_reread_ms", 1.1,
                 "hotset: hot re-read time <= 1.1 x (c)", "ms"),
        relative(results, "hotset", "avg_rss_mib", 0.7, "hotset: avg QEMU RSS <= 0.7 x (c)",
                 "MiB"),
        relative(results, "unmovable", "psi_some_sec", 1.1,
                 "unmovable: PSI some <= 1.1 x (c)", "s"),
        absolute(results, "unmovable", "at_max_vain_sec", lambda m: 0,
                 "unmovable: never at its maximum in vain (s at max with Movable free "
                 "> 128 MiB)", "s"),
        relative(results, "burst", "avg_rss_mib", 1.05, "burst: avg QEMU RSS <= 1.05 x (c)",
                 "MiB"),
        absolute(results, "burst", "peak_size_mib", lambda m: m.get("size_bound_mib"),
                 "burst: peak size <= (peak demand + headroom) x 1.1", "MiB"),
        absolute(results, "burst", "size_back90_sec", lambda m: 30,
                 "burst: 90 % of the excess size back <= 30 s after the free", "s"),
    ]
