"""GenAI metrics derived from spans (SPEC 12; semantic-conventions v1.41.0
``docs/gen-ai/gen-ai-metrics.md``): instruments, units and buckets (MET-01..02), usage never
estimated (MET-02), temporality and windows (MET-05), the OTLP encoding, and the settings."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from testbed.errors import ConfigError
from testbed.exporter import metrics_encoder
from testbed.exporter.defects import DECIMAL_BUCKETS, metric_instruments
from testbed.exporter.genai_metrics import (
    DURATION, DURATION_BUCKETS, TIME_TO_FIRST_CHUNK, TOKEN_BUCKETS, TOKEN_USAGE, GenAiAggregator, HistogramState,
    measurements,
)
from testbed.exporter.mapping import map_event
from testbed.exporter.metrics_export import resolve_genai_metrics
from testbed.exporter.sender import SenderSettings
from testbed.exporter.spans import KIND_CLIENT
from testbed.trace_event import RequestInfo, ResponseInfo

from tests.testbed.exporter.events import attempt, event


def client_spans(ev):  # type: ignore[no-untyped-def]
    return [s for s in map_event(ev) if s.kind == KIND_CLIENT]


def test_the_bucket_lists_are_the_semconv_ones() -> None:
    assert DURATION_BUCKETS == (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
    assert TOKEN_BUCKETS == (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
                             67108864)


def test_a_client_span_gives_one_duration_and_one_usage_per_reported_token_type() -> None:
    spans = client_spans(event())
    got = measurements(spans[0])
    names = [(name, attrs.get("gen_ai.token.type")) for name, attrs, _ in got]
    assert names == [(DURATION, None), (TOKEN_USAGE, "input"), (TOKEN_USAGE, "output")]
    duration = got[0][2]
    assert duration == pytest.approx((spans[0].end_ns - spans[0].start_ns) / 1e9)
    assert got[0][1]["gen_ai.operation.name"] == "chat" and got[0][1]["gen_ai.provider.name"] == "openai"


def test_usage_the_provider_did_not_report_is_not_recorded() -> None:
    ev = event(attempts=[attempt(0, response=ResponseInfo(id="x", model="m", finish_reasons=["stop"]))])
    assert [name for name, _, _ in measurements(client_spans(ev)[0])] == [DURATION]


def test_a_streamed_span_also_records_time_to_first_chunk() -> None:
    base = event()
    ev = event(request=RequestInfo(operation="chat", requested_model="fast", stream=True),
               attempts=[attempt(0, first_chunk_ns=base.attempts[0].start_ns + 20_000_000)])
    ttfc = [v for name, _, v in measurements(client_spans(ev)[0]) if name == TIME_TO_FIRST_CHUNK]
    assert ttfc == [pytest.approx(0.02)]


def test_no_prompt_or_id_attribute_reaches_a_point() -> None:
    for _, attrs, _ in measurements(client_spans(event())[0]):
        assert not {"gen_ai.response.id", "gen_ai.input.messages", "gw.correlation_id"} & set(attrs)


def test_a_value_on_a_bound_falls_in_that_bounds_bucket() -> None:
    h = HistogramState((1.0, 4.0))
    for v in (1.0, 1.5, 4.0, 9.0):
        h.add(v)
    assert h.counts == [1, 2, 1] and h.count == 4 and h.total == 15.5


def test_cumulative_snapshots_keep_their_start_and_never_decrease() -> None:
    agg = GenAiAggregator("cumulative", start_ns=100)
    agg.record_spans(client_spans(event()))
    first = agg.take(200)
    agg.delivered(first)
    agg.record_spans(client_spans(event()))
    second = agg.take(300)
    assert first.start_ns == second.start_ns == 100
    key = next(k for k in first.series if k[1] == DURATION)
    assert (first.series[key].count, second.series[key].count) == (1, 2)


def test_a_delta_window_closes_only_when_delivered_so_windows_never_overlap() -> None:
    agg = GenAiAggregator("delta", start_ns=100)
    agg.record_spans(client_spans(event()))
    failed = agg.take(200)
    agg.restore(failed)
    assert agg.pending == 3
    agg.record_spans(client_spans(event()))
    sent = agg.take(300)
    agg.delivered(sent)
    assert sent.start_ns == 100 and sum(s.count for k, s in sent.series.items() if k[1] == DURATION) == 2
    assert agg.pending == 0
    agg.record_spans(client_spans(event()))
    assert agg.take(400).start_ns == 300


def test_the_request_carries_unit_temporality_bounds_and_the_writer_id() -> None:
    agg = GenAiAggregator("delta", start_ns=100)
    agg.record_spans(client_spans(event()))
    body, ctype = metrics_encoder.encode(metrics_encoder.build_request(agg.take(200), "w1"), "http/protobuf")
    assert ctype == "application/x-protobuf"
    req = ExportMetricsServiceRequest.FromString(body)
    scope = req.resource_metrics[0].scope_metrics[0]
    assert scope.scope.attributes[0].value.string_value == "w1"
    by_name = {m.name: m for m in scope.metrics}
    assert by_name[DURATION].unit == "s" and by_name[TOKEN_USAGE].unit == "{token}"
    assert by_name[DURATION].histogram.aggregation_temporality == 1
    assert list(by_name[TOKEN_USAGE].histogram.data_points[0].explicit_bounds) == list(TOKEN_BUCKETS)


def test_the_json_form_uses_integer_enums() -> None:
    agg = GenAiAggregator("cumulative", start_ns=100)
    agg.record_spans(client_spans(event()))
    body, ctype = metrics_encoder.encode(metrics_encoder.build_request(agg.take(200), "w1"), "http/json")
    assert ctype == "application/json" and b'"aggregationTemporality":2' in body


def test_the_seeded_bucket_defect_swaps_every_boundary_list() -> None:
    swapped = metric_instruments(frozenset({"wrong_metric_buckets"}))
    assert all(i.boundaries == DECIMAL_BUCKETS for i in swapped.values())
    assert metric_instruments(frozenset())[DURATION].boundaries == DURATION_BUCKETS


TRACES = SenderSettings(endpoint="http://mw:4318/v1/traces")


@pytest.mark.parametrize("env, endpoint, temporality, interval", [
    ({}, "http://mw:4318/v1/metrics", "cumulative", 1.0),
    ({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta"}, "http://mw:4318/v1/metrics", "delta", 1.0),
    ({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "lowmemory"}, "http://mw:4318/v1/metrics", "delta", 1.0),
    ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://other:1/m", "OTEL_METRIC_EXPORT_INTERVAL": "250"},
     "http://other:1/m", "cumulative", 0.25),
], ids=["defaults", "delta", "lowmemory-is-delta-for-histograms", "specific-endpoint-and-interval"])
def test_settings_come_from_the_standard_variables(  # type: ignore[no-untyped-def]
        env, endpoint, temporality, interval) -> None:
    s = resolve_genai_metrics(TRACES, env)
    assert (s.enabled, s.endpoint, s.temporality, s.interval_s) == (True, endpoint, temporality, interval)


@pytest.mark.parametrize("env", [
    {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"},
    {"OTEL_METRIC_EXPORT_INTERVAL": "soon"},
    {"OTEL_METRIC_EXPORT_INTERVAL": "0"},
], ids=["temporality", "interval-not-a-number", "interval-zero"])
def test_a_bad_metrics_variable_is_a_config_error_naming_it(env) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=next(iter(env))):
        resolve_genai_metrics(TRACES, env)


def test_metrics_can_be_turned_off() -> None:
    assert not resolve_genai_metrics(TRACES, {"OTEL_METRICS_EXPORTER": "none"}).enabled


def test_a_config_key_wins_over_its_variable() -> None:
    env = {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative", "OTEL_METRIC_EXPORT_INTERVAL": "900"}
    s = resolve_genai_metrics(TRACES, env, {"temporality": "delta", "interval_ms": 250})
    assert (s.temporality, s.interval_s) == ("delta", 0.25)


def test_the_exporter_config_reads_the_genai_metrics_section() -> None:
    from testbed.exporter.config import parse_config

    config = parse_config({"genai_metrics": {"temporality": "delta", "enabled": True}}, {})
    assert config.genai_metrics.temporality == "delta" and config.genai_metrics.enabled
    with pytest.raises(ConfigError, match="genai_metrics.colour"):
        parse_config({"genai_metrics": {"colour": "red"}}, {})
