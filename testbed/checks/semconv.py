"""Semantic-convention check: names, kinds, status, requirement levels, types, deprecated and
non-standard names of GenAI spans, driven by a convention's rules file (SPEC 2.1-2.3, 2.6, 2.7, 2.8).

SEM-01..07, SEM-12, SEM-13, SEM-23, SEM-24. Values that need the provider journal (SEM-09..11,
GW-04) live in ``semconv_values``; streaming rules (SEM-14..18) in ``streaming``. Spans are selected
by the convention's marker set (any ``gen_ai.*`` attribute for ``genai-1.41`` and ``legacy``), never by
one required attribute alone, so a span that lost ``gen_ai.operation.name`` is judged, not skipped.
A GenAI span is paired with the journal entry it caused (``correlate.pair``), so conditional
requirements are judged on what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from testbed.checks.correlate import KIND_CLIENT, KIND_INTERNAL, pair
from testbed.checks.evidence import Evidence, JournalEntry, SpanView, TypedValue
from testbed.checks.result import CheckResult, FindingSink, Severity, conclude
from testbed.checks.rules import AttributeRule, Convention, load_convention

NAME = "semconv"
SPEC_IDS = ("SEM-01", "SEM-02", "SEM-03", "SEM-04", "SEM-05", "SEM-06", "SEM-07",
            "SEM-12", "SEM-13", "SEM-23", "SEM-24")
# Presence of these is judged by the value and streaming checks, which see the journal's values.
_OWNED_ELSEWHERE = frozenset(("stream", "journal_response", "journal_finish", "journal_usage", "error"))


class SemconvCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        convention = load_convention(evidence.settings.convention)
        sink = FindingSink(NAME, convention.name, evidence.settings.name)
        selected = [s for s in evidence.spans if convention.selects(s.attributes)]
        # Conditional requirements are judged on what was sent, so only on pairs that are certain.
        entries = {m.span.span_id: m.entry for m in pair(evidence).pairs if m.span is not None and not m.weak}
        for span in selected:
            check_span(span, entries.get(span.span_id), convention, sink)
        reason = "" if selected else "no span of the convention reached the ingest"
        return conclude(NAME, SPEC_IDS, sink.findings, judged={"spans": len(selected)}, inconclusive=reason,
                        details={"spans_checked": len(selected)})


def check_span(span: SpanView, entry: JournalEntry | None, convention: Convention, sink: FindingSink) -> None:
    attrs = effective_attributes(span, convention, sink)
    check_names(span, convention, sink)
    for name, rule in convention.attributes.items():
        tv = attrs.get(name)
        if tv is None:
            _presence(span, entry, name, rule, attrs, sink)
        else:
            _type(span, name, rule.type, tv, rule.rule if rule.rule == "SEM-24" else "SEM-12", sink)
    if convention.is_genai:
        _genai_shape(span, entry, attrs, convention, sink)
    elif convention.span_kinds:
        kind = attrs.get("openinference.span.kind")
        if kind is not None and kind.plain() not in convention.span_kinds:
            sink.add("SEM-03", "violation", "value", "openinference.span.kind is not a known kind",
                     trace_id=span.trace_id, span_id=span.span_id, attribute="openinference.span.kind",
                     expected=list(convention.span_kinds), actual=kind.plain())


def effective_attributes(span: SpanView, convention: Convention, sink: FindingSink) -> dict[str, TypedValue]:
    """Attributes with deprecated names reported (SEM-23) and, under ``legacy``, standing in for
    their replacement (old values mapped to new ones)."""
    attrs = dict(span.attributes)
    for name, dep in convention.deprecated.items():
        tv = span.attributes.get(name)
        if tv is None:
            continue
        sink.add("SEM-23", "warning", "deprecated",
                 f"deprecated attribute {name}" + (f"; use {dep.replacement}" if dep.replacement else ""),
                 trace_id=span.trace_id, span_id=span.span_id, attribute=name, expected=dep.replacement)
        if convention.deprecated_satisfies and dep.replacement and dep.replacement not in attrs:
            mapped = dep.values.get(tv.plain(), tv.plain()) if tv.type == "string" else tv.value
            attrs[dep.replacement] = TypedValue(tv.type, mapped)
    return attrs


def check_names(span: SpanView, convention: Convention, sink: FindingSink) -> None:
    """SEM-13: gen_ai.* names outside the registry and never-standard names are info; a
    never-standard name whose value has the wrong type is judged by SEM-12."""
    for name, tv in span.attributes.items():
        if convention.known(name):
            continue
        ns = convention.non_standard_rule(name)
        if ns is not None:
            sink.add("SEM-13", "info", "non_standard", f"{name} is not part of the conventions",
                     trace_id=span.trace_id, span_id=span.span_id, attribute=name)
            if ns.type:
                _type(span, name, ns.type, tv, "SEM-12", sink)
        elif name.startswith("gen_ai."):
            sink.add("SEM-13", "info", "non_standard", f"{name} is not in the v1.41.0 registry",
                     trace_id=span.trace_id, span_id=span.span_id, attribute=name)


def type_problem(expected: str, tv: TypedValue) -> tuple[Severity, str] | None:
    """SEM-12: None when ``tv`` has the declared type, else (severity, why)."""
    if expected == "any" or tv.type == expected:
        return None
    if expected == "double" and tv.type == "int":
        return "info", "a double encoded as intValue"
    if expected == "int" and tv.type == "double":
        return "warning", "an int encoded as doubleValue"
    if expected == "string[]" and tv.type == "array":
        if all(v.type == "string" for v in tv.value):
            return None
        return "violation", "an array whose items are not all strings"
    return "violation", f"a {tv.type} where a {expected} belongs"


def _type(span: SpanView, name: str, expected: str, tv: TypedValue, spec_id: str, sink: FindingSink) -> None:
    problem = type_problem(expected, tv)
    if problem:
        sev, why = problem
        sink.add(spec_id, sev, "type", f"{name}: {why}", trace_id=span.trace_id, span_id=span.span_id,
                 attribute=name, expected=expected, actual=tv.type)


def _presence(span: SpanView, entry: JournalEntry | None, name: str, rule: AttributeRule,
              attrs: Mapping[str, TypedValue], sink: FindingSink) -> None:
    if rule.level == "opt_in" or rule.condition in _OWNED_ELSEWHERE:
        return
    op = attrs.get("gen_ai.operation.name")
    if op is not None and op.plain() in rule.operations_except:
        return
    if not condition_due(rule.condition, span, entry, attrs):
        return
    sev: Severity = "warning" if rule.level == "recommended" else "violation"
    sink.add(rule.rule, sev, "missing", f"{rule.level.replace('_', ' ')} attribute {name} is missing",
             trace_id=span.trace_id, span_id=span.span_id, attribute=name)


def _body(entry: JournalEntry | None) -> Mapping[str, Any]:
    return entry.body if entry is not None and isinstance(entry.body, Mapping) else {}


def condition_due(cond: str, span: SpanView, entry: JournalEntry | None, attrs: Mapping[str, TypedValue]) -> bool:
    """Whether a conditional attribute is due, judged on what the journal says was sent."""
    body = _body(entry)
    gen = body.get("generationConfig") if isinstance(body.get("generationConfig"), Mapping) else {}
    op = attrs.get("gen_ai.operation.name")
    if cond == "available":
        return True
    if cond == "journal_model":
        return entry is None or bool(entry.model)
    if cond == "server_address":
        return "server.address" in attrs
    if cond == "n_not_1":
        n = body.get("n", gen.get("candidateCount", 1))
        return isinstance(n, int) and n != 1
    if cond == "seed":
        return "seed" in body
    if cond == "output_format":
        fmt = body.get("response_format")
        return (isinstance(fmt, Mapping) and fmt.get("type") not in (None, "text")) or \
            "responseMimeType" in gen
    if cond == "param_max_tokens":
        return any(k in body for k in ("max_tokens", "max_completion_tokens")) or "maxOutputTokens" in gen
    if cond == "param_temperature":
        return "temperature" in body or "temperature" in gen
    if cond == "param_top_p":
        return "top_p" in body or "topP" in gen
    if cond == "embeddings":
        return op is not None and op.plain() == "embeddings"
    return False  # "never", and the conditions other checks own; rules.CONDITIONS refuses the rest


def _genai_shape(span: SpanView, entry: JournalEntry | None, attrs: Mapping[str, TypedValue],
                 convention: Convention, sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    op = _str(attrs.get("gen_ai.operation.name"))
    model = _str(attrs.get("gen_ai.request.model"))
    if op is not None:
        expected = f"{op} {model}" if model else op
        if span.name != expected:
            sink.add("SEM-01", "warning", "value", "span name is not '{operation} {model}'",
                     expected=expected, actual=span.name, **ids)
    _kind(span, attrs, sink)
    _operation_and_provider(span, entry, op, _str(attrs.get("gen_ai.provider.name")), convention, sink)
    _status(span, entry, attrs, sink)
    if op == "embeddings" and "gen_ai.usage.output_tokens" in attrs:
        sink.add("SEM-24", "warning", "value", "an embeddings span has output tokens",
                 attribute="gen_ai.usage.output_tokens", **ids)


def _str(tv: TypedValue | None) -> str | None:
    return tv.value if tv is not None and tv.type == "string" else None


def _kind(span: SpanView, attrs: Mapping[str, TypedValue], sink: FindingSink) -> None:
    remote = "server.address" in attrs
    if span.kind == KIND_CLIENT or (span.kind == KIND_INTERNAL and not remote):
        return
    sink.add("SEM-02", "warning", "value",
             "a call to a remote provider must be a CLIENT span" if remote else "GenAI span kind is not CLIENT",
             trace_id=span.trace_id, span_id=span.span_id, expected=KIND_CLIENT, actual=span.kind)


def _operation_and_provider(span: SpanView, entry: JournalEntry | None, op: str | None,
                            provider: str | None, convention: Convention, sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    exp = convention.expected.get(entry.provider) if entry is not None else None
    ops = next((v for k, v in exp.operations.items() if entry and k in entry.path), None) if exp else None
    if op is not None and ops and op not in ops:
        sink.add("SEM-03", "violation", "value", "gen_ai.operation.name is not the well-known value",
                 attribute="gen_ai.operation.name", expected=list(ops), actual=op, **ids)
    elif op is not None and op not in convention.operations:
        sink.add("SEM-03", "info", "non_standard", f"custom operation name {op!r}",
                 attribute="gen_ai.operation.name", actual=op, **ids)
    want = exp.provider if exp else None
    if provider is not None and want and provider != want:
        sink.add("SEM-04", "violation", "value", "gen_ai.provider.name does not name the provider called",
                 attribute="gen_ai.provider.name", expected=want, actual=provider, **ids)
    elif provider is not None and provider not in convention.providers:
        sink.add("SEM-04", "info", "non_standard", f"custom provider name {provider!r}",
                 attribute="gen_ai.provider.name", actual=provider, **ids)


def _status(span: SpanView, entry: JournalEntry | None, attrs: Mapping[str, TypedValue], sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    if entry is not None:
        failed = entry.status >= 400 or entry.error_type is not None or entry.mid_stream_error
    else:
        failed = span.status_code == 2 or "error.type" in attrs
    err = attrs.get("error.type")
    if not failed:
        if span.status_code == 1:
            sink.add("SEM-05", "warning", "value", "status OK set on a successful call", **ids)
        if span.status_code == 2:
            sink.add("SEM-05", "violation", "value", "status ERROR on a call the provider answered successfully", **ids)
        if err is not None:
            sink.add("SEM-05", "warning", "value", "error.type on a successful span", attribute="error.type",
                     actual=err.plain(), **ids)
        return
    if err is None:
        sink.add("SEM-06", "violation", "missing", "a failed call has no error.type", attribute="error.type", **ids)
    if span.status_code != 2:
        sink.add("SEM-06", "warning", "value", "a failed call does not have status ERROR",
                 expected=2, actual=span.status_code, **ids)
    elif not span.status_message:
        sink.add("SEM-06", "info", "missing", "status ERROR without a description", **ids)
    value = err.plain() if err is not None else None
    if isinstance(value, str) and (len(value) > 64 or any(c.isspace() for c in value)):
        sink.add("SEM-07", "warning", "value", "error.type looks like a message, not a low-cardinality type",
                 attribute="error.type", actual=value[:80], **ids)
