"""Streaming rules (SPEC 2.4): SEM-14..SEM-18, judged against the provider journal.

Each GenAI CLIENT span is paired with its upstream request (outbound parent-id). The journal says
whether the call streamed, whether the provider sent usage, the configured time to first token
and when the last byte left the provider; the span must agree. An upstream stream cut by a
mid-stream error must still have a finished span with ``error.type`` and status ERROR (SEM-18).
Judged items are streamed calls paired with their span: none, while the scenario streamed, is
``inconclusive`` (a dropped ``traceparent`` makes pairing impossible); a scenario with no streamed
request is ``not_applicable`` (RUN-03).
"""

from __future__ import annotations

from testbed.checks.correlate import matched_pairs
from testbed.checks.evidence import Evidence, JournalEntry, SpanView
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.semconv_values import expected_usage

NAME = "streaming"
SPEC_IDS = ("SEM-14", "SEM-15", "SEM-16", "SEM-17", "SEM-18")
SLACK_NS = 1_000_000


class StreamingCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        pairs = [m for m in matched_pairs(evidence) if m.entry is not None]
        streams = spans = 0
        for m in pairs:
            e = m.entry
            if e is None:
                continue
            if m.span is None:
                if e.stream and e.mid_stream_error:
                    sink.add("SEM-18", "violation", "missing", "a stream cut by an error left no finished span")
                continue
            streams += e.stream
            spans += 1
            check_pair(m.span, e, st.reference_gateway, sink)
        asked = sum(1 for r in evidence.client if r.path == "gateway" and r.stream)
        upstream = sum(1 for m in pairs if m.entry is not None and m.entry.stream)
        inconclusive = not_applicable = ""
        if not asked and not upstream:
            not_applicable = "no request of the scenario streamed, so the streaming rules do not apply"
        elif not streams:
            inconclusive = (f"{upstream} streamed upstream request(s) and {asked} streamed client request(s), "
                            "but no streamed call could be paired with its span (GW-04 pairing by traceparent)")
        # Non-streamed spans are judged for SEM-14 only; they never stand in for the stream rules.
        return conclude(NAME, SPEC_IDS, sink.findings, judged={"streams": streams},
                        inconclusive=inconclusive, not_applicable=not_applicable,
                        details={"pairs": len(pairs), "spans": spans, "streams": streams,
                                 "streamed_upstream": upstream, "streamed_client": asked})


def check_pair(span: SpanView, e: JournalEntry, reference: bool, sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    flag = span.attributes.get("gen_ai.request.stream")
    if not e.stream:
        if flag is not None and flag.plain() is False:
            sink.add("SEM-14", "info", "value", "gen_ai.request.stream=false on a non-streamed call",
                     attribute="gen_ai.request.stream", **ids)
        elif flag is not None and flag.plain() is True:
            sink.add("SEM-14", "violation", "value", "gen_ai.request.stream=true on a non-streamed call",
                     attribute="gen_ai.request.stream", **ids)
        return
    if flag is None or flag.plain() is not True:
        sink.add("SEM-14", "violation", "missing" if flag is None else "value",
                 "a streamed call lacks gen_ai.request.stream=true", attribute="gen_ai.request.stream",
                 actual=None if flag is None else flag.plain(), **ids)
    _usage(span, e, reference, sink, ids)
    _ttfc(span, e, sink, ids)
    if e.last_byte_ns is not None and not e.mid_stream_error:
        provider_ns = e.last_byte_ns - e.time_ns
        if span.duration_ns < provider_ns - SLACK_NS:
            sink.add("SEM-17", "violation", "timing", "the span ended before the last upstream chunk",
                     expected=f">= {(provider_ns - SLACK_NS) / 1e6:.3f} ms", actual=f"{span.duration_ns / 1e6:.3f} ms", **ids)
    if e.mid_stream_error:
        if "error.type" not in span.attributes:
            sink.add("SEM-18", "violation", "missing", "a mid-stream error left no error.type",
                     attribute="error.type", **ids)
        if span.status_code != 2:
            sink.add("SEM-18", "violation", "value", "a mid-stream error did not set status ERROR",
                     expected=2, actual=span.status_code, **ids)


def _usage(span: SpanView, e: JournalEntry, reference: bool, sink: FindingSink, ids: dict[str, str]) -> None:
    want = expected_usage(e.provider, e.usage)
    missing = [n for n in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
               if n in want and n not in span.attributes]
    if missing:
        sink.add("SEM-15", "violation" if reference else "warning", "missing",
                 "usage the provider sent on the stream is missing from the span", attribute=", ".join(missing), **ids)


def _ttfc(span: SpanView, e: JournalEntry, sink: FindingSink, ids: dict[str, str]) -> None:
    name = "gen_ai.response.time_to_first_chunk"
    tv = span.attributes.get(name)
    if tv is None:
        sink.add("SEM-16", "warning", "missing", f"{name} is missing on a streamed call", attribute=name, **ids)
        return
    v = tv.plain()
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return  # a wrong type is SEM-12's finding
    ttfc_ns = v * 1e9
    if ttfc_ns <= 0 or ttfc_ns > span.duration_ns:
        sink.add("SEM-16", "violation", "timing", "time_to_first_chunk is outside (0, span duration]",
                 attribute=name, actual=v, expected=f"(0, {span.duration_ns / 1e9:.6f}]", **ids)
    elif e.ttft_ms is not None and ttfc_ns < e.ttft_ms * 1e6 - SLACK_NS:
        sink.add("SEM-16", "violation", "timing", "time_to_first_chunk is shorter than the provider's TTFT",
                 attribute=name, actual=v, expected=f">= {e.ttft_ms / 1000 - 0.001:.6f}", **ids)
