"""Value check: GenAI attributes against what the fake provider observably did (SEM-09, SEM-10,
SEM-11, SEM-21) and the one-span-per-upstream-request rule (GW-04).

Each GenAI span is paired with the upstream request it describes by every honest means
(``correlate.pair``: outbound parent-id, provider response id, client trace id or canary, and as a
weak last resort model plus time window). Values are judged on every pair; on a weak pair a
value violation is reported as a warning, since the pair itself may be wrong. Once any pair is
made, an entry left without a span is a hidden attempt or a lost span and a span left without an
entry is a phantom (GW-04 violations). When nothing can be paired the check is inconclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from testbed.checks.correlate import Match, entry_parent_id, entry_trace_id, pair
from testbed.checks.evidence import Evidence, JournalEntry, SpanView, TypedValue
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.rules import load_convention
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
        convention = load_convention(evidence.settings.convention)
        sink = FindingSink(NAME, convention.name, evidence.settings.name)
        if not convention.is_genai:
            return conclude(NAME, SPEC_IDS, [], judged={}, inconclusive=f"convention {convention.name} has no GenAI value rules")
        pairing = pair(evidence)
        pairs = pairing.pairs
        summary = pairing.summary()
        reason = ""
        if not summary["upstream_requests"]:
            reason = "the provider journal holds no upstream request from the gateway"
        elif not summary["spans"]:
            reason = "no GenAI span reached the ingest, so no value can be judged"
        elif not pairs:
            reason = "no span could be paired with an upstream request by any means (GW-04)"
        for m in pairing.matches:
            _judge(m, convention, sink, bool(pairs))
        return conclude(NAME, SPEC_IDS, sink.findings, inconclusive=reason, judged={"spans": len(pairs)},
                        details={"pairing": summary})


def _judge(m: Match, convention: Any, sink: FindingSink, paired_any: bool) -> None:
    """Values on a pair (downgraded on a weak one); GW-04 on a side left alone."""
    if m.span is not None and m.entry is not None:
        local = FindingSink(sink.check, sink.convention, sink.scenario)
        check_values(m.span, m.entry, effective_attributes(m.span, convention, FindingSink(NAME)), local)
        for f in local.findings:
            if m.weak:
                f = replace(f, severity="warning" if f.severity == "violation" else f.severity,
                            evidence={**f.evidence, "pairing": m.means})
            sink.findings.append(f)
    elif not paired_any:
        return
    elif m.entry is not None:
        sink.add("GW-04", "violation", "loss", "an upstream request has no GenAI span (hidden attempt or lost span)",
                 trace_id=entry_trace_id(m.entry), expected=f"span {entry_parent_id(m.entry) or 'for ' + str(m.entry.model)}")
    elif m.span is not None:
        sink.add("GW-04", "violation", "value", "a GenAI span matches no upstream request (phantom)",
                 trace_id=m.span.trace_id, span_id=m.span.span_id)


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
