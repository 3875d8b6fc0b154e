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


# --- issue 9: the budget is the host's real memory ---------------------------

def _row9(text, scenario, unit, e, bound, passed):
    row = dict(goal=text, scenario=scenario, unit=unit, c=None, e=e, bound=bound)
    if e is None:
        return dict(row, result="not run")
    return dict(row, result="pass" if passed else "miss")


def _ordered_by_weight(vms, key):
    """A heavier VM lacks no more than a lighter one (equal weights: any order)."""
    vals = [(v["weight"], v.get(key)) for v in vms]
    if any(x is None for _, x in vals):
        return None
    vals.sort()
    return all(vals[i][1] >= vals[j][1] for i in range(len(vals))
               for j in range(i + 1, len(vals)) if vals[i][0] < vals[j][0])


def evaluate9(results):
    oc = results.get("overcommit", {}).get(E)
    hp = results.get("hostpressure", {}).get(E)
    rows = []
    over = None if oc is None else oc.get("sec_over_budget")
    rows.append(_row9("overcommit: sum of QEMU RSS over the budget", "overcommit", "s", over, 0,
                      over == 0))
    ooms = None if oc is None else oc.get("oom_kills")
    rows.append(_row9("overcommit: guest OOM kills", "overcommit", "kills", ooms, 0, ooms == 0))
    for key, text in (("psi_some_sec", "PSI some s"), ("max_swap_mib", "max zram swap MiB")):
        order = None if oc is None else _ordered_by_weight(oc["vms"], key)
        shown = None if oc is None else ", ".join(
            "w%d %s" % (v["weight"], "%.0f" % v[key] if v.get(key) is not None else "–")
            for v in oc["vms"])
        rows.append(_row9("overcommit: %s ordered by weight (lighter lacks more)" % text,
                          "overcommit", "", shown, None, bool(order)))
    rel = None if hp is None else hp.get("relief_sec")
    rows.append(_row9("hostpressure: pressure relieved after crossing 10 %", "hostpressure", "s",
                      rel, 30, isinstance(rel, (int, float)) and rel <= 30))
    below = None if hp is None else hp.get("below_min")
    rows.append(_row9("hostpressure: guests below their min", "hostpressure", "VMs", below, 0,
                      below == 0))
    return rows
