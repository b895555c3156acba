"""A results document (schema testbed.results/1) built from real encoded histograms, for the
report tests: a failed check whose evidence holds markup, an inconclusive, a not-applicable (with
an info finding) and an erroring check, judged counts and descriptions on some,
a broken scenario, a fault timeline, counters, a latency series and a topology."""

from __future__ import annotations

import copy
from typing import Any

from testbed.load.histogram import LatencyHistogram

HOSTILE = '<script>alert("x")</script>'


def histogram(values_ms: list[float]) -> dict[str, Any]:
    h = LatencyHistogram()
    for v in values_ms:
        h.record_us(v * 1000)
    return {"summary": h.summary().to_json(), "histogram": h.encode()}


def latency_entry(path: str, values_ms: list[float], metric: str = "latency", phase: str = "measure") -> dict[str, Any]:
    return {"phase": phase, "mode": "healthy", "path": path, "metric": metric, "unit": "us", **histogram(values_ms)}


def spread(base_ms: float, n: int = 2000) -> list[float]:
    """n values from base to about 2 × base, so p50 ≈ 1.5 × base and p99 ≈ 2 × base."""
    return [base_ms * (1 + i / n) for i in range(n)]


def finding(spec_id: str, severity: str, message: str, **evidence: Any) -> dict[str, Any]:
    return {"spec_id": spec_id, "check": "semconv", "severity": severity, "category": "value",
            "convention": "genai-1.41", "scenario": "chat", "message": message, "evidence": evidence}


def _chat() -> dict[str, Any]:
    return {
        "name": "chat", "file": "scenarios/chat.yaml", "description": "Chat through the gateway.",
        "status": "failed", "reasons": ["SEM-03: wrong value"], "error": None,
        "started_ns": "1700000000000000000", "finished_ns": "1700000004000000000", "duration_s": 4.0,
        "settings": {"gateway": "reference", "duration_s": 4.0, "rate_per_s": 500, "direct": True},
        "checks": [
            {"check": "semconv", "spec_ids": ["SEM-01", "SEM-03"], "outcome": "failed", "reason": "", "details": {},
             "findings": [finding("SEM-03", "violation", "gen_ai.request.model differs from the request",
                                  span_id="00f067aa0ba902b7", attribute="gen_ai.request.model",
                                  expected="gpt-4o-mini", actual=HOSTILE),
                          finding("SEM-24", "warning", "usage object differs", expected={"a": 1, "b": [1, 2]},
                                  actual={"a": 2, "b": [1, 2]})]},
            {"check": "loss", "spec_ids": ["LOSS-01"], "outcome": "passed", "reason": "", "findings": [],
             "description": "every expected span arrives once, or its loss is counted",
             "judged": {"expected_spans": 40, "spans": 40},
             "details": {"expected": 40, "ingested_unique": 40, "unaccounted": 0.0}},
            {"check": "streaming", "spec_ids": ["SEM-14"], "outcome": "not_applicable",
             "reason": "no request of the scenario streamed, so the streaming rules do not apply",
             "judged": {"streams": 0}, "findings": [finding("SEM-14", "info", "stream=false on a plain call")],
             "details": {}},
            {"check": "isolation", "spec_ids": ["ISO-01"], "outcome": "inconclusive",
             "reason": "fewer than 1000 completed requests in mode(s) healthy (ISO-03)", "findings": [], "details": {}},
            {"check": "latency", "spec_ids": ["LAT-04"], "outcome": "error", "reason": "KeyError: 'direct'",
             "findings": [], "details": {}},
        ],
        "suppressed": [{"finding": finding("SEM-05", "violation", "known deviation"), "reason": "DEV-01 vendor quirk"}],
        "requests": {"total": 4000, "ok": 4000, "by_path": {"gateway": {"total": 2000, "ok": 2000, "failed": 0}}},
        "latency": [latency_entry("gateway", spread(12.0)), latency_entry("direct", spread(10.0)),
                    latency_entry("gateway", spread(1.0), metric="send_lag")],
        "timeline": [{"fault": "slow-ingest", "kind": "latency", "target": "ingest", "op": "apply", "planned_s": 1.0,
                      "start_ns": "1700000001000000000", "end_ns": "1700000001005000000", "error": None},
                     {"fault": "slow-ingest", "kind": "latency", "target": "ingest", "op": "clear", "planned_s": 2.5,
                      "start_ns": "1700000002500000000", "end_ns": "1700000002502000000", "error": None}],
        "series": {"bucket_s": 0.5, "points": [{"t_s": t / 2, "path": "gateway", "count": 100, "p99_us": 20000 + 3000 * t}
                                               for t in range(8)]},
        "counters": {"testbed_gateway_requests_total{route=\"chat\",status=\"200\"}": 2000.0,
                     "testbed_gateway_events_published_total": 2000.0,
                     "testbed_exporter_spans_dropped_total{reason=\"permanent_400\"}": 3.0,
                     "testbed_exporter_spans_exported_total": 3997.0, "fake_middleware_spans_accepted_total": 3997.0},
        "topology": {"nodes": [{"service": "gateway", "virtual": False, "spans": 4000, "calls": 2000},
                               {"service": HOSTILE, "virtual": True, "spans": 0, "calls": 2000}],
                     "edges": [{"source": "gateway", "target": HOSTILE, "calls": 2000, "errors": 0}]},
        "evidence": {"spans": 4000},
    }


def results() -> dict[str, Any]:
    broken = {"name": "broken", "file": "scenarios/broken.yaml", "status": "error", "error": "RuntimeError: stack died",
              "reasons": ["RuntimeError: stack died"], "checks": [], "latency": [], "timeline": [], "counters": {}}
    return copy.deepcopy({
        "schema": "testbed.results/1",
        "run": {"id": "20250101-000000-abcd", "started_ns": "1", "finished_ns": "2", "duration_s": 9.5,
                "gateway": {"name": "reference", "profile": "reference (stack)", "convention": "genai-1.41"}},
        "environment": {"python": "3.11.7", "platform": "Linux", "cpus": 2, "testbed_version": "0.1.0"},
        "status": "error",
        "scenarios": [_chat(), broken],
    })
