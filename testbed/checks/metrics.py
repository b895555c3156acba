"""GenAI metrics rules (SPEC 12, MET-01..06) over the points the ingest stored in one scenario.

- MET-01..03: each GenAI histogram of semantic-conventions v1.41.0 ``docs/gen-ai/gen-ai-metrics.md``
  is a histogram with that file's unit, explicit bucket boundaries and required attributes
  (``metric_points.SEMCONV_INSTRUMENTS``); token usage has ``gen_ai.token.type`` input or output.
- MET-02: usage is never estimated: per token type, no more measurements than spans that carry it.
- MET-04: over the scenario, the duration count equals the GenAI CLIENT spans, failed operations
  agree, the token sums equal the spans' usage sums, and the duration histogram agrees with the
  span durations within one bucket. A series' scenario total is the sum of its delta points, or
  its last cumulative point when the series started inside the scenario; a cumulative series that
  began before the scenario has no known baseline and leaves MET-04 unjudged.
- MET-05: a cumulative series never decreases while its start time stays; a new start time is a
  restart and must move forward; delta points of a series never overlap. A resent point
  (same interval) is the same point.
- MET-06: no canary in a metrics request's bytes, no content or per-request attribute on a point.

A scenario without GenAI points is ``not_applicable`` for a gateway under test (its other metrics
are still judged by MET-06), and a MET-04 violation for the reference stack, which always sends
them. When the scenario killed the
exporter, the measurements it held unsent died with it (as with any OpenTelemetry SDK): fewer
operations or tokens in the metrics than in the spans is then a warning, more is still a violation.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence

from testbed.checks.evidence import Evidence, SpanView
from testbed.checks.metric_points import SEMCONV_INSTRUMENTS, MetricPoint
from testbed.checks.result import CheckResult, FindingSink, Severity, conclude
from testbed.exporter.redact import is_content

NAME = "metrics"
SPEC_IDS = ("MET-01", "MET-02", "MET-03", "MET-04", "MET-05", "MET-06")
DURATION = "gen_ai.client.operation.duration"
TOKEN_USAGE = "gen_ai.client.token.usage"
TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
TOKEN_KEYS = {"input": "gen_ai.usage.input_tokens", "output": "gen_ai.usage.output_tokens"}
PER_REQUEST_KEYS = frozenset({"gen_ai.response.id", "gw.correlation_id", "gen_ai.conversation.id", "trace_id",
                              "span_id", "http.request.id", "user.id", "enduser.id", "gen_ai.request.seed"})
"""Attributes that make one series per request (MET-06: low cardinality)."""


class MetricsCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        points = tuple(getattr(evidence, "metrics", ()) or ())
        spans = [s for s in evidence.spans if s.kind == 3 and "gen_ai.operation.name" in s.attributes]
        genai = [p for p in points if p.name in SEMCONV_INSTRUMENTS]
        if not genai and not st.reference_gateway:
            check_low_cardinality(points, evidence, sink)  # other metrics still must not leak content
            return conclude(NAME, SPEC_IDS, sink.findings, judged={"genai_points": 0},
                            not_applicable="the gateway under test sent no GenAI metrics")
        check_instruments(genai, sink)
        check_temporality(genai, sink)
        check_low_cardinality(points, evidence, sink)
        judged_spans = check_consistency(genai, spans, scenario_start(evidence), sink, exporter_killed(evidence))
        return conclude(NAME, SPEC_IDS, sink.findings,
                        judged={"points": len(points), "series": len({p.series for p in points}),
                                "spans": judged_spans},
                        details={"points": len(points), "genai_points": len(genai), "client_spans": len(spans)})


def exporter_killed(evidence: Evidence) -> bool:
    """True when the fault timeline stopped the exporter (its unsent measurements are gone)."""
    signals = getattr(evidence, "signals", None)
    return signals is not None and any(f.target == "exporter" for f in signals.faults)


def scenario_start(evidence: Evidence) -> int | None:
    times = [r.sent_ns for r in evidence.client] or [e.time_ns for e in evidence.journal]
    return min(times) if times else None


# --- MET-01..03 ----------------------------------------------------------------------------------

def check_instruments(points: Iterable[MetricPoint], sink: FindingSink) -> None:
    seen: set[tuple[str, str]] = set()
    for p in points:
        rule = SEMCONV_INSTRUMENTS[p.name]
        def once(what: str, *args: object, **kw: object) -> None:
            if (p.name, what) not in seen:
                seen.add((p.name, what))
                severity = rule.bucket_severity if what == "buckets" else "violation"
                sink.add(rule.spec_id, severity, *args, metric=p.name, **kw)  # type: ignore[arg-type]
        if p.type != "histogram":
            once("type", "type", f"{p.name} is a {p.type}, not a histogram", expected="histogram", actual=p.type)
            continue
        if p.unit != rule.unit:
            once("unit", "value", f"{p.name} has unit {p.unit!r}", expected=rule.unit, actual=p.unit)
        if tuple(float(b) for b in p.explicit_bounds) != tuple(float(b) for b in rule.boundaries):
            once("buckets", "value", f"{p.name} does not use the semconv bucket boundaries",
                 expected=list(rule.boundaries), actual=list(p.explicit_bounds))
        missing = [k for k in rule.required if k not in p.attributes]
        if missing:
            once("required", "missing", f"{p.name} lacks required attribute(s) {missing}", attribute=", ".join(missing))
        if "server.address" in p.attributes and "server.port" not in p.attributes:
            once("server.port", "missing", f"{p.name} has server.address without server.port (conditionally "
                 "required)", attribute="server.port")
        token_type = p.value("gen_ai.token.type")
        if p.name == TOKEN_USAGE and token_type is not None and token_type not in TOKEN_KEYS:
            once("token.type", "value", f"gen_ai.token.type={token_type!r} is not input or output",
                 attribute="gen_ai.token.type", actual=token_type)


# --- MET-05 --------------------------------------------------------------------------------------

def check_temporality(points: Iterable[MetricPoint], sink: FindingSink) -> None:
    by_series: dict[tuple[object, ...], list[MetricPoint]] = defaultdict(list)
    for p in points:
        by_series[p.series].append(p)
    for series in by_series.values():
        unique = sorted({(p.start_ns, p.time_ns): p for p in series}.values(), key=lambda p: (p.time_ns, p.start_ns))
        cumulative = [p for p in unique if p.temporality == "cumulative"]
        delta = sorted((p for p in unique if p.temporality == "delta"), key=lambda p: p.start_ns)
        _cumulative(cumulative, sink)
        for before, after in zip(delta, delta[1:]):
            if after.start_ns < before.time_ns:
                sink.add("MET-05", "violation", "value", f"two delta points of {after.name} overlap",
                         metric=after.name, expected=f"start >= {before.time_ns}", actual=after.start_ns)


def _cumulative(points: Sequence[MetricPoint], sink: FindingSink) -> None:
    for before, after in zip(points, points[1:]):
        if after.start_ns != before.start_ns:
            if after.start_ns < before.start_ns:
                sink.add("MET-05", "violation", "value", f"a cumulative {after.name} series restarted backwards",
                         metric=after.name, expected=f"start >= {before.start_ns}", actual=after.start_ns)
            continue  # a restart with a new start time is allowed
        buckets_down = len(after.bucket_counts) == len(before.bucket_counts) and any(
            a < b for a, b in zip(after.bucket_counts, before.bucket_counts))
        if after.count < before.count or after.sum < before.sum - 1e-9 or buckets_down:
            sink.add("MET-05", "violation", "value",
                     f"a cumulative {after.name} series decreased without a new start time",
                     metric=after.name, expected=f"count >= {before.count}", actual=after.count)


# --- MET-04 --------------------------------------------------------------------------------------

def scenario_totals(points: Iterable[MetricPoint], start: int | None) -> dict[tuple[object, ...], MetricPoint] | None:
    """Per series, the point that stands for the whole scenario; None when a baseline is unknown."""
    out: dict[tuple[object, ...], MetricPoint] = {}
    delta: dict[tuple[object, ...], list[MetricPoint]] = defaultdict(list)
    for p in points:
        if p.temporality == "delta":
            delta[p.series].append(p)
        elif start is not None and p.start_ns < start:
            return None
        elif p.series not in out or (p.time_ns, p.count) > (out[p.series].time_ns, out[p.series].count):
            out[p.series] = p  # cumulative: the last point of each (restarted) series
    for key, items in delta.items():
        unique = list({(p.start_ns, p.time_ns): p for p in items}.values())
        counts = [sum(c) for c in zip(*(p.bucket_counts for p in unique))] if unique[0].bucket_counts else []
        out[key] = MetricPoint(unique[0].name, count=sum(p.count for p in unique), sum=sum(p.sum for p in unique),
                               bucket_counts=tuple(counts), explicit_bounds=unique[0].explicit_bounds,
                               attributes=unique[0].attributes)
    return out


def check_consistency(points: Sequence[MetricPoint], spans: Sequence[SpanView], start: int | None,
                      sink: FindingSink, killed: bool = False) -> int:
    """MET-02 (no estimate) and MET-04; returns the number of spans judged against the metrics."""
    totals = scenario_totals(points, start)
    if totals is None:
        sink.add("MET-04", "info", "value", "a cumulative series began before the scenario; counts not compared")
        return 0
    durations = [t for t in totals.values() if t.name == DURATION]
    count = sum(t.count for t in durations)
    if count != len(spans):
        sink.add("MET-04", _severity(count, len(spans), killed), "loss",
                 f"{DURATION} counts {count} operations for {len(spans)} GenAI spans"
                 + (" (the killed exporter's unsent measurements are lost)" if killed and count < len(spans) else ""),
                 metric=DURATION, expected=len(spans), actual=count)
    failed_spans = sum(1 for s in spans if "error.type" in s.attributes)
    failed = sum(t.count for t in durations if "error.type" in t.attributes)
    if durations and failed != failed_spans:
        sink.add("MET-01", _severity(failed, failed_spans, killed), "missing",
                 f"{failed} failed operations in the metric, {failed_spans} in spans",
                 metric=DURATION, attribute="error.type", expected=failed_spans, actual=failed)
    _tokens(totals.values(), spans, sink, killed)
    _first_chunks(totals.values(), spans, sink, killed)
    if not killed:
        _distribution(durations, spans, sink)
    return len(spans)


def _severity(metric: int, spans: int, killed: bool) -> Severity:
    return "warning" if killed and metric < spans else "violation"


def _tokens(totals: Iterable[MetricPoint], spans: Sequence[SpanView], sink: FindingSink, killed: bool) -> None:
    usage = [t for t in totals if t.name == TOKEN_USAGE]
    for token_type, key in TOKEN_KEYS.items():
        mine = [t for t in usage if t.value("gen_ai.token.type") == token_type]
        carrying = [s for s in spans if isinstance(s.value(key), int)]
        recorded = sum(t.count for t in mine)
        if recorded > len(carrying):
            sink.add("MET-02", "violation", "value",
                     f"{recorded} {token_type} usage measurements for {len(carrying)} spans that report usage: "
                     "usage was estimated", metric=TOKEN_USAGE, expected=len(carrying), actual=recorded)
        total = round(sum(t.sum for t in mine))
        want = sum(int(s.value(key)) for s in carrying)
        if total != want:
            sink.add("MET-04", _severity(total, want, killed), "value",
                     f"{token_type} token sum {total} differs from the spans' {want}",
                     metric=TOKEN_USAGE, attribute=key, expected=want, actual=total)


def _first_chunks(totals: Iterable[MetricPoint], spans: Sequence[SpanView], sink: FindingSink, killed: bool) -> None:
    """gen-ai-metrics.md: time_to_first_chunk SHOULD be reported for streaming calls and SHOULD NOT
    be reported otherwise (an extension of MET-03, hence warnings)."""
    counts = [t.count for t in totals if t.name == TIME_TO_FIRST_CHUNK]
    if not counts:
        return
    streamed = sum(1 for s in spans if s.value("gen_ai.request.stream") is True
                   and "gen_ai.response.time_to_first_chunk" in s.attributes)
    if sum(counts) > streamed or (sum(counts) < streamed and not killed):
        sink.add("MET-03", "warning", "value", f"{TIME_TO_FIRST_CHUNK} counts {sum(counts)} calls for {streamed} "
                 "streamed spans with a first chunk", metric=TIME_TO_FIRST_CHUNK, expected=streamed, actual=sum(counts))


def _distribution(durations: Sequence[MetricPoint], spans: Sequence[SpanView], sink: FindingSink) -> None:
    bounds = durations[0].explicit_bounds if durations else ()
    if not bounds or any(d.explicit_bounds != bounds or len(d.bucket_counts) != len(bounds) + 1 for d in durations):
        return
    metric = [sum(c) for c in zip(*(d.bucket_counts for d in durations))]
    observed = [0] * (len(bounds) + 1)
    for s in spans:
        observed[bisect.bisect_left(bounds, s.duration_ns / 1e9)] += 1
    # "Within one bucket": each cumulative count lies between the spans' at the neighbouring bounds.
    cum_obs = [sum(observed[: i + 1]) for i in range(len(observed))]
    cm = 0
    for i, m in enumerate(metric):
        cm += m
        low = cum_obs[i - 1] if i > 0 else 0
        high = cum_obs[min(i + 1, len(cum_obs) - 1)]
        if not low <= cm <= high:
            sink.add("MET-04", "violation", "timing", f"{DURATION} buckets disagree with span durations by more "
                     "than one bucket", metric=DURATION, expected=observed, actual=metric)
            return


# --- MET-06 --------------------------------------------------------------------------------------

def check_low_cardinality(points: Sequence[MetricPoint], evidence: Evidence, sink: FindingSink) -> None:
    metric_requests = {str(r.seq) for r in evidence.ingest if r.path == "/v1/metrics"}
    for hit in evidence.hits:
        parts = hit.location.split(":")
        if hit.where == "ingest" and len(parts) > 1 and parts[1] in metric_requests:
            sink.add("MET-06", "violation", "leak", f"a {hit.slot} canary is in the bytes of a metrics request",
                     location=hit.location, actual=hit.canary)
    flagged: set[str] = set()
    for p in points:
        for key, tv in p.attributes.items():
            text = str(tv.plain())
            bad = is_content(key) or key in PER_REQUEST_KEYS or "CNRY-" in text
            if bad and key not in flagged:
                flagged.add(key)
                sink.add("MET-06", "violation", "leak", f"{p.name} carries {key}, content or one value per request",
                         metric=p.name, attribute=key)
