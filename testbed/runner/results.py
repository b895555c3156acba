"""``results.json``: the versioned record of one run (schema ``testbed.results/1``), pure.

The report renders from this file alone (RUN-06), and a later run can be compared with it, so
every figure is kept in plain JSON: verdicts, check results with findings (suppressed ones
listed apart), each check's one-line description and judged counts (RUN-03), HDR latency
summaries with their encoded histograms per (phase, mode, path, metric) (LAT-05), the fault
timeline, counter deltas and the environment. docs/runner.md
documents each field; a change that removes or renames one bumps the schema version.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from testbed.checks.base import DESCRIPTIONS
from testbed.checks.evidence import ClientRecord
from testbed.checks.suppress import Verdict
from testbed.load.histogram import LatencyHistogram
from testbed.load.stats import percentile
from testbed.runner.timeline import TimelineRecord

SCHEMA: Final = "testbed.results/1"
METRICS: Final = ("latency", "ttft", "service", "send_lag")


@dataclass
class ScenarioOutcome:
    """Everything one scenario produced; ``error`` is set when the run itself broke."""

    name: str
    file: str
    description: str = ""
    status: str = "error"
    reasons: tuple[str, ...] = ()
    started_ns: int = 0
    finished_ns: int = 0
    verdict: Verdict | None = None
    records: Sequence[ClientRecord] = ()
    timeline: Sequence[TimelineRecord] = ()
    counters: Mapping[str, float] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    evidence_counts: Mapping[str, int] = field(default_factory=dict)
    pairing: Mapping[str, Any] | None = None
    """How spans were paired with upstream requests (``correlate.Pairing.summary``)."""
    topology: Mapping[str, Any] | None = None
    """The ingest's service graph (``GET /api/v1/topology``) after the drain."""
    signals: Sequence[Mapping[str, Any]] = ()
    """The ingest's anomaly signals (``GET /api/v1/signals``, SPEC 13) after the drain."""
    error: str | None = None


def _metric_ns(r: ClientRecord, metric: str) -> int | None:
    if metric == "latency":
        return r.latency_ns
    if metric == "ttft":
        return r.ttft_ns if r.stream else None
    if metric == "service":
        return None if r.complete_ns is None else r.complete_ns - r.sent_ns
    return r.send_lag_ns


def latency_histograms(records: Iterable[ClientRecord]) -> list[dict[str, Any]]:
    """One HDR histogram per (phase, mode, path, metric) over completed successful requests."""
    groups: dict[tuple[str, str, str, str], LatencyHistogram] = {}
    for r in records:
        if not r.ok:
            continue
        for metric in METRICS:
            value = _metric_ns(r, metric)
            if value is None:
                continue
            key = (r.phase, r.mode, r.path, metric)
            groups.setdefault(key, LatencyHistogram()).record_ns(max(value, 0))
    return [{"phase": k[0], "mode": k[1], "path": k[2], "metric": k[3], "unit": "us",
             "summary": h.summary().to_json(), "histogram": h.encode()}
            for k, h in sorted(groups.items())]


def latency_series(records: Sequence[ClientRecord], bucket_s: float = 0.5) -> dict[str, Any] | None:
    """Latency over time per path, in buckets of intended start time from the first request, so
    the report can line it up with the fault timeline."""
    if not records:
        return None
    t0 = min(r.intended_ns for r in records)
    width = int(bucket_s * 1e9)
    groups: dict[tuple[int, str], list[int]] = {}
    errors: dict[tuple[int, str], int] = {}
    for r in records:
        key = ((r.intended_ns - t0) // width, r.path)
        groups.setdefault(key, [])
        if r.ok and r.latency_ns is not None:
            groups[key].append(r.latency_ns)
        else:
            errors[key] = errors.get(key, 0) + 1
    points = [{"t_s": round(b * bucket_s, 3), "path": path, "count": len(lat) + errors.get((b, path), 0),
               "errors": errors.get((b, path), 0),
               "p50_us": round(percentile(lat, 50) / 1e3) if lat else None,
               "p99_us": round(percentile(lat, 99) / 1e3) if lat else None}
              for (b, path), lat in sorted(groups.items())]
    return {"bucket_s": bucket_s, "points": points}


def request_summary(records: Sequence[ClientRecord]) -> dict[str, Any]:
    by_path: dict[str, dict[str, int]] = {}
    for r in records:
        p = by_path.setdefault(r.path, {"total": 0, "ok": 0, "failed": 0, "cap_hit": 0})
        p["total"] += 1
        p["ok" if r.ok else "failed"] += 1
        p["cap_hit"] += int(r.cap_hit)
    return {"total": len(records), "ok": sum(1 for r in records if r.ok), "by_path": by_path}


def scenario_json(o: ScenarioOutcome) -> dict[str, Any]:
    checks, suppressed = [], []
    if o.verdict is not None:
        for r in o.verdict.results:
            checks.append({"check": r.check, "spec_ids": list(r.spec_ids), "outcome": r.outcome, "reason": r.reason,
                           "description": DESCRIPTIONS.get(r.check, ""), "judged": dict(r.judged),
                           "findings": [f.to_json() for f in r.findings], "details": dict(r.details)})
        suppressed = [{"finding": f.to_json(), "reason": s.reason} for f, s in o.verdict.suppressed]
    return {
        "name": o.name, "file": o.file, "description": o.description, "status": o.status,
        "reasons": list(o.reasons), "error": o.error, "started_ns": str(o.started_ns),
        "finished_ns": str(o.finished_ns), "duration_s": round((o.finished_ns - o.started_ns) / 1e9, 3),
        "settings": dict(o.settings), "checks": checks, "suppressed": suppressed,
        "requests": request_summary(o.records), "latency": latency_histograms(o.records),
        "timeline": [t.to_json() for t in o.timeline], "counters": dict(sorted(o.counters.items())),
        "evidence": dict(o.evidence_counts), "pairing": dict(o.pairing) if o.pairing is not None else None,
        "series": latency_series(o.records),
        "topology": dict(o.topology) if o.topology is not None else None,
        "signals": [dict(s) for s in o.signals],
    }  # fmt: skip


def overall_status(outcomes: Sequence[ScenarioOutcome]) -> str:
    statuses = {o.status for o in outcomes}
    for status in ("error", "failed", "inconclusive"):
        if status in statuses:
            return status
    return "passed" if outcomes else "error"


def environment() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        testbed_version = version("ai-gateway-testbed")
    except PackageNotFoundError:
        testbed_version = "unknown"
    return {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "testbed_version": testbed_version, "clock": "time.time_ns (wall clock, one machine)"}


def results_json(run_id: str, gateway: Mapping[str, Any], outcomes: Sequence[ScenarioOutcome],
                 started_ns: int, finished_ns: int, env: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "run": {"id": run_id, "started_ns": str(started_ns), "finished_ns": str(finished_ns),
                                  "duration_s": round((finished_ns - started_ns) / 1e9, 3), "gateway": dict(gateway)},
        "environment": dict(env), "status": overall_status(outcomes),
        "scenarios": [scenario_json(o) for o in outcomes],
    }
