"""Trace context propagation (SPEC 3.3): PROP-01..PROP-07, from what the client sent, the spans
at the ingest and the outbound headers in the provider journal.

Each gateway client record is judged on its own: its spans are found by the trace-id it sent, by
the trace-ids of its upstream requests (journal, by correlation header), and by the SERVER span's
``gw.correlation_id``. Restart mode (PROP-08, declared by the gateway profile) skips PROP-01/02.
Judged: requests whose spans were found, and upstream requests. Without any request's spans the
check is inconclusive, whatever the journal shows (RUN-03).
"""

from __future__ import annotations

from collections.abc import Sequence

from testbed.checks.correlate import KIND_CLIENT, KIND_SERVER, entries_for_request, gateway_entries, spans_by_trace
from testbed.checks.evidence import ClientRecord, Evidence, JournalEntry, SpanView
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.tracecontext import TraceParent, parse_traceparent, parse_tracestate

NAME = "propagation"
SPEC_IDS = ("PROP-01", "PROP-02", "PROP-03", "PROP-04", "PROP-05", "PROP-06", "PROP-07")


class PropagationCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        entries = gateway_entries(evidence)
        traces = spans_by_trace(evidence.spans)
        with_spans = upstream = 0
        tied: set[int] = set()
        requests = [r for r in evidence.client if r.path == "gateway" and r.status is not None]
        for r in requests:
            mine = entries_for_request(r, entries)
            tied |= {id(e) for e in mine}
            spans = _spans_of(r, mine, traces, evidence.spans)
            if not spans and not mine:
                continue
            with_spans += bool(spans)
            upstream += len(mine)
            check_request(r, mine, spans, st.restart_inbound, sink)
        upstream += _untied(requests, [e for e in entries if id(e) not in tied], sink)
        reason = ""
        if not requests:
            reason = "no gateway request was answered"
        elif not with_spans:
            # Journal entries alone judge PROP-03..07 only; PROP-01/02 need the spans (RUN-03).
            reason = "no gateway request's spans reached the ingest, so PROP-01/02 were not judged"
        return conclude(NAME, SPEC_IDS, sink.findings, judged={"requests": with_spans, "upstream": upstream},
                        inconclusive=reason, details={"requests": with_spans, "upstream": upstream})


def _untied(requests: Sequence[ClientRecord], entries: Sequence[JournalEntry], sink: FindingSink) -> int:
    """Upstream requests no client request could be tied to: without a traceparent they cannot be,
    since the trace-id is what ties them, so a gateway that drops the header is caught here."""
    missing = [e for e in entries if e.traceparent is None]
    if not missing:
        return 0
    sent = any(parse_traceparent(r.traceparent) is not None for r in requests)
    sid, sev = ("PROP-03", "violation") if sent else ("PROP-07", "warning")
    sink.add(sid, sev, "missing", f"{len(missing)} upstream request(s) carry no traceparent",
             expected="traceparent on every upstream request", actual=len(missing))
    return len(missing)


def _spans_of(r: ClientRecord, entries: Sequence[JournalEntry], traces: dict[str, list[SpanView]],
              all_spans: Sequence[SpanView]) -> list[SpanView]:
    ids = {tp.trace_id for tp in (parse_traceparent(e.traceparent) for e in entries) if tp}
    inbound = parse_traceparent(r.traceparent)
    if inbound is not None:
        ids.add(inbound.trace_id)
    ids |= {s.trace_id for s in all_spans if s.kind == KIND_SERVER and s.value("gw.correlation_id") == r.correlation_id}
    return [s for t in ids for s in traces.get(t, ())]


def check_request(r: ClientRecord, entries: Sequence[JournalEntry], spans: Sequence[SpanView],
                  restart: bool, sink: FindingSink) -> None:
    inbound = parse_traceparent(r.traceparent)
    ev = {"request": r.correlation_id}
    servers = [s for s in spans if s.kind == KIND_SERVER]
    if inbound is not None and not restart:
        for s in spans:
            if s.trace_id != inbound.trace_id:
                sink.add("PROP-01", "violation", "value", "a span of the request left the caller's trace",
                         trace_id=s.trace_id, span_id=s.span_id, expected=inbound.trace_id, **ev)
        for s in servers:
            if s.parent_span_id != inbound.parent_id:
                sink.add("PROP-02", "violation", "value", "the SERVER span's parent is not the inbound parent-id",
                         span_id=s.span_id, expected=inbound.parent_id, actual=s.parent_span_id, **ev)
    elif r.traceparent is not None and inbound is None:
        _invalid_inbound(r, entries, spans, servers, sink)
    if r.traceparent is None:
        _no_inbound(r, entries, sink)
    _outbound(r, inbound, entries, spans, restart, sink)


