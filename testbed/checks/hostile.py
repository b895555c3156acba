"""Hostile input: bad requests get a clear refusal and never blind the telemetry pipeline.

Judged from what a client sees and what reaches the ingest, so any gateway under test can be judged:

- every hostile request (``hostile`` client path, see :mod:`testbed.load.hostile`) gets an answer
  its kind allows, within the deadline: never a 5xx, never a hang; a 4xx carries the OpenAI error
  body (OAI-08, SPEC 9.5: the gateway's own errors use the OAI-08 body);
- every answered normal request still has its spans at the ingest, those sent after the first
  hostile request included: one poison request must not hold the batch around it (LOSS-01);
- a request with undecodable header bytes is well-formed HTTP that reaches the gateway, so when the
  gateway declares SERVER spans, the SERVER span of each such request arrives too (GW-01, LOSS-01);
- where the stack reports it, nothing is left queued in the exporter after the drain (LOSS-01).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final

from testbed.checks.correlate import KIND_SERVER
from testbed.checks.evidence import ClientRecord, Evidence
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.counters import EXPORTER_SPANS_QUEUED
from testbed.load.hostile import allowed, kind_of, outcome_of

NAME = "hostile"
SPEC_IDS = ("OAI-08", "LOSS-01", "GW-01")
HEADER_POISON: Final = "bad_utf8_header"
_SAMPLE: Final = 5


class HostileCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        hostile = [r for r in evidence.client if r.path == "hostile"]
        normal = [r for r in evidence.client if r.path == "gateway" and r.status is not None and r.trace_id]
        if not hostile:
            return conclude(NAME, SPEC_IDS, [], judged={"hostile_requests": 0},
                            inconclusive="no hostile request in the run")
        _answers(hostile, sink)
        traces = _traces(evidence)
        first_hostile = min(r.sent_ns for r in hostile)
        missing = _normal_delivery(normal, traces, first_hostile, sink)
        poison_spans = _poison_spans(hostile, traces, st.expects_server_span, sink)
        if evidence.counters.available and evidence.counters.total(EXPORTER_SPANS_QUEUED) > 0:
            sink.add("LOSS-01", "violation", "loss", "spans still queued in the exporter after the drain",
                     actual=evidence.counters.total(EXPORTER_SPANS_QUEUED))
        judged = {"hostile_requests": len(hostile), "normal_requests": len(normal)}
        details = {"by_kind": _by_kind(hostile), "normal_missing": missing, "poison_server_spans": poison_spans}
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, details=details)


def _answers(hostile: list[ClientRecord], sink: FindingSink) -> None:
    for r in hostile:
        kind = kind_of(r.correlation_id) or "unknown"
        ev = {"kind": kind, "correlation_id": r.correlation_id}
        if r.status is not None and r.status >= 500:
            sink.add("OAI-08", "violation", "value", f"a hostile request ({kind}) was answered {r.status}, "
                     "a server error for a client's mistake", actual=r.status, **ev)
            continue
        outcome = outcome_of(r.status, r.error)
        if outcome is None:
            what = "no answer within the deadline (a hang)" if r.status is None else f"status {r.status}"
            sink.add("OAI-08", "violation", "missing" if r.status is None else "value",
                     f"a hostile request ({kind}) got {what}", expected=sorted(allowed(kind)), **ev)
        elif outcome not in allowed(kind):
            sink.add("OAI-08", "violation", "value", f"a hostile request ({kind}) got a {outcome} answer",
                     expected=sorted(allowed(kind)), actual=r.status if r.status is not None else r.error, **ev)
        elif r.error and r.error.startswith("error body:"):
            sink.add("OAI-08", "violation", "value", f"the {r.status} answer to a hostile request ({kind}) "
                     "is not in the OpenAI error format", actual=r.error, **ev)


def _traces(evidence: Evidence) -> dict[str, list[int]]:
    """Span kinds per trace id at the ingest."""
    out: dict[str, list[int]] = defaultdict(list)
    for s in evidence.spans:
        out[s.trace_id].append(s.kind)
    return out


def _normal_delivery(normal: list[ClientRecord], traces: dict[str, list[int]], first_hostile: int,
                     sink: FindingSink) -> int:
    lost = [r for r in normal if r.trace_id not in traces]
    if lost:
        after = sum(1 for r in lost if r.sent_ns >= first_hostile)
        sink.add("LOSS-01", "violation", "loss",
                 f"{len(lost)} of {len(normal)} answered normal request(s) have no span at the ingest "
                 f"({after} sent after the first hostile request)",
                 expected=len(normal), actual=len(normal) - len(lost),
                 sample=[r.correlation_id for r in lost[:_SAMPLE]])
    return len(lost)


def _poison_spans(hostile: list[ClientRecord], traces: dict[str, list[int]], expects_server: bool,
                  sink: FindingSink) -> int:
    """SERVER spans of the answered header-poison requests that arrived."""
    poison = [r for r in hostile if kind_of(r.correlation_id) == HEADER_POISON and r.status is not None
              and 400 <= r.status < 500 and r.trace_id]
    arrived = [r for r in poison if KIND_SERVER in traces.get(r.trace_id or "", [])]
    if expects_server and len(arrived) < len(poison):
        missing = [r.correlation_id for r in poison if r not in arrived]
        sink.add("GW-01", "violation", "loss",
                 f"{len(missing)} of {len(poison)} request(s) with undecodable header bytes have no SERVER span "
                 "at the ingest: their text must be made valid, not dropped",
                 expected=len(poison), actual=len(arrived), sample=missing[:_SAMPLE])
    return len(arrived)


def _by_kind(hostile: list[ClientRecord]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in hostile:
        answer = str(r.status) if r.status is not None else (r.error or "none")
        out[kind_of(r.correlation_id) or "unknown"][answer] += 1
    return {k: dict(v) for k, v in out.items()}
