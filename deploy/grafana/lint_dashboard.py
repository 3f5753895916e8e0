#!/usr/bin/env python3
"""Checks deploy/grafana/waihu-dashboard.json (docs/metrics.md "Dashboard").

    python3 deploy/grafana/lint_dashboard.py [--metrics FILE]

- The file is JSON with schemaVersion 36..39, a datasource variable DS_PROMETHEUS, and every
  panel (rows' panels too) has a unique id, a type, a title, a gridPos inside 24 columns and
  the ${DS_PROMETHEUS} data source; every target has an expr and a refId unique in its panel.
- Every metric name a PromQL expression or variable query uses is a waihu_ family that
  docs/metrics.md lists, or, with --metrics FILE (a node's GET /metrics text), that the node
  emits (histogram families with their _bucket, _sum and _count series).
Prints one line per problem; exit 1 if there was any. deploy/lint.py runs it (part
"grafana"); tests/integration/test_metrics.py runs it against live nodes.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "waihu-dashboard.json")
DOC = os.path.join(ROOT, "docs", "metrics.md")
DS_UID = "${DS_PROMETHEUS}"

# PromQL words that are not metric names when not followed by "(": keywords, and the
# aggregation operators (which may come before "by (...)").
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan", "sum", "min", "max", "avg", "group",
            "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"}


def expr_metrics(expr):
    """Metric names a PromQL expression selects (functions, keywords, labels, strings,
    ranges and numbers removed)."""
    e = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    e = re.sub(r"'(?:\\.|[^'\\])*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)            # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)           # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)", e):
        word = m.group(1)
        if e[m.end():].lstrip().startswith("(") or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def variable_metrics(query):
    """Metric names of a Grafana Prometheus variable query: label_values(selector, label),
    query_result(expr); label_values(label) and metrics(regex) name none."""
    m = re.match(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$", query, re.S)
    if m:
        return expr_metrics(m.group(1))
    m = re.match(r"^\s*query_result\((.*)\)\s*$", query, re.S)
    if m:
        return expr_metrics(m.group(1))
    return set()


def documented_families(path=DOC):
    """{name: type} from the tables of docs/metrics.md (rows "| `name` | type | ...")."""
    out = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"\|\s*`(waihu_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram)\s*\|", line)
            if m:
                out[m.group(1)] = m.group(2)
    return out


def exposition_families(text):
    """{name: type} from the # TYPE lines of a Prometheus text exposition."""
    return {m.group(1): m.group(2)
            for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M)}


def series_names(families):
    """Names a query may use: each family, and a histogram's _bucket/_sum/_count."""
    out = set()
    for name, kind in families.items():
        out.add(name)
        if kind == "histogram":
            out |= {name + "_bucket", name + "_sum", name + "_count"}
    return out


def panels_of(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def check(families, path=DASHBOARD):
    """Problems of the dashboard at path, metric names checked against families."""
    bad = []
    try:
        with open(path) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        return ["cannot read it as JSON: %s" % e]
    known = series_names(families)

    def names_ok(where, expr, variable=False):
        for name in sorted(variable_metrics(expr) if variable else expr_metrics(expr)):
            if name not in known:
                bad.append("%s: metric %s is not emitted by waihud (expr %s)" % (where, name, expr))

    if not 36 <= dash.get("schemaVersion", 0) <= 39:
        bad.append("schemaVersion %r: want 36..39 (Grafana 9-10)" % dash.get("schemaVersion"))
    for key in ("title", "uid"):
        if not dash.get(key):
            bad.append("no %s" % key)
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("DS_PROMETHEUS")
    if ds is None or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        bad.append("templating: want a datasource variable DS_PROMETHEUS of type prometheus")
    for name, v in variables.items():
        if v.get("type") == "query":
            q = v.get("query")
            names_ok("variable %s" % name, q.get("query", "") if isinstance(q, dict) else q or "",
                     variable=True)
    ids = set()
    n_queries = 0
    for p in panels_of(dash):
        where = "panel %r" % p.get("title")
        if not p.get("title") or not p.get("type"):
            bad.append("%s: no title or type" % where)
        if p.get("id") in ids or not isinstance(p.get("id"), int):
            bad.append("%s: id %r missing or used twice" % (where, p.get("id")))
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["x"] + g["w"] > 24:
            bad.append("%s: gridPos %r" % (where, g))
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != DS_UID:
            bad.append("%s: datasource is not %s" % (where, DS_UID))
        refs = set()
        if not p.get("targets"):
            bad.append("%s: no targets" % where)
        for t in p.get("targets", []):
            if not t.get("expr") or not t.get("refId") or t["refId"] in refs:
                bad.append("%s: target without expr or with a repeated refId" % where)
                continue
            refs.add(t["refId"])
            if t.get("datasource", {}).get("uid", DS_UID) != DS_UID:
                bad.append("%s: target %s datasource is not %s" % (where, t["refId"], DS_UID))
            names_ok(where, t["expr"])
            n_queries += 1
    if n_queries == 0:
        bad.append("no queries")
    return bad


def lint_grafana(lint):
    """deploy/lint.py's part "grafana": names against docs/metrics.md."""
    for problem in check(documented_families()):
        lint.bad(DASHBOARD, problem)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--metrics", help="a node's /metrics text (default: docs/metrics.md's list)")
    ap.add_argument("--dashboard", default=DASHBOARD)
    args = ap.parse_args()
    if args.metrics:
        with open(args.metrics) as f:
            families = exposition_families(f.read())
    else:
        families = documented_families()
    problems = check(families, args.dashboard)
    for p in problems:
        print("%s: %s" % (os.path.relpath(args.dashboard, ROOT), p))
    print("dashboard lint: %d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
