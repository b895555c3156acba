"""RED-02 without pairing: with Exclude Request Data on, every GenAI span of a successful call still
carries the kept fields (operation, provider, model, token usage, finish reasons), and, where the
client's answer can be tied to the span, their values agree with what the client was told.

Pairing through the provider journal needs an outbound ``traceparent``, which a third-party
gateway may not send; a span stripped of its metadata must still be caught, so presence is judged
on every GenAI span (selected by any ``gen_ai.*`` attribute, never by the one it may have lost).
Agreement ties a span to the client record whose trace id it carries, when that trace holds
exactly one successful GenAI span, or else through the span's upstream request (a certain
pairing) and that request's tie to the client (header, trace id or the request's canaries).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from testbed.checks.correlate import entries_by_request, gateway_entries, matched_pairs
from testbed.checks.evidence import ClientRecord, Evidence, SpanView
from testbed.checks.result import FindingSink
from testbed.checks.semconv_values import NORMALIZED, normalize_finish

KEPT = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons")
_NOT_FOR_EMBEDDINGS = frozenset(("gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons"))


def is_genai(span: SpanView) -> bool:
    return any(name.startswith("gen_ai.") for name in span.attributes)


def succeeded(span: SpanView) -> bool:
    return span.status_code != 2 and "error.type" not in span.attributes


def check_kept_fields(spans: Iterable[SpanView], client: Sequence[ClientRecord], sink: FindingSink,
                      tied: Mapping[str, ClientRecord] | None = None) -> dict[str, int]:
    """Judge every successful GenAI span; returns the judged counts (spans, client answers).
    ``tied`` maps span ids to the client record they answered when no trace id ties them."""
    judged = [s for s in spans if s.kind != 2 and is_genai(s) and succeeded(s)]
    for s in judged:
        embeddings = s.value("gen_ai.operation.name") == "embeddings"
        for name in KEPT:
            if name not in s.attributes and not (embeddings and name in _NOT_FOR_EMBEDDINGS):
                sink.add("RED-02", "violation", "missing", f"kept field {name} removed by redaction",
                         trace_id=s.trace_id, span_id=s.span_id, attribute=name)
    by_trace: dict[str, list[SpanView]] = defaultdict(list)
    for s in judged:
        by_trace[s.trace_id].append(s)
    answers = dict(tied or {})
    for r in client:
        mine = by_trace.get(r.trace_id or "", [])
        if r.path == "gateway" and r.ok and len(mine) == 1:
            answers[mine[0].span_id] = r
    compared = 0
    for s in judged:
        r = answers.get(s.span_id)
        if r is not None and r.ok:
            compared += 1
            _agrees(s, r, sink)
    return {"spans": len(judged), "answers": compared}


def tie_spans_to_answers(ev: Evidence) -> dict[str, ClientRecord]:
    """Span id -> the client request it answered, through the span's upstream request: a
    certain pairing (never the weak model-and-time one) and the upstream request's tie to its
    client request (correlation header, trace id or the request's canaries in the body). Only
    the request's last successful upstream request answered it."""
    clients = {r.correlation_id: r for r in ev.client if r.path == "gateway"}
    owner: dict[int, ClientRecord] = {}
    for rid, entries in entries_by_request(ev, gateway_entries(ev)).items():
        ok = [e for e in entries if e.status < 400 and not e.mid_stream_error and e.error_type is None]
        if ok and rid in clients:
            owner[id(max(ok, key=lambda e: e.time_ns))] = clients[rid]
    return {m.span.span_id: owner[id(m.entry)] for m in matched_pairs(ev)
            if m.span is not None and m.entry is not None and not m.weak and id(m.entry) in owner}


def _agrees(span: SpanView, r: ClientRecord, sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id, "request": r.correlation_id}
    out = span.value("gen_ai.usage.output_tokens")
    if r.completion_tokens is not None and out is not None and out != r.completion_tokens:
        sink.add("RED-02", "violation", "value", "gen_ai.usage.output_tokens disagrees with the client's usage",
                 attribute="gen_ai.usage.output_tokens", expected=r.completion_tokens, actual=out, **ids)
    got = span.value("gen_ai.response.finish_reasons")
    if r.finish_reasons and isinstance(got, list):
        told = sorted(normalize_finish("openai", f) for f in r.finish_reasons)
        meaning = sorted(_meaning(str(v)) for v in got)
        if meaning != told:
            sink.add("RED-02", "violation", "value", "finish reasons disagree with what the client was told",
                     attribute="gen_ai.response.finish_reasons", expected=told, actual=list(got), **ids)


def _meaning(raw: str) -> str:
    """A span's finish reason (raw from any provider, or normalized) as its SEM-21 meaning."""
    table = next((t for t in NORMALIZED.values() if raw in t), {})
    return table.get(raw, raw)
