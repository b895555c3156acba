"""Loss accounting (SPEC 7): LOSS-01..LOSS-05, in spans.

Expected spans = one SERVER span per answered gateway request (when the profile declares SERVER
spans) + one GenAI CLIENT span per upstream request in the provider journal. Ingested spans are
those kinds, unique by (trace_id, span_id). With counters, ``expected = ingested_unique +
counted_drops + still_queued`` must hold exactly (LOSS-01); event-denominated counters are
converted to spans with the run's spans-per-request ratio. Without counters, a deficit is
"unattributed loss" per mode (LOSS-04). Counter names (EXP-06) are ``testbed.counters``'s.
"""

from __future__ import annotations

from collections import defaultdict

from testbed.checks.correlate import KIND_SERVER, entries_for_request, entry_trace_id, gateway_entries, genai_client_spans
from testbed.checks.evidence import ClientRecord, Evidence, SpanView
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.counters import (EVENTS_QUEUED, EXPORTER_SPANS_QUEUED, GATEWAY_EVENTS_DROPPED, INGEST_SPANS_REJECTED,
                              SPAN_DROPS, whole)
from testbed.percentiles import percentile

NAME = "loss"
SPEC_IDS = ("LOSS-01", "LOSS-02", "LOSS-03", "LOSS-04", "LOSS-05")


def _relevant(ev: Evidence) -> list[SpanView]:
    servers = [s for s in ev.spans if s.kind == KIND_SERVER] if ev.settings.expects_server_span else []
    return servers + genai_client_spans(ev.spans)


class LossCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        requests = [r for r in evidence.client if r.path == "gateway"]
        entries = gateway_entries(evidence)
        if not requests and not entries:
            return conclude(NAME, SPEC_IDS, [], judged={"expected_spans": 0}, inconclusive="no gateway request in the run")
        answered = sum(1 for r in requests if r.status is not None) if st.expects_server_span else 0
        expected = answered + len(entries)
        spans = _relevant(evidence)
        unique = {(s.trace_id, s.span_id) for s in spans}
        _duplicates(spans, sink)
        details: dict[str, object] = {"expected": expected, "ingested_unique": len(unique),
                                      "ingested_total": len(spans)}
        if evidence.counters.available:
            per_event = expected / max(len(requests), 1)
            details.update(_account(evidence, expected, len(unique), per_event, sink))
        else:
            _unattributed(evidence, requests, spans, sink)
        details["delivery_lag_ms"] = _delivery_lag(requests, spans, sink)
        judged = {"expected_spans": expected, "spans": len(unique)}
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, details=details)


def _account(ev: Evidence, expected: int, unique: int, per_event: float, sink: FindingSink) -> dict[str, object]:
    c = ev.counters
    drops: dict[str, float] = defaultdict(float)
    for name in SPAN_DROPS:
        for reason, v in c.by_label(name, "reason").items():
            drops[reason] += v
    for reason, v in c.by_label(GATEWAY_EVENTS_DROPPED, "reason").items():
        drops[reason] += v * per_event
    # The ingest's rejected spans and an exporter's partial_success drops are the same spans seen
    # from both ends of one hop: count them once, keeping the ingest's figure for an exporter
    # that does not count its own.
    drops["rejected_at_ingest"] += max(0.0, c.total(INGEST_SPANS_REJECTED) - drops.get("partial_success", 0.0))
    drops = {k: v for k, v in drops.items() if v}
    queued = c.total(EXPORTER_SPANS_QUEUED) + sum(c.total(n) for n in EVENTS_QUEUED) * per_event
    unaccounted = expected - (unique + sum(drops.values()) + queued)
    if round(unaccounted) != 0:
        sink.add("LOSS-01", "violation", "loss", f"{round(unaccounted)} span(s) unaccounted for",
                 expected=expected, actual={"ingested_unique": unique, "dropped": sum(drops.values()), "queued": queued})
    if ev.settings.faulted_modes_transient:
        for reason, n in drops.items():
            if reason not in ev.settings.permanent_drop_reasons:
                sink.add("LOSS-02", "violation", "loss", f"{n:g} span(s) dropped as '{reason}' under transient faults",
                         expected=0, actual=n)
        if unique != expected:
            sink.add("LOSS-02", "violation", "loss", "after draining, ingested spans differ from expected",
                     expected=expected, actual=unique)
    out: dict[str, object] = {"dropped": whole(sum(drops.values())), "still_queued": whole(queued),
                              "unaccounted": whole(unaccounted)}
    if drops:
        out["dropped_by_reason"] = {k: whole(v) for k, v in sorted(drops.items())}
    return out


def _content(s: SpanView) -> tuple:
    return (s.name, s.kind, s.start_ns, s.end_ns, s.status_code, s.parent_span_id,
            tuple(sorted((k, repr(v)) for k, v in s.attributes.items())))


def _duplicates(spans: list[SpanView], sink: FindingSink) -> None:
    groups: dict[tuple[str, str], list[SpanView]] = defaultdict(list)
    for s in spans:
        groups[(s.trace_id, s.span_id)].append(s)
    dups = {k: g for k, g in groups.items() if len(g) > 1}
    if dups:
        sink.add("LOSS-03", "info", "loss", f"{sum(len(g) - 1 for g in dups.values())} duplicate span(s)",
                 actual=len(dups))
    for (trace_id, span_id), g in dups.items():
        if len({_content(s) for s in g}) > 1:
            sink.add("LOSS-03", "violation", "value", "duplicate spans with different content",
                     trace_id=trace_id, span_id=span_id)


def _unattributed(ev: Evidence, requests: list[ClientRecord], spans: list[SpanView], sink: FindingSink) -> None:
    """LOSS-04, per mode: expected against ingested spans in the requests' traces."""
    entries = gateway_entries(ev)
    per_trace: dict[str, set[str]] = defaultdict(set)
    for s in spans:
        per_trace[s.trace_id].add(s.span_id)
    by_mode: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in requests:
        mine = entries_for_request(r, entries)
        traces = ({r.trace_id} if r.trace_id else set()) | {t for t in map(entry_trace_id, mine) if t}
        by_mode[r.mode][0] += len(mine) + (1 if ev.settings.expects_server_span and r.status is not None else 0)
        by_mode[r.mode][1] += sum(len(per_trace.get(t, ())) for t in traces)
    for mode, (expected, got) in sorted(by_mode.items()):
        if got < expected:
            sev = "violation" if mode == "healthy" else "warning"
            sink.add("LOSS-04", sev, "loss", f"{expected - got} span(s) lost without a counted reason in '{mode}'",
                     expected=expected, actual=got)


def _delivery_lag(requests: list[ClientRecord], spans: list[SpanView], sink: FindingSink) -> dict[str, float] | None:
    done = {r.trace_id: r.complete_ns for r in requests if r.trace_id and r.complete_ns is not None}
    lags = [s.received_ns - done[s.trace_id] for s in spans if s.received_ns is not None and s.trace_id in done]
    if not lags:
        return None
    out = {"p50": percentile(lags, 50) / 1e6, "p99": percentile(lags, 99) / 1e6}
    sink.add("LOSS-05", "info", "timing", "delivery lag from the client's last byte to the ingest",
             actual={k: round(v, 3) for k, v in out.items()})
    return out
