"""The ``metrics`` check (SPEC 12, MET-01..06; semantic-conventions v1.41.0
``docs/gen-ai/gen-ai-metrics.md``). The conforming evidence is made by the real chain: TraceEvents
-> the exporter's spans and GenAI metrics -> OTLP bytes -> the ingest's decoders -> the checks'
views. Every rule then gets evidence that breaks it."""

from __future__ import annotations

import dataclasses
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from fake_middleware.otlp import extract_spans
from fake_middleware.otlp_metrics import extract_points
from testbed.checks.evidence import CanaryHit, ClientRecord, Evidence, IngestRequest, ScenarioSettings, TypedValue
from testbed.checks.metric_points import MetricPoint, point_from_json
from testbed.checks.metrics import MetricsCheck
from testbed.exporter import encoder, metrics_encoder
from testbed.exporter.defects import metric_instruments
from testbed.exporter.genai_metrics import GenAiAggregator
from testbed.exporter.mapping import map_event
from testbed.runner.collect import span_view
from testbed.trace_event import RequestInfo

from tests.testbed.exporter.events import T0, attempt, event

DURATION = "gen_ai.client.operation.duration"
USAGE = "gen_ai.client.token.usage"


def chain(n: int = 4, temporality: str = "delta", defects: frozenset[str] = frozenset(),
          reference: bool = True) -> Evidence:
    events = [event(request=RequestInfo(operation="chat", requested_model="fast", stream=i % 2 == 1),
                    attempts=[attempt(0, first_chunk_ns=T0 + 20_000_000)]) for i in range(n)]
    records = [s for ev in events for s in map_event(ev)]
    agg = GenAiAggregator(temporality, T0 - 1, metric_instruments(defects))  # type: ignore[arg-type]
    agg.record_spans(records)
    req = metrics_encoder.build_request(agg.take(T0 + 10**10), "writer-1", "", agg.instruments)
    stored = extract_points(ExportMetricsServiceRequest.FromString(req.SerializeToString()), "default", T0, 7)
    traces = ExportTraceServiceRequest.FromString(encoder.encode_protobuf(records))
    spans = tuple(span_view(s.to_dict()) for s in extract_spans(traces, "default", T0, 6).spans)
    return Evidence(settings=ScenarioSettings(name="t", reference_gateway=reference), spans=spans,
                    client=(ClientRecord(correlation_id="c", intended_ns=T0 - 5, sent_ns=T0 - 5),),
                    metrics=tuple(point_from_json(p.to_dict()) for p in stored.points))


def with_points(ev: Evidence, points: Any) -> Evidence:
    return dataclasses.replace(ev, metrics=tuple(points))


def violations(ev: Evidence, spec_id: str) -> list[str]:
    result = MetricsCheck().run(ev)
    return [f.message for f in result.findings if f.spec_id == spec_id and f.severity == "violation"]


def test_the_reference_exporters_metrics_pass_and_agree_with_its_spans_exactly() -> None:
    ev = chain()
    result = MetricsCheck().run(ev)
    assert result.outcome == "passed", [f.message for f in result.findings]
    assert result.judged["spans"] == 4 and result.judged["points"] == len(ev.metrics) > 0


def test_cumulative_points_from_inside_the_scenario_pass_too() -> None:
    assert MetricsCheck().run(chain(temporality="cumulative")).outcome == "passed"


def test_semconv_buckets_are_required_met_01_02() -> None:
    ev = chain(defects=frozenset({"wrong_metric_buckets"}))
    assert violations(ev, "MET-01") and violations(ev, "MET-02")
    assert MetricsCheck().run(ev).outcome == "failed"


def test_a_wrong_unit_or_a_non_histogram_is_a_violation_met_01() -> None:
    ev = chain()
    wrong = [dataclasses.replace(p, unit="ms") if p.name == DURATION else p for p in ev.metrics]
    assert any("unit" in m for m in violations(with_points(ev, wrong), "MET-01"))
    gauge = [dataclasses.replace(p, type="gauge") if p.name == DURATION else p for p in ev.metrics]
    assert any("not a histogram" in m for m in violations(with_points(ev, gauge), "MET-01"))


def test_a_missing_required_attribute_is_a_violation_met_01() -> None:
    ev = chain()
    stripped = [dataclasses.replace(p, attributes={k: v for k, v in p.attributes.items()
                                                   if k != "gen_ai.provider.name"}) if p.name == DURATION else p
                for p in ev.metrics]
    assert any("gen_ai.provider.name" in m for m in violations(with_points(ev, stripped), "MET-01"))


def test_usage_counted_for_spans_without_usage_is_an_estimate_met_02() -> None:
    ev = chain()
    extra = [dataclasses.replace(p, count=p.count + 1, bucket_counts=(p.bucket_counts[0] + 1, *p.bucket_counts[1:]))
             if p.name == USAGE else p for p in ev.metrics]
    assert any("estimated" in m for m in violations(with_points(ev, extra), "MET-02"))


def test_a_server_ttft_histogram_with_other_buckets_is_a_violation_met_03() -> None:
    ev = chain()
    ttft = MetricPoint("gen_ai.server.time_to_first_token", unit="s", type="histogram", temporality="delta",
                       start_ns=T0, time_ns=T0 + 1, count=1, sum=0.1, bucket_counts=(1, 0), explicit_bounds=(1.0,),
                       attributes={"gen_ai.operation.name": TypedValue("string", "chat"),
                                   "gen_ai.provider.name": TypedValue("string", "openai")})
    assert violations(with_points(ev, (*ev.metrics, ttft)), "MET-03")


