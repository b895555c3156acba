"""Exclude Request Data (SPEC 4): RED-01..RED-09 from canary hits, planted canaries and spans.

Hits come from the runner (ingest raw-bytes search, bus messages, logs); the check also scans the
stored spans' string values itself, so a leak is caught even when only spans are available. With
the switch ON, a content canary at the bus or the ingest is a violation, classified by path:
stream output (RED-03), error carriers (RED-04), retry attempts (RED-05), the bus (RED-06), else
RED-01. Content attribute names are violations under ON even without a canary. KEY canaries and
auth headers are violations whatever the switch (RED-08). With the switch OFF and capture on,
the positive control (RED-07) requires USR and OUT canaries in the content attributes; if they
are missing the check is inconclusive, because a clean ON run would prove nothing. RED-02 (kept
fields) is judged on every GenAI span, paired or not (``kept``). Judged: spans, canaries, kept
spans and client answers compared; no span at the ingest is inconclusive (RUN-03).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator

from testbed.checks.evidence import CONTENT_SLOTS, Canary, CanaryHit, Evidence, SpanView, TypedValue
from testbed.checks.kept import check_kept_fields, tie_spans_to_answers
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.rules import Convention, load_convention

NAME = "redaction"
SPEC_IDS = ("RED-01", "RED-02", "RED-03", "RED-04", "RED-05", "RED-06", "RED-07", "RED-08", "RED-09")
SECRET_HEADERS = ("authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie")
ERROR_CARRIERS = ("status", "exception.message", "exception.stacktrace", "error_message", "error.message")
_KEY_PARAM = re.compile(r"(?:^|[?&])key=([^&]*)")


def span_strings(span: SpanView) -> Iterator[tuple[str, str]]:
    """(location, text) for every string a span carries, nested values included."""
    yield "status", span.status_message
    for k, v in span.attributes.items():
        yield from _strings(f"attr:{k}", v)
    for e in span.events:
        for k, v in e.attributes.items():
            yield from _strings(f"event:{e.name}:{k}", v)
    for k, v in span.resource.items():
        yield from _strings(f"resource:{k}", v)


def _strings(loc: str, tv: TypedValue) -> Iterator[tuple[str, str]]:
    if tv.type == "string":
        yield loc, tv.value
    elif tv.type == "array":
        for v in tv.value:
            yield from _strings(loc, v)
    elif tv.type == "kvlist":
        for _, v in tv.value:
            yield from _strings(loc, v)


_CANARY_TOKEN = re.compile(r"CNRY-[A-Z]+-[0-9a-f]{20}")


def scan_spans(spans: Iterable[SpanView], canaries: Iterable[Canary]) -> list[CanaryHit]:
    """Every planted canary found in a span string (first offset per canary and string). Canaries of
    the standard form are found by one pattern scan per string and a lookup, so the cost grows with
    spans plus canaries, not their product; any other form is searched for directly."""
    tokens: dict[str, list[Canary]] = {}
    odd: list[Canary] = []
    for c in canaries:
        if c.value:
            (tokens.setdefault(c.value, []) if _CANARY_TOKEN.fullmatch(c.value) else odd).append(c)
    hits = []
    for s in spans:
        for loc, text in span_strings(s):
            found: dict[Canary, int] = {}
            for m in _CANARY_TOKEN.finditer(text):
                for c in tokens.get(m.group(0), ()):
                    found.setdefault(c, m.start())
            for c in odd:
                if (at := text.find(c.value)) >= 0:
                    found[c] = at
            hits += [CanaryHit(c.value, c.slot, "ingest", c.request_id, f"span:{s.span_id}:{loc}", at)
                     for c, at in found.items()]
    return hits


class RedactionCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        convention = load_convention(st.convention)
        sink = FindingSink(NAME, convention.name, st.name)
        hits = _dedupe([*evidence.hits, *scan_spans(evidence.spans, evidence.canaries)])
        streamed = {r.correlation_id for r in evidence.client if r.stream}
        retries = {s.span_id for s in evidence.spans if _is_retry(s)}
        for h in hits:
            classify(h, st.exclude_request_data, st.reference_gateway, streamed, retries, sink)
        check_secret_attributes(evidence.spans, st.ingest_api_keys, sink)
        judged = {"spans": len(evidence.spans), "canaries": len(evidence.canaries)}
        reason = ""
        if st.exclude_request_data:
            check_content_names(evidence.spans, convention, sink)
            kept = check_kept_fields(evidence.spans, evidence.client, sink, tie_spans_to_answers(evidence))
            judged.update(kept_spans=kept["spans"], client_answers=kept["answers"])
            if not evidence.canaries:
                reason = "no canary was planted, so absence proves nothing (RED-01)"
        elif st.capture_content:
            reason = positive_control(hits, convention)
        if not evidence.spans and not reason:
            # Canaries alone prove nothing: the spans they could have leaked into must exist.
            reason = "no span reached the ingest, so no leak could be looked for"
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, inconclusive=reason,
                        details={"hits": len(hits), **judged})


def _dedupe(hits: list[CanaryHit]) -> list[CanaryHit]:
    seen, out = set(), []
    for h in hits:
        key = (h.canary, h.where, h.location)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


def _is_retry(s: SpanView) -> bool:
    attempt, resend = s.value("gw.attempt"), s.value("http.request.resend_count")
    return (isinstance(attempt, int) and attempt > 0) or (isinstance(resend, int) and resend > 0)


def classify(h: CanaryHit, excluded: bool, reference: bool, streamed: set[str], retries: set[str],
             sink: FindingSink) -> None:
    ev = {"attribute": h.location, "actual": h.slot, "offset": h.offset, "request": h.request_id, "where": h.where}
    if h.where == "bus" and not reference:
        return  # bus evidence exists only for our stack (SPEC 1.1)
    if h.where == "log":
        sink.add("RED-01", "info", "leak", f"{h.slot} canary in a gateway log", **ev)
        return
    if h.slot == "KEY":
        sink.add("RED-08", "violation", "leak", f"an API key reached the {h.where}", **ev)
        return
    if h.slot == "HDR":
        sink.add("RED-09", "violation" if excluded else "info", "leak",
                 f"a custom request header reached the {h.where}", **ev)
        return
    if not excluded or h.slot not in CONTENT_SLOTS:
        return
    sid = "RED-01"
    span_id = h.location.split(":")[1] if h.location.startswith("span:") else None
    if h.where == "bus":
        sid = "RED-06"
    elif h.slot == "ERR" or any(c in h.location for c in ERROR_CARRIERS):
        sid = "RED-04"
    elif span_id in retries:
        sid = "RED-05"
    elif h.slot == "OUT" and h.request_id in streamed:
        sid = "RED-03"
    sink.add(sid, "violation", "leak", f"{h.slot} content canary at the {h.where} with Exclude Request Data on", **ev)


def check_secret_attributes(spans: Iterable[SpanView], ingest_keys: tuple[str, ...], sink: FindingSink) -> None:
    """RED-08: auth headers never recorded, ``key`` query parameters redacted, ingest key absent."""
    for s in spans:
        ids = {"trace_id": s.trace_id, "span_id": s.span_id}
        for name, tv in s.attributes.items():
            if any(name == f"http.request.header.{h}" for h in SECRET_HEADERS):
                sink.add("RED-08", "violation", "leak", f"{name} recorded", attribute=name, **ids)
            if name in ("url.query", "url.full") and tv.type == "string":
                m = _KEY_PARAM.search(tv.value.split("?", 1)[-1] if name == "url.full" else tv.value)
                if m and m.group(1) not in ("", "REDACTED"):
                    sink.add("RED-08", "violation", "leak", f"a key query parameter in {name}", attribute=name, **ids)
        for loc, text in span_strings(s):
            if any(k and k in text for k in ingest_keys):
                sink.add("RED-08", "violation", "leak", "the ingest API key appears in a span", attribute=loc, **ids)


def check_content_names(spans: Iterable[SpanView], convention: Convention, sink: FindingSink) -> None:
    """Content carriers must be absent under ON, canary or not (SPEC 4's removed list)."""
    for s in spans:
        for name in s.attributes:
            if convention.is_content(name):
                sink.add("RED-01", "violation", "leak", f"content attribute {name} present with Exclude Request Data on",
                         trace_id=s.trace_id, span_id=s.span_id, attribute=name)
        for e in s.events:
            if e.name in convention.content_events:
                sink.add("RED-01", "violation", "leak", f"content event {e.name} present with Exclude Request Data on",
                         trace_id=s.trace_id, span_id=s.span_id, attribute=e.name)


def positive_control(hits: Iterable[CanaryHit], convention: Convention) -> str:
    """RED-07: '' when USR and OUT canaries appear in the convention's content attributes."""
    def found(slot: str, patterns: tuple[str, ...]) -> bool:
        return any(h.slot == slot and h.where == "ingest" and _in_attr(h.location, patterns) for h in hits)

    missing = [s for s, p in (("USR", convention.input_content), ("OUT", convention.output_content)) if not found(s, p)]
    if missing:
        return f"positive control failed: no {' or '.join(missing)} canary in the content attributes (RED-07)"
    return ""


def _in_attr(location: str, patterns: tuple[str, ...]) -> bool:
    name = location.rsplit("attr:", 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
