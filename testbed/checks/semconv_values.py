"""Value check: GenAI attributes against what the fake provider observably did (SEM-09, SEM-10,
SEM-11, SEM-21) and the one-span-per-upstream-request rule (GW-04).

Each GenAI CLIENT span is paired with the journal entry whose outbound ``traceparent`` parent-id
is the span's id. An entry without a span is a hidden attempt or a lost span; a span without an
entry is a phantom. Both are violations. When no upstream request carried a ``traceparent`` the
pairing is impossible and GW-04 is inconclusive (PROP-03 reports the missing header).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from testbed.checks.correlate import entry_parent_id, entry_trace_id, gateway_entries, genai_client_spans, match_client_spans
from testbed.checks.evidence import Evidence, JournalEntry, SpanView, TypedValue
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.rules import load_profile
from testbed.checks.semconv import effective_attributes

NAME = "semconv-values"
SPEC_IDS = ("SEM-09", "SEM-10", "SEM-11", "SEM-21", "GW-04")

# SEM-21: provider finish reason -> normalized value.
NORMALIZED: dict[str, dict[str, str]] = {
    "openai": {"stop": "stop", "length": "length", "tool_calls": "tool_call", "function_call": "tool_call",
               "content_filter": "content_filter"},
    "anthropic": {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
                  "model_context_window_exceeded": "length", "tool_use": "tool_call", "refusal": "content_filter"},
    "gemini": {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
               "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter"},
}


def normalize_finish(provider: str, raw: str) -> str:
    table = NORMALIZED.get(provider, {})
    return table.get(raw, "error" if provider == "gemini" else raw)


def _num(d: Mapping[str, Any], *path: str) -> int | None:
    cur: Any = d
    for p in path:
        if not isinstance(cur, Mapping) or p not in cur:
            return None
        cur = cur[p]
    return cur if isinstance(cur, int) and not isinstance(cur, bool) else None


def expected_usage(provider: str, usage: Mapping[str, Any]) -> dict[str, int]:
    """SEM-09: the GenAI usage attributes implied by the provider's own usage object."""
    out: dict[str, int | None]
    if provider == "anthropic":
        parts = [_num(usage, k) for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")]
        out = {"input_tokens": sum(p or 0 for p in parts) if parts[0] is not None else None,
               "output_tokens": _num(usage, "output_tokens"),
               "cache_read.input_tokens": parts[1], "cache_creation.input_tokens": parts[2]}
    elif provider == "gemini":
        cand, thoughts = _num(usage, "candidatesTokenCount"), _num(usage, "thoughtsTokenCount")
        out = {"input_tokens": _num(usage, "promptTokenCount"),
               "output_tokens": None if cand is None else cand + (thoughts or 0),
               "cache_read.input_tokens": _num(usage, "cachedContentTokenCount"),
               "reasoning.output_tokens": thoughts}
    else:
        out = {"input_tokens": _num(usage, "prompt_tokens"), "output_tokens": _num(usage, "completion_tokens"),
               "cache_read.input_tokens": _num(usage, "prompt_tokens_details", "cached_tokens"),
               "reasoning.output_tokens": _num(usage, "completion_tokens_details", "reasoning_tokens")}
    return {f"gen_ai.usage.{k}": v for k, v in out.items() if v is not None}


class ValuesCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        profile = load_profile(evidence.settings.profile)
        sink = FindingSink(NAME, profile.name, evidence.settings.name)
        if not profile.is_genai:
            return conclude(NAME, SPEC_IDS, [], inconclusive=f"profile {profile.name} has no GenAI value rules")
        entries = gateway_entries(evidence)
        spans = genai_client_spans(evidence.spans)
        traced = [e for e in entries if entry_parent_id(e) is not None]
        reason = ""
        if not entries:
            reason = "the provider journal holds no upstream request from the gateway"
        elif not traced:
            reason = "no upstream request carried a traceparent, so spans cannot be paired (GW-04)"
        scratch = FindingSink(NAME)
        for m in match_client_spans(spans, traced):
            if m.span is not None and m.entry is not None:
                attrs = effective_attributes(m.span, profile, scratch)
                check_values(m.span, m.entry, attrs, sink)
            elif m.entry is not None:
                sink.add("GW-04", "violation", "loss", "an upstream request has no CLIENT span (hidden attempt or lost span)",
                         trace_id=entry_trace_id(m.entry), expected=f"span {entry_parent_id(m.entry)}")
            elif m.span is not None and traced:
                sink.add("GW-04", "violation", "value", "a CLIENT span matches no upstream request (phantom)",
                         trace_id=m.span.trace_id, span_id=m.span.span_id)
        return conclude(NAME, SPEC_IDS, sink.findings, inconclusive=reason,
                        details={"upstream_requests": len(entries), "client_spans": len(spans)})


def check_values(span: SpanView, entry: JournalEntry, attrs: Mapping[str, TypedValue], sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    _identity(attrs, entry, sink, ids)
    if entry.status < 400 or entry.mid_stream_error:
        _usage(attrs, entry, sink, ids)
    if entry.finish_reasons and attrs.get("gen_ai.operation.name", TypedValue("string", "")).plain() != "embeddings":
        _finish(attrs, entry, sink, ids)


def _identity(attrs: Mapping[str, TypedValue], entry: JournalEntry, sink: FindingSink, ids: dict[str, str]) -> None:
    pairs = (("gen_ai.request.model", entry.model), ("gen_ai.response.model", entry.response_model),
             ("gen_ai.response.id", entry.response_id))
    for name, want in pairs:
        if want is None:
            continue
        tv = attrs.get(name)
        if tv is None:
            if name != "gen_ai.request.model":
                sink.add("SEM-11", "warning", "missing", f"{name} is missing", attribute=name, expected=want, **ids)
        elif tv.plain() != want:
            sink.add("SEM-11", "violation", "value", f"{name} is not the provider's value",
                     attribute=name, expected=want, actual=tv.plain(), **ids)


def _usage(attrs: Mapping[str, TypedValue], entry: JournalEntry, sink: FindingSink, ids: dict[str, str]) -> None:
    for name, want in expected_usage(entry.provider, entry.usage).items():
        tv = attrs.get(name)
        if tv is None:
            if want or name in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
                sink.add("SEM-09", "warning", "missing", f"{name} is missing", attribute=name, expected=want, **ids)
        elif tv.plain() != want:
            sink.add("SEM-09", "violation", "value", f"{name} differs from the provider's usage",
                     attribute=name, expected=want, actual=tv.plain(), **ids)


def _finish(attrs: Mapping[str, TypedValue], entry: JournalEntry, sink: FindingSink, ids: dict[str, str]) -> None:
    name = "gen_ai.response.finish_reasons"
    tv = attrs.get(name)
    if tv is None:
        sink.add("SEM-10", "warning", "missing", f"{name} is missing", attribute=name,
                 expected=list(entry.finish_reasons), **ids)
        return
    actual = tv.plain()
    if not isinstance(actual, list):
        return  # a wrong type is SEM-12's finding
    allowed = set(entry.finish_reasons) | {normalize_finish(entry.provider, r) for r in entry.finish_reasons}
    if len(actual) != len(entry.finish_reasons):
        sink.add("SEM-10", "warning", "value", "finish_reasons does not have one entry per choice",
                 attribute=name, expected=list(entry.finish_reasons), actual=actual, **ids)
    wrong = [v for v in actual if v not in allowed]
    if wrong:
        sink.add("SEM-10", "violation", "value", "finish reason is neither the provider's nor its normalization",
                 attribute=name, expected=sorted(allowed), actual=wrong, **ids)