def test_a_missing_operation_or_token_sum_mismatch_is_a_violation_met_04() -> None:
    ev = chain()
    fewer = dataclasses.replace(ev, spans=ev.spans[:-1])
    messages = violations(fewer, "MET-04")
    assert any("operations for" in m for m in messages) and any("token sum" in m for m in messages)


def test_a_reference_run_without_metrics_fails_and_another_gateway_without_is_not_applicable() -> None:
    assert violations(with_points(chain(), ()), "MET-04")
    result = MetricsCheck().run(with_points(chain(reference=False), ()))
    assert result.outcome == "not_applicable"


def test_durations_more_than_a_bucket_apart_are_a_violation_met_04() -> None:
    ev = chain()
    shifted = [dataclasses.replace(p, bucket_counts=(*p.bucket_counts[1:], 0)[::-1]) if p.name == DURATION else p
               for p in ev.metrics]
    assert any("buckets disagree" in m for m in violations(with_points(ev, shifted), "MET-04"))


def test_a_cumulative_series_that_decreases_without_a_new_start_is_a_violation_met_05() -> None:
    ev = chain(temporality="cumulative")
    p = next(p for p in ev.metrics if p.name == DURATION)
    later = dataclasses.replace(p, time_ns=p.time_ns + 1, count=p.count - 1, sum=p.sum / 2)
    assert violations(with_points(ev, (*ev.metrics, later)), "MET-05")
    restarted = dataclasses.replace(later, start_ns=p.time_ns)
    assert not violations(with_points(ev, (*ev.metrics, restarted)), "MET-05")


def test_overlapping_delta_points_are_a_violation_met_05() -> None:
    ev = chain()
    p = next(p for p in ev.metrics if p.name == DURATION)
    overlap = dataclasses.replace(p, start_ns=p.time_ns - 5, time_ns=p.time_ns + 5)
    assert violations(with_points(ev, (*ev.metrics, overlap)), "MET-05")


def test_a_per_request_attribute_on_a_point_is_a_violation_met_06() -> None:
    ev = chain()
    noisy = [dataclasses.replace(p, attributes={**p.attributes, "gen_ai.response.id": TypedValue("string", "r1")})
             for p in ev.metrics]
    assert violations(with_points(ev, noisy), "MET-06")


def test_a_canary_in_a_metrics_requests_bytes_is_a_violation_met_06() -> None:
    ev = dataclasses.replace(
        chain(), ingest=(IngestRequest(seq=7, arrival_ns=T0, status=200, path="/v1/metrics"),),
        hits=(CanaryHit("CNRY-USR-0123456789abcdef0123", "USR", "ingest", None, "ingest-request:7:body", 10),))
    assert violations(ev, "MET-06")


def test_a_killed_exporters_lost_measurements_are_a_warning_but_extra_ones_a_violation() -> None:
    from testbed.checks.signal_evidence import FaultWindow, SignalEvidence

    killed = SignalEvidence(window_ns=10**9, faults=(FaultWindow("kill", "exporter_kill", "exporter", T0),))
    ev = dataclasses.replace(chain(), signals=killed)
    fewer = with_points(ev, [p for p in ev.metrics if p.name != DURATION or p.value("gen_ai.token.type")][:-1])
    result = MetricsCheck().run(dataclasses.replace(fewer, spans=ev.spans))
    assert not [f for f in result.findings if f.spec_id == "MET-04" and f.severity == "violation"]
    assert any(f.spec_id == "MET-04" and f.severity == "warning" for f in result.findings)
    more = dataclasses.replace(ev, spans=ev.spans[:-1])
    assert violations(more, "MET-04")


def test_other_buckets_on_the_streaming_client_instrument_are_only_a_warning() -> None:
    ev = chain()
    ttfc = "gen_ai.client.operation.time_to_first_chunk"
    assert any(p.name == ttfc for p in ev.metrics)
    other = [dataclasses.replace(p, explicit_bounds=(1.0,), bucket_counts=(p.count, 0)) if p.name == ttfc else p
             for p in ev.metrics]
    result = MetricsCheck().run(with_points(ev, other))
    assert any(f.spec_id == "MET-03" and f.severity == "warning" for f in result.findings)
    assert result.outcome == "passed"


def test_a_gateway_under_test_with_only_other_metrics_is_not_applicable_unless_they_leak() -> None:
    ev = chain(reference=False)
    other = [dataclasses.replace(p, name="http.server.request.duration") for p in ev.metrics]
    assert MetricsCheck().run(with_points(ev, other)).outcome == "not_applicable"
    leaky = [dataclasses.replace(p, attributes={**p.attributes, "gw.correlation_id": TypedValue("string", "c")})
             for p in other]
    assert MetricsCheck().run(with_points(ev, leaky)).outcome == "failed"


def test_server_address_without_server_port_is_a_violation_met_01() -> None:
    ev = chain()
    portless = [dataclasses.replace(p, attributes={k: v for k, v in p.attributes.items() if k != "server.port"})
                for p in ev.metrics]
    assert any("server.port" in m for m in violations(with_points(ev, portless), "MET-01"))


def test_first_chunk_times_for_calls_that_did_not_stream_are_a_warning_met_03() -> None:
    ev = chain()
    ttfc = "gen_ai.client.operation.time_to_first_chunk"
    doubled = [dataclasses.replace(p, count=p.count * 2, bucket_counts=tuple(c * 2 for c in p.bucket_counts))
               if p.name == ttfc else p for p in ev.metrics]
    result = MetricsCheck().run(with_points(ev, doubled))
    assert any(f.spec_id == "MET-03" and f.severity == "warning" and "streamed" in f.message for f in result.findings)
