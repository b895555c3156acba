"""Verdict stability (RUN-08): run the default scenario set N times and tabulate every verdict.

Each run is a fresh ``testbed run`` process (the command a CI job runs), so every run starts its own
stack. From each run's ``results.json`` this keeps the status of every scenario, the send-lag
figures of the isolation and latency checks (LAT-03), the isolation deltas with their bootstrap CIs
(ISO-01, ISO-03) and the latency overheads with theirs (LAT-04, LAT-07). The target is N of N runs
passing every scenario, with no inconclusive.

    python bench/verdicts.py [--runs 10] [SCENARIO ...]

Writes ``bench/results/verdicts.json`` and the tables in ``docs/verdicts.md``. Timing figures
depend on the machine: run it on the machine whose verdicts you want to know, with nothing else
busy on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "verdicts.json"
MARKDOWN = ROOT / "docs" / "verdicts.md"
LAG_CHECKS = ("isolation", "latency")


def one_run(index: int, scenarios: list[str], out_root: Path) -> dict[str, Any]:
    """One ``testbed run`` in its own process; its results.json boiled down to what RUN-08 judges."""
    out = out_root / f"run-{index}"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "testbed", "run", "--out", str(out), *scenarios],
                          capture_output=True, text=True, check=False)
    row: dict[str, Any] = {"run": index, "exit_code": proc.returncode,
                           "wall_s": round(time.monotonic() - started, 1), "scenarios": {}}
    docs = sorted(out.glob("*/results.json"))
    if not docs:
        row["error"] = (proc.stderr or proc.stdout)[-2000:]
        return row
    doc = json.loads(docs[-1].read_text(encoding="utf-8"))
    for s in doc.get("scenarios", []):
        row["scenarios"][s["name"]] = scenario_row(s)
    return row


def scenario_row(s: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"status": s.get("status"), "reasons": list(s.get("reasons") or [])[:3]}
    for c in s.get("checks", []):
        if c.get("check") not in LAG_CHECKS:
            continue
        d = c.get("details") or {}
        row[c["check"]] = {"outcome": c.get("outcome"), "reason": c.get("reason", ""),
                           "send_lag": d.get("send_lag", {}), "modes": d.get("modes", {}),
                           "overhead_ms": d.get("overhead_ms", {}), "overhead_ci_ms": d.get("overhead_ci_ms", {}),
                           "comparator_overhead_ms": d.get("comparator_overhead_ms", {}),
                           "budgets_ms": d.get("budgets_ms", [])}
    return row


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = sorted({n for r in runs for n in r["scenarios"]})
    clean = sum(1 for r in runs if r["scenarios"] and all(s["status"] == "passed" for s in r["scenarios"].values()))
    inconclusive = sum(1 for r in runs for s in r["scenarios"].values() if s["status"] == "inconclusive")
    return {"runs": len(runs), "clean_runs": clean, "inconclusive_verdicts": inconclusive, "scenarios": names,
            "passed_per_scenario": {n: sum(1 for r in runs if r["scenarios"].get(n, {}).get("status") == "passed")
                                    for n in names},
            "wall_s_max": max((r["wall_s"] for r in runs), default=0.0)}


def _f(v: Any, digits: int = 2) -> str:
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) else "–"


def verdict_table(runs: list[dict[str, Any]], names: list[str]) -> list[str]:
    head = "| scenario | " + " | ".join(f"run {r['run']}" for r in runs) + " | passed |"
    lines = [head, "|---" * (len(runs) + 2) + "|"]
    for n in names:
        cells = [r["scenarios"].get(n, {}).get("status", "absent") for r in runs]
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {cells.count('passed')}/{len(runs)} |")
    lines.append("| *wall time (s)* | " + " | ".join(_f(r["wall_s"], 1) for r in runs) + " | |")
    return lines


def lag_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["| run | check | group | sends | p50 (µs) | p99 (µs) | max (µs) | over 10 ms |", "|---" * 8 + "|"]
    for r in runs:
        for name, s in sorted(r["scenarios"].items()):
            for check in LAG_CHECKS:
                for group, g in (s.get(check) or {}).get("send_lag", {}).items():
                    lines.append(f"| {r['run']} | {name} | {group} | {g.get('count')} | {_f(g.get('p50_us'), 1)} | "
                                 f"{_f(g.get('p99_us'), 1)} | {_f(g.get('max_us'), 1)} | {g.get('over_10ms')} |")
    return lines


def isolation_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["| run | mode | p50 Δ ms [95% CI] | p90 Δ ms [95% CI] | p99 Δ ms [95% CI] | budget ms (p50/p90/p99) |",
             "|---" * 6 + "|"]
    for r in runs:
        iso = (r["scenarios"].get("isolation") or {}).get("isolation") or {}
        for key, row in sorted(iso.get("modes", {}).items()):
            cells = [f"{_f(row[p]['delta_ms'])} [{_f(row[p]['ci_low_ms'])}, {_f(row[p]['ci_high_ms'])}]"
                     for p in ("p50", "p90", "p99") if p in row]
            budgets = "/".join(_f(row[p]["budget_ms"]) for p in ("p50", "p90", "p99") if p in row)
            lines.append(f"| {r['run']} | {key} | " + " | ".join(cells) + f" | {budgets} |")
    return lines


def latency_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["| run | scenario | overhead p50 ms [95% CI] | overhead p99 ms [95% CI] | comparator p50 ms | "
             "limits ms | outcome |", "|---" * 7 + "|"]
    for r in runs:
        for name, s in sorted(r["scenarios"].items()):
            lat = s.get("latency")
            if not lat:
                continue
            ci, over = lat.get("overhead_ci_ms", {}), lat.get("overhead_ms", {})
            cells = [f"{_f(over.get(k))} [{_f(ci.get(p, {}).get('low'))}, {_f(ci.get(p, {}).get('high'))}]"
                     for k, p in (("50.0", "p50"), ("99.0", "p99"))]
            limits = ", ".join(_f(v) for v in lat.get("budgets_ms", []))
            lines.append(f"| {r['run']} | {name} | " + " | ".join(cells) +
                         f" | {_f(lat.get('comparator_overhead_ms', {}).get('50.0'))} | {limits} | {lat['outcome']} |")
    return lines


def misses_table(runs: list[dict[str, Any]]) -> list[str]:
    """Every verdict other than passed, with its first reasons: what RUN-08 counts as a miss."""
    lines = ["| run | scenario | status | reasons |", "|---|---|---|---|"]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['run']} | (run) | error | {r['error'][-300:].replace('|', '/').replace(chr(10), ' ')} |")
        for name, s in sorted(r["scenarios"].items()):
            if s["status"] != "passed":
                why = "; ".join(s["reasons"]).replace("|", "/")
                lines.append(f"| {r['run']} | {name} | {s['status']} | {why} |")
    return lines if len(lines) > 2 else ["None: every scenario passed in every run."]


def render(doc: dict[str, Any]) -> str:
    s, runs = doc["summary"], doc["runs"]
    env = doc["environment"]
    out = ["# Verdict stability (RUN-08)", "",
           f"Written by `bench/verdicts.py` on {doc['date']}: {s['runs']} run(s) of `testbed run` on "
           f"{env['cpus']} CPU(s), {env['platform']}, Python {env['python']}, scenarios "
           f"{', '.join(s['scenarios'])}. {env['note']}", "",
           f"**{s['clean_runs']} of {s['runs']} runs passed every scenario**; inconclusive verdicts: "
           f"{s['inconclusive_verdicts']}; longest run {_f(s['wall_s_max'], 1)} s.", "",
           "## Verdict per scenario per run", "", *verdict_table(runs, s["scenarios"]), "",
           "## Misses (RUN-08: anything but passed)", "", *misses_table(runs), "",
           "## Send lag per group (LAT-03)", "", *lag_table(runs), "",
           "## Isolation deltas, faulted mode − healthy (ISO-01, ISO-03)", "", *isolation_table(runs), "",
           "## Latency overhead, gateway − direct (LAT-04, LAT-07)", "", *latency_table(runs), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--note", default="", help="a line on the machine's state, for the table's header")
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: the default set)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="testbed-verdicts-") as tmp:
        runs = []
        for i in range(1, args.runs + 1):
            runs.append(one_run(i, args.scenarios, Path(tmp)))
            status = {n: s["status"] for n, s in runs[-1]["scenarios"].items() if s["status"] != "passed"}
            print(f"run {i}/{args.runs}: {runs[-1]['wall_s']} s, exit {runs[-1]['exit_code']}, "
                  f"not passed: {status or 'none'}", flush=True)
    doc = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "environment": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                           "note": args.note},
           "summary": summary(runs), "runs": runs}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    MARKDOWN.write_text(render(doc), encoding="utf-8")
    print(f"{doc['summary']['clean_runs']} of {args.runs} runs passed every scenario; "
          f"wrote {RESULTS.relative_to(ROOT)} and {MARKDOWN.relative_to(ROOT)}")
    return 0 if doc["summary"]["clean_runs"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
