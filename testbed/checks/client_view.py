"""Client-visible truth (SPEC 9.5, FRONT-01..03): what the client received against what the provider
sent, after the gateway's translation to the OpenAI format, and against the span.

A span can be right while the answer is wrong (a stream's ``max_tokens`` told to the client as
``stop``), and no span rule looks at the answer, so this check does. Each answered gateway request
is tied to its upstream requests (correlation header, else trace id, else a planted canary in the
body); the last successful one answered it. Judged: answers compared. The rules:

- FRONT-01  finish reasons: the client's equal the provider's translated per SPEC 9.5, and the
            span's (raw or normalized, SEM-21) mean the same as the client's;
- FRONT-02  usage: ``completion_tokens`` and ``prompt_tokens`` as SPEC 9.5 derives them;
- FRONT-03  a streamed request is answered as a stream and a plain one as one JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from testbed.checks.correlate import entries_by_request, gateway_entries, matched_pairs
from testbed.checks.evidence import ClientRecord, Evidence, JournalEntry, SpanView
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.semconv_values import expected_usage, normalize_finish

NAME = "client-view"
SPEC_IDS = ("FRONT-01", "FRONT-02", "FRONT-03")
# SPEC 9.5: the finish reason the OpenAI-format front shows for each provider's raw value.
FRONT_FINISH: Final[dict[str, dict[str, str]]] = {
    "anthropic": {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
                  "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"},
    "gemini": {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
               "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter"},
}


def front_finish(provider: str, raw: str) -> str:
    return FRONT_FINISH.get(provider, {}).get(raw, raw)


def front_usage(provider: str, usage: Mapping[str, Any]) -> dict[str, int]:
    """SPEC 9.5: the OpenAI usage the client should see for the provider's usage object."""
    genai = expected_usage(provider, usage)
    out = {}
    if "gen_ai.usage.input_tokens" in genai:
        out["prompt_tokens"] = genai["gen_ai.usage.input_tokens"]
    if "gen_ai.usage.output_tokens" in genai:
        out["completion_tokens"] = genai["gen_ai.usage.output_tokens"]
    return out


class ClientViewCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        entries = gateway_entries(evidence)
        span_of = {id(m.entry): m.span for m in matched_pairs(evidence) if m.entry is not None}
        answered = [r for r in evidence.client if r.path == "gateway" and r.ok]
        by_request = entries_by_request(evidence, entries)
        judged = 0
        for r in answered:
            entry = answering_entry(by_request.get(r.correlation_id, []))
            if entry is None or r.streamed is None:
                continue
            judged += 1
            check_answer(r, entry, span_of.get(id(entry)), sink)
        reason = ""
        if answered and not judged:
            reason = "no answered request could be tied to the upstream request that answered it"
        elif not answered:
            reason = "no gateway request was answered"
        return conclude(NAME, SPEC_IDS, sink.findings, judged={"answers": judged}, inconclusive=reason,
                        details={"answers": judged, "answered": len(answered)})


def answering_entry(entries: Sequence[JournalEntry]) -> JournalEntry | None:
    ok = [e for e in entries if e.status < 400 and not e.mid_stream_error and e.error_type is None]
    return max(ok, key=lambda e: e.time_ns) if ok else None


def check_answer(r: ClientRecord, e: JournalEntry, span: SpanView | None, sink: FindingSink) -> None:
    ev = {"request": r.correlation_id}
    if r.streamed != r.stream:
        sink.add("FRONT-03", "violation", "value", "the answer's form is not the one asked for",
                 expected="stream" if r.stream else "one JSON body", actual="stream" if r.streamed else "JSON", **ev)
    want = [front_finish(e.provider, f) for f in e.finish_reasons]
    if want and list(r.finish_reasons) != want:
        sink.add("FRONT-01", "violation", "value", "the client's finish reason is not the provider's, translated",
                 expected=want, actual=list(r.finish_reasons), provider_sent=list(e.finish_reasons), **ev)
    _usage(r, front_usage(e.provider, e.usage), sink, ev)
    if span is not None:
        _span_agrees(r, e, span, sink, ev)


def _usage(r: ClientRecord, want: Mapping[str, int], sink: FindingSink, ev: dict[str, Any]) -> None:
    for name, got in (("prompt_tokens", r.prompt_tokens), ("completion_tokens", r.completion_tokens)):
        if name not in want:
            continue
        if got is None:
            sink.add("FRONT-02", "warning", "missing", f"the client received no {name}", expected=want[name], **ev)
        elif got != want[name]:
            sink.add("FRONT-02", "violation", "value", f"the client's {name} is not the provider's usage",
                     expected=want[name], actual=got, **ev)


def _span_agrees(r: ClientRecord, e: JournalEntry, span: SpanView, sink: FindingSink, ev: dict[str, Any]) -> None:
    got = span.value("gen_ai.response.finish_reasons")
    if not isinstance(got, list) or not r.finish_reasons:
        return  # absence and type are the span checks' findings
    meaning = sorted(normalize_finish(e.provider, str(v)) if str(v) in e.finish_reasons else str(v) for v in got)
    told = sorted(normalize_finish("openai", f) for f in r.finish_reasons)
    if meaning != told:
        sink.add("FRONT-01", "violation", "value", "the span and the client disagree on why the answer ended",
                 trace_id=span.trace_id, span_id=span.span_id, attribute="gen_ai.response.finish_reasons",
                 expected=told, actual=meaning, **ev)
