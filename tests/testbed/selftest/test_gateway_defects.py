"""Gateway defect switches, pure parts (selftest only, RUN-05): off by default, validated by name
with the key path, merged from the config and ``TESTBED_GATEWAY_DEFECTS``; each event-level defect
changes exactly the fields it claims."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.errors import ConfigError
from testbed.gateway.config import parse_config
from testbed.gateway.defects import (
    DEFECTS_ENV, DROP_STREAM_USAGE, DROP_TRACEPARENT, END_SPAN_AT_HEADERS, PUBLISH_IN_REQUEST_PATH,
    STALL_REQUEST_PATH, WRONG_USAGE, corrupt_event, resolve, strip_trace_headers,
)
from testbed.defect_switches import tag_resource
from testbed.trace_event import RequestInfo, ResponseInfo, Usage
from tests.testbed.exporter.events import T0, attempt, event

USAGE = Usage(input=11, output=7, cache_read=2)


def _event(stream: bool):  # type: ignore[no-untyped-def]
    a = attempt(first_chunk_ns=T0 + 20_000_000, end_ns=T0 + 90_000_000,
                response=ResponseInfo(id="chatcmpl-1", model="gpt-4o-mini", finish_reasons=["stop"], usage=USAGE))
    return event(attempts=[a], request=RequestInfo(operation="chat", requested_model="fast", stream=stream))


def test_no_defect_is_on_unless_named() -> None:
    assert parse_config({}, environ={}).defects == frozenset()


def test_the_config_list_and_the_variable_are_merged() -> None:
    config = parse_config({"defects": ["wrong_usage"]}, environ={DEFECTS_ENV: "drop_traceparent,stall_request_path"})
    assert config.defects == {WRONG_USAGE, DROP_TRACEPARENT, STALL_REQUEST_PATH}


@pytest.mark.parametrize(("data", "env", "path"), [
    ({"defects": ["wrong_usage", "wrong_usages"]}, {}, r"defects\[1\]"),
    ({"defects": "nope"}, {}, "defects"),
    ({"defects": {"wrong_usage": "yes"}}, {}, r"defects\.wrong_usage"),
    ({}, {DEFECTS_ENV: "wrong_usage,leak_everything"}, DEFECTS_ENV),
])
def test_an_unknown_defect_is_refused_naming_the_key_path(data: dict, env: dict, path: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{path}: "):
        parse_config(data, environ=env)


@pytest.mark.parametrize("stream", [False, True])
def test_without_event_defects_the_event_is_untouched(stream: bool) -> None:
    e = _event(stream)
    assert corrupt_event(e, frozenset()) is e
    assert corrupt_event(e, frozenset({DROP_TRACEPARENT, STALL_REQUEST_PATH})) is e


@pytest.mark.parametrize("stream", [False, True])
def test_wrong_usage_adds_one_output_token_and_nothing_else_sem_09(stream: bool) -> None:
    e = _event(stream)
    bad = corrupt_event(e, frozenset({WRONG_USAGE}))
    assert bad.attempts[0].response.usage == replace(USAGE, output=8)
    assert replace(bad, attempts=e.attempts) == e


def test_drop_stream_usage_empties_usage_on_streams_only_sem_15() -> None:
    streamed = corrupt_event(_event(True), frozenset({DROP_STREAM_USAGE}))
    assert streamed.attempts[0].response.usage == Usage()
    assert replace(streamed.attempts[0], response=_event(True).attempts[0].response) == _event(True).attempts[0]
    plain = _event(False)
    assert corrupt_event(plain, frozenset({DROP_STREAM_USAGE})) == plain


def test_end_span_at_headers_ends_streamed_attempts_at_their_first_chunk_sem_17() -> None:
    bad = corrupt_event(_event(True), frozenset({END_SPAN_AT_HEADERS}))
    assert bad.attempts[0].end_ns == T0 + 20_000_000
    plain = _event(False)
    assert corrupt_event(plain, frozenset({END_SPAN_AT_HEADERS})) == plain


def test_drop_traceparent_removes_both_trace_headers_prop_03() -> None:
    headers = {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "tracestate": "k=v", "x-api-key": "s"}
    assert strip_trace_headers(headers, frozenset()) is headers
    assert strip_trace_headers(headers, frozenset({DROP_TRACEPARENT})) == {"x-api-key": "s"}


def test_the_resource_names_active_defects_and_is_unchanged_without_them() -> None:
    resource = {"service.name": "testbed-gateway"}
    assert tag_resource(resource, frozenset()) is resource
    assert tag_resource(resource, {WRONG_USAGE, DROP_TRACEPARENT})["testbed.defects"] == "drop_traceparent,wrong_usage"


def test_publish_in_request_path_targets_the_standard_otlp_variables() -> None:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces",
           "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=k%201", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "2500"}
    defects = resolve(frozenset({PUBLISH_IN_REQUEST_PATH}), env)
    assert defects.stalls and defects.sync_export is not None
    assert defects.sync_export.endpoint == "http://127.0.0.1:9/v1/traces"
    assert dict(defects.sync_export.headers) == {"authorization": "k 1"} and defects.sync_export.timeout_s == 2.5
    assert not resolve(frozenset({WRONG_USAGE}), env).stalls and resolve(frozenset(), env).sync_export is None
