"""Correlation of evidence across hops: client requests, provider journal entries and spans.

A journal entry is *direct* when it belongs to a runner-to-provider request (its correlation id or
traceparent trace-id is a direct client record's); every other entry is an upstream request made by
the gateway. A CLIENT span matches the journal entry whose outbound ``traceparent`` parent-id is
the span's id (GW-04).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from testbed.checks.evidence import ClientRecord, Evidence, JournalEntry, SpanView
from testbed.checks.tracecontext import parse_traceparent

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3


def entry_trace_id(entry: JournalEntry) -> str | None:
    tp = parse_traceparent(entry.traceparent)
    return tp.trace_id if tp else None


def entry_parent_id(entry: JournalEntry) -> str | None:
    tp = parse_traceparent(entry.traceparent)
    return tp.parent_id if tp else None


def gateway_entries(ev: Evidence) -> list[JournalEntry]:
    """Journal entries caused by the gateway, not by the runner's direct requests."""
    direct = [r for r in ev.client if r.path != "gateway"]
    ids = {r.correlation_id for r in direct}
    traces = {r.trace_id for r in direct if r.trace_id}
    return [
        e for e in ev.journal
        if e.correlation_id not in ids and (entry_trace_id(e) is None or entry_trace_id(e) not in traces)
    ]


@dataclass(frozen=True, slots=True)
class Match:
    """A CLIENT span with the journal entry it produced, or either side alone."""

    span: SpanView | None
    entry: JournalEntry | None


def match_client_spans(spans: Iterable[SpanView], entries: Iterable[JournalEntry]) -> list[Match]:
    """Pair spans and journal entries by the outbound parent-id; unpaired ones come back alone."""
    by_id: dict[str, SpanView] = {}
    for s in spans:
        by_id.setdefault(s.span_id, s)
    used: set[str] = set()
    out: list[Match] = []
    for e in entries:
        pid = entry_parent_id(e)
        span = by_id.get(pid) if pid else None
        if span is not None and pid not in used:
            used.add(pid)
            out.append(Match(span, e))
        else:
            out.append(Match(None, e))
    out.extend(Match(s, None) for sid, s in by_id.items() if sid not in used)
    return out


def genai_client_spans(spans: Iterable[SpanView]) -> list[SpanView]:
    return [s for s in spans if s.kind == KIND_CLIENT and _is_genai(s)]


def _is_genai(s: SpanView) -> bool:
    return "gen_ai.operation.name" in s.attributes or "gen_ai.system" in s.attributes


def spans_by_trace(spans: Iterable[SpanView]) -> dict[str, list[SpanView]]:
    out: dict[str, list[SpanView]] = defaultdict(list)
    for s in spans:
        out[s.trace_id].append(s)
    return out


def entries_for_request(record: ClientRecord, entries: Iterable[JournalEntry]) -> list[JournalEntry]:
    """Upstream requests of one client request: by correlation header, else by trace id."""
    out = []
    for e in entries:
        if e.correlation_id is not None:
            if e.correlation_id == record.correlation_id:
                out.append(e)
        elif record.trace_id and entry_trace_id(e) == record.trace_id:
            out.append(e)
    return out


def matched_pairs(ev: Evidence) -> list[Match]:
    """GenAI CLIENT spans paired with gateway journal entries."""
    return match_client_spans(genai_client_spans(ev.spans), gateway_entries(ev))
