"""OTEL_EXPORTER_OTLP_* and OTEL_BSP_* resolution (SPEC 5.1): one precedence rule, explicit > traces-
specific > generic > default, shown as a table; the endpoint, headers, timeout, compression and
protocol rules; and clear errors for grpc and bad values."""

from __future__ import annotations

import pytest

from testbed.errors import ConfigError
from testbed.exporter.otel_env import (
    BatchExplicit,
    OtlpExplicit,
    append_traces_path,
    parse_headers,
    resolve_batch,
    resolve_otlp,
)

G = "OTEL_EXPORTER_OTLP_"
T = "OTEL_EXPORTER_OTLP_TRACES_"


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        pytest.param({}, {}, "http://localhost:4318/v1/traces", id="default"),
        pytest.param({}, {G + "ENDPOINT": "http://g:4318"}, "http://g:4318/v1/traces", id="generic-appends"),
        pytest.param({}, {G + "ENDPOINT": "http://g:4318/mw"}, "http://g:4318/mw/v1/traces", id="generic-with-path"),
        pytest.param({}, {G + "ENDPOINT": "http://g:4318/mw/"}, "http://g:4318/mw/v1/traces", id="generic-trailing-slash"),
        pytest.param({}, {T + "ENDPOINT": "https://x.middleware.io:443"}, "https://x.middleware.io:443/", id="specific-no-path-is-root"),
        pytest.param({}, {T + "ENDPOINT": "http://t/custom", G + "ENDPOINT": "http://g"}, "http://t/custom", id="specific-beats-generic"),
        pytest.param({"endpoint": "http://c/v1/traces"}, {T + "ENDPOINT": "http://t/x", G + "ENDPOINT": "http://g"},
                     "http://c/v1/traces", id="explicit-beats-all"),
        pytest.param({}, {T + "ENDPOINT": "  ", G + "ENDPOINT": "http://g"}, "http://g/v1/traces", id="blank-is-unset"),
    ],
)
def test_endpoint_precedence_and_path_rules(explicit: dict[str, str], env: dict[str, str], expected: str) -> None:
    assert resolve_otlp(OtlpExplicit(**explicit), env).endpoint == expected


@pytest.mark.parametrize(
    ("field", "explicit", "env", "expected"),
    [
        pytest.param("timeout_s", None, {}, 10.0, id="timeout-default-10s"),
        pytest.param("timeout_s", None, {G + "TIMEOUT": "2500"}, 2.5, id="timeout-generic-ms"),
        pytest.param("timeout_s", None, {G + "TIMEOUT": "2500", T + "TIMEOUT": "700"}, 0.7, id="timeout-specific"),
        pytest.param("timeout_s", 300, {T + "TIMEOUT": "700"}, 0.3, id="timeout-explicit"),
        pytest.param("timeout_s", None, {G + "TIMEOUT": "0"}, None, id="timeout-zero-no-limit"),
        pytest.param("compression", None, {}, "gzip", id="compression-default-gzip"),
        pytest.param("compression", None, {G + "COMPRESSION": "none"}, "none", id="compression-generic"),
        pytest.param("compression", None, {G + "COMPRESSION": "none", T + "COMPRESSION": "gzip"}, "gzip", id="compression-specific"),
        pytest.param("compression", "none", {T + "COMPRESSION": "gzip"}, "none", id="compression-explicit"),
        pytest.param("protocol", None, {}, "http/protobuf", id="protocol-default"),
        pytest.param("protocol", None, {G + "PROTOCOL": "http/json"}, "http/json", id="protocol-generic"),
        pytest.param("protocol", None, {G + "PROTOCOL": "http/json", T + "PROTOCOL": "http/protobuf"}, "http/protobuf",
                     id="protocol-specific"),
    ],
)
def test_scalar_settings_follow_the_one_precedence_rule(field: str, explicit: object, env: dict[str, str], expected: object) -> None:
    name = {"timeout_s": "timeout_ms"}.get(field, field)
    settings = resolve_otlp(OtlpExplicit(**{name: explicit}), env)
    assert getattr(settings, field) == expected


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        pytest.param(None, {}, (), id="none"),
        pytest.param(None, {G + "HEADERS": "authorization=abc,x-tenant=t1"}, (("authorization", "abc"), ("x-tenant", "t1")), id="generic"),
        pytest.param(None, {G + "HEADERS": "a=1", T + "HEADERS": "b=2"}, (("b", "2"),), id="specific-replaces-generic"),
        pytest.param({"c": "3"}, {T + "HEADERS": "b=2"}, (("c", "3"),), id="explicit-replaces-env"),
        pytest.param(None, {G + "HEADERS": "authorization=Bearer%20abc"}, (("authorization", "Bearer abc"),), id="percent-decoded"),
        pytest.param(None, {G + "HEADERS": " k = v%2Cw ;prop=1 , "}, (("k", "v,w"),), id="baggage-spaces-properties"),
    ],
)
def test_headers_are_baggage_format_and_follow_precedence_mw_06(explicit: dict[str, str] | None, env: dict[str, str], expected: tuple) -> None:
    assert resolve_otlp(OtlpExplicit(headers=explicit), env).headers == expected


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        pytest.param({G + "PROTOCOL": "grpc"}, "grpc", id="grpc-rejected"),
        pytest.param({T + "PROTOCOL": "grpc"}, "grpc", id="grpc-traces-rejected"),
        pytest.param({G + "COMPRESSION": "deflate"}, G + "COMPRESSION", id="bad-compression-names-variable"),
        pytest.param({T + "TIMEOUT": "10s"}, T + "TIMEOUT", id="non-integer-timeout"),
        pytest.param({G + "TIMEOUT": "-1"}, G + "TIMEOUT", id="negative-timeout"),
        pytest.param({T + "ENDPOINT": "localhost:4318"}, T + "ENDPOINT", id="endpoint-without-scheme"),
        pytest.param({G + "HEADERS": "novalue"}, G + "HEADERS", id="header-without-equals"),
    ],
)
def test_bad_values_fail_at_start_with_a_clear_error(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        resolve_otlp(OtlpExplicit(), env)


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        pytest.param({}, {}, (0.2, 30.0, 2048, 512), id="defaults-200ms-delay"),
        pytest.param({}, {"OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10"}, (0.05, 30.0, 2048, 10), id="env"),
        pytest.param({"schedule_delay_ms": 1000}, {"OTEL_BSP_SCHEDULE_DELAY": "50"}, (1.0, 30.0, 2048, 512), id="explicit-wins"),
        pytest.param({}, {"OTEL_BSP_MAX_QUEUE_SIZE": "100"}, (0.2, 30.0, 100, 100), id="batch-clamped-to-queue"),
        pytest.param({}, {"OTEL_BSP_EXPORT_TIMEOUT": "5000"}, (0.2, 5.0, 2048, 512), id="export-timeout"),
    ],
)
def test_batch_settings_follow_the_same_rule(explicit: dict[str, int], env: dict[str, str], expected: tuple) -> None:
    b = resolve_batch(BatchExplicit(**explicit), env)
    assert (b.schedule_delay_s, b.export_timeout_s, b.max_queue_size, b.max_export_batch_size) == expected


def test_generic_path_rule_appends_exactly_one_slash() -> None:
    assert append_traces_path("http://h:1") == "http://h:1/v1/traces"
    assert append_traces_path("http://h:1/a/b") == "http://h:1/a/b/v1/traces"


def test_header_keys_and_values_are_percent_decoded() -> None:
    assert parse_headers("x%20y=a%3Db") == (("x y", "a=b"),)