def _invalid_inbound(r: ClientRecord, entries: Sequence[JournalEntry], spans: Sequence[SpanView],
                     servers: Sequence[SpanView], sink: FindingSink) -> None:
    """PROP-06: an invalid header is ignored: new trace, no remote parent, tracestate dropped."""
    raw = (r.traceparent or "").strip().lower().split("-")
    claimed = raw[1] if len(raw) > 1 else None
    for s in spans:
        if claimed and s.trace_id == claimed:
            sink.add("PROP-06", "violation", "value", "the gateway continued an invalid traceparent",
                     trace_id=s.trace_id, span_id=s.span_id, actual=r.traceparent, request=r.correlation_id)
    for s in servers:
        if s.parent_span_id:
            sink.add("PROP-06", "violation", "value", "a SERVER span has a remote parent from an invalid header",
                     span_id=s.span_id, actual=s.parent_span_id, request=r.correlation_id)
    for e in entries:
        if r.tracestate and e.tracestate:
            sink.add("PROP-06", "violation", "value", "tracestate forwarded with an invalid traceparent",
                     actual=e.tracestate, request=r.correlation_id)


def _no_inbound(r: ClientRecord, entries: Sequence[JournalEntry], sink: FindingSink) -> None:
    for e in entries:
        if r.tracestate and e.tracestate:
            sink.add("PROP-07", "violation", "value", "a tracestate without a traceparent was not discarded",
                     actual=e.tracestate, request=r.correlation_id)


def _outbound(r: ClientRecord, inbound: TraceParent | None, entries: Sequence[JournalEntry],
              spans: Sequence[SpanView], restart: bool, sink: FindingSink) -> None:
    clients = {s.span_id for s in spans if s.kind == KIND_CLIENT}
    seen: set[str] = set()
    for e in entries:
        ev = {"request": r.correlation_id}
        out = parse_traceparent(e.traceparent)
        if e.traceparent is None:
            sid, sev = ("PROP-07", "warning") if inbound is None else ("PROP-03", "violation")
            sink.add(sid, sev, "missing", "an upstream request carries no traceparent", **ev)
            continue
        if out is None or out.version != "00":
            sink.add("PROP-03", "violation", "value", "the outbound traceparent is not a valid version-00 header",
                     actual=e.traceparent, **ev)
            continue
        if inbound is not None and not restart and out.trace_id != inbound.trace_id:
            sink.add("PROP-03", "violation", "value", "the outbound trace-id is not the caller's",
                     expected=inbound.trace_id, actual=out.trace_id, **ev)
        if out.parent_id in seen:
            sink.add("PROP-03", "violation", "value", "two attempts sent the same parent-id", actual=out.parent_id, **ev)
        seen.add(out.parent_id)
        if clients and out.parent_id not in clients:
            sink.add("PROP-03", "warning", "value", "the outbound parent-id is not the attempt's CLIENT span id",
                     actual=out.parent_id, **ev)
        if inbound is not None and not restart:
            _flags(inbound, out, e, r, sink)


def _flags(inbound: TraceParent, out: TraceParent, e: JournalEntry, r: ClientRecord, sink: FindingSink) -> None:
    ev = {"request": r.correlation_id}
    if out.random != inbound.random:
        sink.add("PROP-04", "violation", "value", "the random-trace-id flag was not kept as received",
                 expected=inbound.flags, actual=out.flags, **ev)
    if out.flags & 0xFC:
        sink.add("PROP-04", "violation", "value", "undefined trace flag bits are set", actual=out.flags, **ev)
    if out.sampled != inbound.sampled:
        sink.add("PROP-04", "warning", "value", "the sampled flag was changed", expected=inbound.flags,
                 actual=out.flags, **ev)
    _tracestate(r.tracestate, e.tracestate, r.traceparent == e.traceparent, sink, ev)


def _tracestate(sent: str | None, got: str | None, unchanged_parent: bool, sink: FindingSink, ev: dict) -> None:
    """PROP-05: forwarded, unchanged when traceparent is, else only left-side mutations."""
    if sent and not got:
        sink.add("PROP-05", "violation", "missing", "tracestate was not forwarded upstream", expected=sent, **ev)
        return
    members = parse_tracestate(got)
    if unchanged_parent and (got or "") != (sent or ""):
        sink.add("PROP-05", "violation", "value", "tracestate changed although traceparent did not",
                 expected=sent, actual=got, **ev)
    keys = [k for k, _ in members]
    if len(keys) > 32 or len(set(keys)) != len(keys):
        sink.add("PROP-05", "violation", "value", "tracestate has duplicate keys or more than 32 members",
                 actual=got, **ev)
    before = [k for k, _ in parse_tracestate(sent)]
    kept = [k for k in keys if k in before]
    order = [k for k in before if k in kept]
    # Updates move a key to the left; every other kept member must keep its relative order.
    if kept != order and kept[1:] != [k for k in order if k != kept[0]]:
        sink.add("PROP-05", "violation", "value", "tracestate members were reordered", expected=sent, actual=got, **ev)
