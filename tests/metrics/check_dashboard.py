#!/usr/bin/env python3
"""The Grafana dashboard against the daemons' real metrics.

Loads the dashboard JSON as Grafana would read it (panels, rows with
nested panels, template variables) and checks that every PromQL query -
panel targets and the variables' label_values() - names only metrics that
one of the `metrics` outputs given really contains, with label matchers on
labels those metrics have (or that Prometheus adds: instance, job).  And
that the dashboard shows what it is for: per-VM size, target, QEMU RSS,
pressure and decisions, and the guest's size, pressure and decisions.

    check_dashboard.py DASHBOARD.json METRICS...
"""
import json
import re
import sys

# What the dashboard must show, as the metric a query must use.
REQUIRED = {
    "per-VM size": "vmrd_host_vm_current_bytes",
    "per-VM target": "vmrd_host_vm_target_bytes",
    "per-VM QEMU RSS": "vmrd_host_vm_rss_bytes",
    "per-VM pressure": "vmrd_host_vm_psi_some_avg10_ratio",
    "per-VM decisions": "vmrd_host_vm_grants_total",
    "guest size": "vmrd_current_bytes",
    "guest pressure": "vmrd_psi_some_avg10_ratio",
    "guest decisions": "vmrd_grows_total",
}
SCRAPE_LABELS = {"instance", "job"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? \S+$")
# A number or duration (skipped), or a name.
TOKEN = re.compile(r"\d[\w.]*|[a-zA-Z_:][a-zA-Z0-9_:]*")


def exported(paths):
    """metric name -> set of label names, from the exposition files."""
    names = {}
    for path in paths:
        for line in open(path):
            m = SAMPLE.match(line.strip())
            if not m:
                continue
            labels = names.setdefault(m.group(1), set())
            for pair in filter(None, (m.group(2) or "").split(",")):
                labels.add(pair.split("=", 1)[0])
    return names


def selectors(expr):
    """(metric, [label names in its matcher]) for every series selector in expr."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # strings
    expr = re.sub(r"\[[^\]]*\]", "", expr)                  # range and subquery selectors
    # Grouping and matching clauses name labels, not metrics.
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    out = []
    pos = 0
    while True:
        m = TOKEN.search(expr, pos)
        if not m:
            return out
        name, pos = m.group(0), m.end()
        rest = expr[pos:].lstrip()
        if name[0].isdigit() or name in KEYWORDS or rest.startswith("("):
            continue                                        # a number, keyword or function
        labels = []
        if rest.startswith("{"):
            body = rest[1:rest.index("}")]
            labels = [p.split("=")[0].rstrip("!~").strip() for p in body.split(",") if p.strip()]
            pos = expr.index("}", pos) + 1
        out.append((name, labels))


def queries(dash):
    """(where, PromQL) for every query in the dashboard."""
    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            yield "panel %r" % p.get("title"), t.get("expr", "")
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.match(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*$", q)
        yield "variable %r" % v.get("name"), m.group(1) if m else q


def main():
    dash = json.load(open(sys.argv[1]))
    have = exported(sys.argv[2:])
    errors, used, n = [], set(), 0
    for where, expr in queries(dash):
        n += 1
        sel = selectors(expr)
        if not expr.strip() or not sel:
            errors.append("%s: no metric in %r" % (where, expr))
        for name, labels in sel:
            used.add(name)
            if name not in have:
                errors.append("%s: %s is not exported by the daemons" % (where, name))
                continue
            for label in labels:
                if label not in have[name] and label not in SCRAPE_LABELS:
                    errors.append("%s: %s has no label %s" % (where, name, label))
    for what, metric in REQUIRED.items():
        if metric not in used:
            errors.append("nothing shows %s (%s)" % (what, metric))
    for e in errors:
        print("FAIL: " + e)
    print("%d queries, %d metrics used of %d exported, %d problems"
          % (n, len(used), len(have), len(errors)))
    sys.exit(1 if errors else 0)


main()
