"""No client error makes the ingest answer 5xx, hang, or leave its format.

OTLP routes answer in ``google.rpc.Status`` (OTLP-07) in the request's content type; the query
and fault routes answer ``{"error": "..."}``. Categories: JSON nested 10,000 deep, corrupt gzip,
lone and UTF-8-encoded surrogates, invalid UTF-8, wrong types in every field of an OTLP JSON
export, of a fault and of a canary request, raw-socket requests the HTTP parser refuses (those
get a protobuf Status: the route, and so the content type, is not known yet), and
Hypothesis-made bodies. The ingest runs on loopback through ``MiddlewareServer``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_middleware import MiddlewareServer, Settings
from tests.client_errors import (
    BAD_QUERY_VALUES, LoopThread, body_cases, get_status, is_admin_error, odd_header, post, problem,
    raw_request_cases, short_body, sweep, sweep_raw,
)  # fmt: skip
from tests.fake_middleware.helpers import KEY

AUTH = {"Authorization": KEY}
EXPORT = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]},
                             "scopeSpans": [{"scope": {"name": "x"}, "spans": [{
                                 "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                                 "name": "op", "kind": 2, "startTimeUnixNano": "1", "endTimeUnixNano": "2",
                                 "attributes": [{"key": "k", "value": {"stringValue": "v"}}]}]}]}]}
FAULT = {"kind": "status", "status": 503, "probability": 0.5, "times": 1}


def is_json_status(body: bytes) -> bool:
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("code"), int) and isinstance(doc.get("message"), str)


def is_protobuf_status(body: bytes) -> bool:
    status = status_pb2.Status()
    try:
        status.ParseFromString(body)
    except Exception:  # noqa: BLE001 - any decode failure means "not a Status"
        return False
    return status.code != 0 and bool(status.message)


async def clear(server: MiddlewareServer) -> None:
    server.clear_faults()
    await server.settled()


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[LoopThread, MiddlewareServer]]:
    loop = LoopThread()
    # A short long-poll cap: a legitimate wait (a big wait_count) must not look like a hang.
    server = MiddlewareServer(Settings(keys={"default": KEY}, long_poll_max_s=0.3))
    loop.run(server.start)
    yield loop, server
    loop.run(server.stop)
    loop.close()


def test_malformed_otlp_json_exports_get_4xx_with_a_json_status(running: tuple[LoopThread, MiddlewareServer]) -> None:
    loop, server = running
    cases = body_cases(EXPORT, ("resourceSpans", 0, "scopeSpans", 0, "spans", 0, "name"))
    found = loop.run(lambda: sweep(f"{server.url}/v1/traces", cases, AUTH, is_json_status))
    assert found == []


@pytest.mark.parametrize(("path", "valid", "text"), [
    ("/_faults", FAULT, ("kind",)),
    ("/api/v1/canary", {"needle": "CANARY-1234"}, ("needle",)),
], ids=["faults", "canary"])
def test_malformed_admin_bodies_get_4xx_with_an_error_object(running: tuple[LoopThread, MiddlewareServer], path: str,
                                                             valid: dict[str, Any], text: tuple[Any, ...]) -> None:
    loop, server = running
    found = loop.run(lambda: sweep(f"{server.url}{path}", body_cases(valid, text), {}, is_admin_error))
    loop.run(lambda: clear(server))
    assert found == []


def test_requests_the_http_parser_refuses_get_400_with_a_protobuf_status(
        running: tuple[LoopThread, MiddlewareServer]) -> None:
    loop, server = running
    found = loop.run(lambda: sweep_raw(server.url, raw_request_cases("/v1/traces", KEY), is_protobuf_status))
    assert found == []


def test_a_body_shorter_than_its_content_length_never_gets_a_5xx(running: tuple[LoopThread, MiddlewareServer]) -> None:
    loop, server = running
    assert loop.run(lambda: short_body(server.url, "/v1/traces", f"Authorization: {KEY}", is_json_status)) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(max_size=40))
def test_any_bytes_in_a_header_never_get_a_5xx(running: tuple[LoopThread, MiddlewareServer], value: bytes) -> None:
    loop, server = running
    # The parser may refuse the header (protobuf Status) or the export may go through (JSON answer).
    either = lambda body: is_json_status(body) or is_protobuf_status(body)  # noqa: E731
    assert loop.run(lambda: odd_header(server.url, "/v1/traces", f"Authorization: {KEY}", value, either)) is None


QUERY_ROUTES = ["/api/v1/spans", "/api/v1/topology", "/api/v1/requests", "/api/v1/traces/%ff"]
QUERY_PARAMS = ["limit", "wait_count", "wait_timeout_s", "since_id", "name", "kind", "where", "trace_id", "service"]


@pytest.mark.parametrize("route", QUERY_ROUTES)
def test_bad_query_parameters_get_4xx_never_a_5xx_or_a_hang(running: tuple[LoopThread, MiddlewareServer],
                                                             route: str) -> None:
    loop, server = running
    found = []
    for name in QUERY_PARAMS:
        for value in BAD_QUERY_VALUES:
            params = {name: value, **({"wait_count": "1"} if name == "wait_timeout_s" else {})}
            status, body = loop.run(lambda: get_status(f"{server.url}{route}", params))
            if (why := problem(status, body, is_admin_error)) is not None:
                found.append(f"{name}={value[:20]!r}: {why}")
    assert found == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
span_fields = st.fixed_dictionaries({}, optional={
    key: json_values for key in ("traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano",
                                 "endTimeUnixNano", "attributes", "events", "links", "status")})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(span=span_fields, fault=st.fixed_dictionaries(
    {"kind": st.sampled_from(["status", "latency", "throttle", "nope"]) | json_values},
    optional={key: json_values for key in ("status", "probability", "times", "match", "name", "latency_ms")}))
def test_hypothesis_made_exports_and_faults_never_get_a_5xx(running: tuple[LoopThread, MiddlewareServer],
                                                            span: dict[str, Any], fault: dict[str, Any]) -> None:
    loop, server = running
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    status, raw = loop.run(lambda: post(f"{server.url}/v1/traces", json.dumps(doc).encode(), AUTH))
    assert problem(status, raw, is_json_status) is None
    status, raw = loop.run(lambda: post(f"{server.url}/_faults", json.dumps(fault).encode(), {}))
    loop.run(lambda: clear(server))
    assert problem(status, raw, is_admin_error) is None
