"""Correlation of evidence across hops: client requests, provider journal entries and spans.

A journal entry is *direct* when it belongs to a runner-to-provider request (its correlation id or
traceparent trace-id is a direct client record's); every other entry is an upstream request made by
the gateway. Pairing a GenAI span with the upstream request it describes trusts the gateway under
test as little as possible, and tries every honest means in this order (each pair records its
means, so reports can say how much of a run was judged on what):

1. ``traceparent``: the entry's outbound ``traceparent`` parent-id is the span's id (GW-04).
2. ``response_id``: the span's ``gen_ai.response.id`` is the provider's own (random) response id.
3. ``trace_id`` / ``canary``: both sides are tied to the same client request. An entry is tied by
   the correlation header, the client's trace id, or a planted canary (SPEC 4) in the upstream
   body; a span by the client's trace id (the gateway continued the caller's context) or by a
   planted canary in its attributes or events. Within one request, spans and entries pair in time
   order.
4. ``model_time``: the same model, the entry's arrival inside the span's time window. It is a
   last resort and flagged *weak*: value checks downgrade what they find on such pairs.

Spans and entries left over are returned alone, so checks can report them.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from testbed.checks.evidence import ClientRecord, Evidence, JournalEntry, SpanView, TypedValue
from testbed.checks.tracecontext import parse_traceparent

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3

Means = Literal["traceparent", "response_id", "trace_id", "canary", "model_time"]
MEANS: Final[tuple[Means, ...]] = ("traceparent", "response_id", "trace_id", "canary", "model_time")
WEAK_MEANS: Final[frozenset[str]] = frozenset(("model_time",))
WINDOW_SLACK_NS: Final = 50_000_000
"""How far outside a span's bounds an upstream arrival may lie for a weak pairing (clock steps,
a gateway that starts its span after sending)."""
_CANARY = re.compile(r"CNRY-[A-Z]+-[0-9a-f]{20}")


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
    """A GenAI span with the journal entry it describes, or either side alone; ``means`` says how
    the two were paired (None when unpaired)."""

    span: SpanView | None
    entry: JournalEntry | None
    means: Means | None = None

    @property
    def weak(self) -> bool:
        return self.means in WEAK_MEANS


@dataclass(frozen=True, slots=True)
class Pairing:
    """Every GenAI span and gateway journal entry of a run, paired where honest means allow."""

    matches: tuple[Match, ...] = ()

    @property
    def pairs(self) -> list[Match]:
        return [m for m in self.matches if m.span is not None and m.entry is not None]

    def summary(self) -> dict[str, Any]:
        """Counts for results.json and the report: pairing rate overall and by means."""
        pairs = self.pairs
        spans = sum(1 for m in self.matches if m.span is not None)
        entries = sum(1 for m in self.matches if m.entry is not None)
        by = Counter(m.means for m in pairs)
        return {
            "spans": spans, "upstream_requests": entries, "paired": len(pairs),
            "rate": round(len(pairs) / entries, 4) if entries else None,
            "by_means": {k: by[k] for k in MEANS if by[k]},
            "weak": sum(1 for m in pairs if m.weak),
            "unpaired_spans": spans - len(pairs), "unpaired_requests": entries - len(pairs),
        }


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
            out.append(Match(span, e, "traceparent"))
        else:
            out.append(Match(None, e))
    out.extend(Match(s, None) for sid, s in by_id.items() if sid not in used)
    return out


def genai_client_spans(spans: Iterable[SpanView]) -> list[SpanView]:
    return [s for s in spans if s.kind == KIND_CLIENT and _is_genai(s)]


def genai_call_spans(spans: Iterable[SpanView]) -> list[SpanView]:
    """Spans that describe a GenAI call: CLIENT spans, or for a gateway that marks them with
    another kind, its non-SERVER spans with GenAI attributes, keeping only the innermost of a
    parent/child chain that both carry them (the one closest to the upstream request)."""
    genai = [s for s in spans if _is_genai(s) and s.kind != KIND_SERVER]
    client = [s for s in genai if s.kind == KIND_CLIENT]
    if client:
        return client
    parents = {s.parent_span_id for s in genai if s.parent_span_id}
    return [s for s in genai if s.span_id not in parents]


def _is_genai(s: SpanView) -> bool:
    # Any gen_ai.* attribute: a span that lost gen_ai.operation.name must still be judged.
    return any(name.startswith("gen_ai.") for name in s.attributes)


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


def entries_by_request(ev: Evidence, entries: Iterable[JournalEntry]) -> dict[str, list[JournalEntry]]:
    """Upstream requests per client correlation id, tied by the correlation header, the client's
    trace id, or a planted canary in the upstream body (for gateways that forward neither)."""
    owner = {c.value: c.request_id for c in ev.canaries if c.request_id}
    clients = {r.correlation_id: r for r in ev.client if r.path == "gateway"}
    by_trace = {r.trace_id: r.correlation_id for r in clients.values() if r.trace_id}
    out: dict[str, list[JournalEntry]] = defaultdict(list)
    for e in entries:
        rid = _entry_request(e, clients, by_trace, owner)
        if rid is not None:
            out[rid].append(e)
    return out


# --- pairing without trusting the gateway --------------------------------------------------------

def pair(ev: Evidence) -> Pairing:
    """Pair GenAI spans with gateway journal entries by every honest means (module docstring)."""
    spans = genai_call_spans(ev.spans)
    entries = gateway_entries(ev)
    first = match_client_spans(spans, entries)
    done = [m for m in first if m.span is not None and m.entry is not None]
    left_s = [m.span for m in first if m.entry is None and m.span is not None]
    left_e = [m.entry for m in first if m.span is None and m.entry is not None]
    for step in (_by_response_id, lambda s, e: _by_request(s, e, ev), _by_model_time):
        found, left_s, left_e = step(left_s, left_e)
        done.extend(found)
    rest = [Match(None, e) for e in left_e] + [Match(s, None) for s in left_s]
    return Pairing(tuple(done + rest))


def matched_pairs(ev: Evidence) -> list[Match]:
    """GenAI spans paired with gateway journal entries (every means), and the unpaired ones."""
    return list(pair(ev).matches)


_Step = tuple[list[Match], list[SpanView], list[JournalEntry]]


def _by_response_id(spans: list[SpanView], entries: list[JournalEntry]) -> _Step:
    by_rid: dict[str, JournalEntry] = {}
    for e in entries:
        if e.response_id:
            by_rid.setdefault(e.response_id, e)
    found: list[Match] = []
    rest: list[SpanView] = []
    for s in spans:
        rid = s.value("gen_ai.response.id")
        e = by_rid.pop(rid, None) if isinstance(rid, str) else None
        if e is not None:
            found.append(Match(s, e, "response_id"))
        else:
            rest.append(s)
    used = {id(m.entry) for m in found}
    return found, rest, [e for e in entries if id(e) not in used]


def _by_request(spans: list[SpanView], entries: list[JournalEntry], ev: Evidence) -> _Step:
    """Tie both sides to client requests, then pair in time order within each request."""
    owner = {c.value: c.request_id for c in ev.canaries if c.request_id}
    clients = {r.correlation_id: r for r in ev.client if r.path == "gateway"}
    by_trace = {r.trace_id: r.correlation_id for r in clients.values() if r.trace_id}
    e_of: dict[str, list[JournalEntry]] = defaultdict(list)
    s_of: dict[str, list[tuple[SpanView, Means]]] = defaultdict(list)
    for e in entries:
        rid = _entry_request(e, clients, by_trace, owner)
        if rid is not None:
            e_of[rid].append(e)
    for s in spans:
        tied = _span_request(s, by_trace, owner)
        if tied is not None:
            s_of[tied[0]].append((s, tied[1]))
    found: list[Match] = []
    for rid, mine in s_of.items():
        ordered = sorted(mine, key=lambda p: p[0].start_ns)
        for (s, means), e in zip(ordered, sorted(e_of.get(rid, ()), key=lambda x: x.time_ns)):
            found.append(Match(s, e, means))
    used_s = {id(m.span) for m in found}
    used_e = {id(m.entry) for m in found}
    return found, [s for s in spans if id(s) not in used_s], [e for e in entries if id(e) not in used_e]


def _entry_request(e: JournalEntry, clients: Mapping[str, ClientRecord], by_trace: Mapping[str, str],
                   owner: Mapping[str, str | None]) -> str | None:
    if e.correlation_id in clients:
        return e.correlation_id
    tid = entry_trace_id(e)
    if tid is not None and tid in by_trace:
        return by_trace[tid]
    return _owner_of(_canaries_in(_text(e.body)), owner)


def _span_request(s: SpanView, by_trace: Mapping[str, str], owner: Mapping[str, str | None]) -> tuple[str, Means] | None:
    if s.trace_id in by_trace:
        return by_trace[s.trace_id], "trace_id"
    rid = _owner_of(_canaries_in(*_span_strings(s)), owner)
    return (rid, "canary") if rid is not None else None


def _owner_of(canaries: Iterable[str], owner: Mapping[str, str | None]) -> str | None:
    """The one client request that owns the canaries found, or None when none or several do."""
    owners = {owner[c] for c in canaries if owner.get(c)}
    return next(iter(owners)) if len(owners) == 1 else None


def _canaries_in(*texts: str) -> set[str]:
    return {m.group(0) for t in texts for m in _CANARY.finditer(t)}


def _text(body: Any) -> str:
    if isinstance(body, str):
        return body
    try:
        return json.dumps(body, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(body)


def _span_strings(s: SpanView) -> Iterator[str]:
    for attrs in (s.attributes, *(ev.attributes for ev in s.events)):
        for tv in attrs.values():
            yield from _strings(tv)


def _strings(tv: TypedValue) -> Iterator[str]:
    if tv.type == "string":
        yield tv.value
    elif tv.type == "array":
        for v in tv.value:
            yield from _strings(v)
    elif tv.type == "kvlist":
        for _, v in tv.value:
            yield from _strings(v)


def _by_model_time(spans: list[SpanView], entries: list[JournalEntry]) -> _Step:
    """Weak: same model, the entry's arrival within the span's window; nearest start wins. Entries
    are searched by time (bisect), so a large unpaired remainder stays cheap."""
    free = sorted(entries, key=lambda e: e.time_ns)
    times = [e.time_ns for e in free]
    used: set[int] = set()
    found: list[Match] = []
    rest: list[SpanView] = []
    for s in sorted(spans, key=lambda x: x.start_ns):
        models = {v for v in (s.value("gen_ai.request.model"), s.value("gen_ai.response.model")) if isinstance(v, str)}
        lo = bisect_left(times, s.start_ns - WINDOW_SLACK_NS)
        hi = bisect_right(times, s.end_ns + WINDOW_SLACK_NS)
        cands = [i for i in range(lo, hi) if i not in used
                 and (not models or free[i].model in models or free[i].response_model in models)]
        if not cands:
            rest.append(s)
            continue
        best = min(cands, key=lambda i: abs(times[i] - s.start_ns))
        used.add(best)
        found.append(Match(s, free[best], "model_time"))
    return found, rest, [e for i, e in enumerate(free) if i not in used]
