"""TraceEvent -> span records (SPEC 2 and 3): names, kinds, parents, statuses and every GenAI
attribute with its declared type, table-driven over streaming, providers, failures, fallbacks and
embeddings; and the second line of defence for excluded events (RED-06)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testbed.exporter.mapping import SCOPE_NAME, map_event
from testbed.exporter.redact import is_content
from testbed.exporter.spans import KIND_CLIENT, KIND_SERVER, STATUS_ERROR, STATUS_UNSET, SpanRecord
from testbed.trace_event import HttpInfo, RequestInfo, RequestParams, ResponseInfo, TraceContext, Usage

from tests.testbed.exporter.events import T0, attempt, content, event

CONTENT_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.definitions")


def server_of(spans: list[SpanRecord]) -> SpanRecord:
    (server,) = [s for s in spans if s.kind == KIND_SERVER]
    return server


def clients_of(spans: list[SpanRecord]) -> list[SpanRecord]:
    return [s for s in spans if s.kind == KIND_CLIENT]


def test_one_server_span_and_one_client_span_per_attempt_share_the_trace_gw_01_gw_02() -> None:
    ev = event(attempts=[attempt(0, http_status=503, error_type="503"), attempt(1)])
    spans = map_event(ev, "0.1.0")
    server = server_of(spans)
    clients = clients_of(spans)
    assert len(spans) == 3 and len(clients) == 2
    assert server.name == "POST /v1/chat/completions"
    assert server.parent_span_id == ev.trace.parent_span_id
    assert all(c.parent_span_id == server.span_id for c in clients)
    assert {s.trace_id for s in spans} == {ev.trace.trace_id}
    assert [c.attributes["gw.attempt"] for c in clients] == [0, 1]
    assert all(s.scope.name == SCOPE_NAME and s.scope.version == "0.1.0" for s in spans)
    assert all(s.resource == ev.resource for s in spans)


def test_server_span_has_http_attributes_and_no_gen_ai_attribute_gw_01() -> None:
    server = server_of(map_event(event(attempts=[attempt(0), attempt(1)])))
    attrs = server.attributes
    assert attrs["http.request.method"] == "POST"
    assert attrs["url.path"] == "/v1/chat/completions"
    assert attrs["url.scheme"] == "http"
    assert attrs["http.route"] == "/v1/chat/completions"
    assert attrs["http.response.status_code"] == 200
    assert attrs["server.port"] == 8080 and attrs["user_agent.original"].startswith("OpenAI")
    assert attrs["gw.requested_model"] == "fast"
    assert attrs["gw.attempt_count"] == 2 and type(attrs["gw.attempt_count"]) is int
    assert attrs["gw.correlation_id"] == "corr-1"
    assert not [k for k in attrs if k.startswith("gen_ai.")]
    assert server.status_code == STATUS_UNSET and "error.type" not in attrs


@pytest.mark.parametrize(
    ("status", "error_type", "expected_status", "expected_error"),
    [
        pytest.param(200, None, STATUS_UNSET, None, id="200-unset"),
        pytest.param(400, None, STATUS_UNSET, None, id="4xx-stays-unset"),
        pytest.param(429, "rate_limit_exceeded", STATUS_UNSET, "rate_limit_exceeded", id="429-unset-with-type"),
        pytest.param(502, None, STATUS_ERROR, "502", id="502-error"),
        pytest.param(503, "overloaded_error", STATUS_ERROR, "overloaded_error", id="503-error-provider-type"),
    ],
)
def test_server_span_status_is_error_only_on_5xx_gw_01(
    status: int, error_type: str | None, expected_status: int, expected_error: str | None
) -> None:
    http = HttpInfo(method="POST", route="/v1/chat/completions", path="/v1/chat/completions", status_code=status)
    ev = event(http=http, error_type=error_type)
    server = server_of(map_event(ev))
    assert server.status_code == expected_status
    assert server.attributes.get("error.type") == expected_error


def _chat(stream: bool = False, params: RequestParams | None = None) -> RequestInfo:
    return RequestInfo(operation="chat", requested_model="fast", stream=stream,
                       params=params or RequestParams(), content=content())


CASES: list[Any] = [
    pytest.param(
        dict(request=_chat(stream=False)),
        dict(),
        {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
         "server.address": "127.0.0.1", "server.port": 9000, "gen_ai.response.id": "chatcmpl-1",
         "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.finish_reasons": ["stop"],
         "gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 7, "openai.api.type": "chat_completions",
         "http.response.status_code": 200, "gw.target": "openai-main"},
        ("gen_ai.request.stream", "gen_ai.response.time_to_first_chunk", "http.request.resend_count", "error.type",
         "gen_ai.request.choice.count"),
        id="openai-non-stream",
    ),
    pytest.param(
        dict(request=_chat(stream=True)),
        dict(first_chunk_ns=T0 + 1_000_000 + 250_000_000),
        {"gen_ai.request.stream": True, "gen_ai.response.time_to_first_chunk": 0.25},
        (),
        id="openai-streamed-ttfc-seconds",
    ),
    pytest.param(
        dict(request=_chat(params=RequestParams(
            max_tokens=100, temperature=1, top_p=0.9, top_k=40, frequency_penalty=0, presence_penalty=0.5,
            seed=7, n=2, stop=["END"], response_format="json_schema"))),
        dict(),
        {"gen_ai.request.max_tokens": 100, "gen_ai.request.temperature": 1.0, "gen_ai.request.top_p": 0.9,
         "gen_ai.request.top_k": 40.0, "gen_ai.request.frequency_penalty": 0.0,
         "gen_ai.request.presence_penalty": 0.5, "gen_ai.request.seed": 7, "gen_ai.request.choice.count": 2,
         "gen_ai.request.stop_sequences": ["END"], "gen_ai.output.type": "json"},
        (),
        id="every-request-parameter",
    ),
    pytest.param(
        dict(request=_chat(params=RequestParams(n=1))),
        dict(),
        {},
        ("gen_ai.request.choice.count", "gen_ai.request.seed"),
        id="n-equal-1-has-no-choice-count",
    ),
    pytest.param(
        dict(request=_chat(stream=True)),
        dict(provider="anthropic", target="anthropic-main", upstream_model="claude-sonnet-4-20250514",
             first_chunk_ns=T0 + 2_000_000,
             response=ResponseInfo(id="msg_1", model="claude-sonnet-4-20250514", finish_reasons=["end_turn"],
                                   usage=Usage(input=30, output=6, cache_read=10, cache_creation=9))),
        {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-20250514",
         "gen_ai.response.finish_reasons": ["end_turn"], "gen_ai.usage.input_tokens": 30,
         "gen_ai.usage.cache_read.input_tokens": 10, "gen_ai.usage.cache_creation.input_tokens": 9},
        ("openai.api.type",),
        id="anthropic-streamed-cache-usage",
    ),
    pytest.param(
        dict(request=_chat()),
        dict(provider="gcp.gemini", target="gemini", upstream_model="gemini-2.0-flash",
             response=ResponseInfo(id="r-1", model="gemini-2.0-flash", finish_reasons=["STOP", "MAX_TOKENS"],
                                   usage=Usage(input=5, output=9, reasoning=4))),
        {"gen_ai.provider.name": "gcp.gemini", "gen_ai.response.finish_reasons": ["STOP", "MAX_TOKENS"],
         "gen_ai.usage.reasoning.output_tokens": 4},
        ("openai.api.type", "openai.response.system_fingerprint"),
        id="gemini-two-choices-reasoning",
    ),
    pytest.param(
        dict(request=_chat()),
        dict(response=ResponseInfo(id="c", model="m", finish_reasons=["stop"], service_tier="default",
                                   system_fingerprint="fp_1")),
        {"openai.response.service_tier": "default", "openai.response.system_fingerprint": "fp_1"},
        (),
        id="openai-service-tier-fingerprint",
    ),
]


@pytest.mark.parametrize(("event_kw", "attempt_kw", "expected", "absent"), CASES)
def test_client_span_carries_each_attribute_whose_data_exists_with_its_type_sem_12(
    event_kw: dict[str, Any], attempt_kw: dict[str, Any], expected: dict[str, Any], absent: tuple[str, ...]
) -> None:
    (client,) = clients_of(map_event(event(attempts=[attempt(0, **attempt_kw)], **event_kw)))
    for key, value in expected.items():
        assert key in client.attributes, key
        actual = client.attributes[key]
        assert actual == value, key
        assert type(actual) is type(value), f"{key}: {type(actual).__name__} != {type(value).__name__}"
    for key in absent:
        assert key not in client.attributes, key
    assert client.kind == KIND_CLIENT
    assert client.name == f"chat {client.attributes['gen_ai.request.model']}"
    assert client.status_code == STATUS_UNSET and "error.type" not in client.attributes


def test_failed_attempt_has_error_type_and_status_error_then_fallback_succeeds_gw_02() -> None:
    ev = event(attempts=[
        attempt(0, http_status=529, error_type="overloaded_error", error_message="Overloaded", response=ResponseInfo()),
        attempt(1, http_status=503, error_type=None, resend_count=1, response=ResponseInfo()),
        attempt(2, provider="anthropic", target="fallback", upstream_model="claude-3-5-haiku"),
    ])
    spans = map_event(ev)
    first, second, third = clients_of(spans)
    assert first.status_code == STATUS_ERROR and first.attributes["error.type"] == "overloaded_error"
    assert first.status_message == "Overloaded"
    assert second.attributes["error.type"] == "503" and second.attributes["http.request.resend_count"] == 1
    assert "http.request.resend_count" not in first.attributes
    assert third.status_code == STATUS_UNSET and third.attributes["gw.target"] == "fallback"
    assert third.name == "chat claude-3-5-haiku"
    assert server_of(spans).status_code == STATUS_UNSET


def test_embeddings_span_follows_sem_24() -> None:
    ev = event(
        http=HttpInfo(method="POST", route="/v1/embeddings", path="/v1/embeddings"),
        request=RequestInfo(operation="embeddings", requested_model="embed",
                            params=RequestParams(encoding_formats=["base64"])),
        attempts=[attempt(0, upstream_model="text-embedding-3-small", output_content=None,
                          response=ResponseInfo(model="text-embedding-3-small", embedding_dimensions=1536,
                                                usage=Usage(input=8, output=0)))],
    )
    (client,) = clients_of(map_event(ev))
    assert client.name == "embeddings text-embedding-3-small"
    assert client.attributes["gen_ai.operation.name"] == "embeddings"
    assert client.attributes["gen_ai.embeddings.dimension.count"] == 1536
    assert client.attributes["gen_ai.request.encoding_formats"] == ["base64"]
    assert client.attributes["gen_ai.usage.input_tokens"] == 8
    assert "gen_ai.usage.output_tokens" not in client.attributes
    assert "openai.api.type" not in client.attributes


def test_content_attributes_are_json_strings_in_the_semconv_shape_sem_19() -> None:
    (client,) = clients_of(map_event(event()))
    for key in CONTENT_KEYS:
        assert isinstance(client.attributes[key], str), key
    assert json.loads(client.attributes["gen_ai.input.messages"])[0]["role"] == "user"
    assert json.loads(client.attributes["gen_ai.output.messages"])[0]["finish_reason"] == "stop"
    assert json.loads(client.attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "be brief"}]
    assert json.loads(client.attributes["gen_ai.tool.definitions"])[0]["name"] == "lookup"


def test_excluded_event_has_no_content_even_when_it_wrongly_carries_some_red_06() -> None:
    ev = event(
        excluded=True,
        request=_chat(params=RequestParams(stop=["SECRET-STOP"], temperature=0.2)),
        attempts=[attempt(0, http_status=500, error_type="server_error", error_message="leaked CNRY-USR-abc")],
    )
    spans = map_event(ev)
    for span in spans:
        assert not [k for k in span.attributes if is_content(k)], span.name
        assert span.status_message == ""
    (client,) = clients_of(spans)
    assert client.attributes["error.type"] == "server_error"
    assert client.attributes["gen_ai.request.temperature"] == 0.2
    assert client.attributes["gen_ai.usage.input_tokens"] == 11
    assert "CNRY" not in repr(spans) and "SECRET-STOP" not in repr(spans)


def test_restart_mode_links_the_server_span_to_the_inbound_context_prop_08() -> None:
    trace = TraceContext(trace_id="ab" * 16, server_span_id="cd" * 8, parent_span_id=None, tracestate="k=v",
                         link={"trace_id": "12" * 16, "span_id": "34" * 8})
    server = server_of(map_event(event(trace=trace)))
    assert server.parent_span_id is None
    assert [(link.trace_id, link.span_id) for link in server.links] == [("12" * 16, "34" * 8)]
    assert server.trace_state == "k=v"


def test_resource_values_keep_their_types_and_nested_values_become_json() -> None:
    ev = event(resource={"service.name": "gw", "process.pid": 42, "x.ratio": 0.5, "x.flag": True,
                         "x.list": ["a", "b"], "x.map": {"a": 1}, "x.none": None})
    resource = map_event(ev)[0].resource
    assert resource["process.pid"] == 42 and type(resource["process.pid"]) is int
    assert resource["x.flag"] is True and resource["x.list"] == ["a", "b"]
    assert resource["x.map"] == '{"a":1}' and "x.none" not in resource
