"""Request + response + timings -> TraceEvent (SPEC 3.2), with redaction applied here (SPEC 4).

The handler fills a :class:`RequestRecord` (and one :class:`AttemptRecord` per upstream request)
while it serves; once the response is delivered the record is frozen by convention and
:func:`build_event` turns it into the bus contract. Pure: no clock, no I/O.

Redaction (RED-01..06, RED-08): with Exclude Request Data on, every content field is None (request
content, output content), error messages are None and stop sequences (user text) are dropped;
tokens, models, ids, finish reasons, timings and error types stay. The record never holds request
headers, so API keys and auth headers cannot reach an event.
Text is made valid UTF-8 in one place, when the event is serialised (:meth:`TraceEvent.to_json`):
an undecodable header byte arrives here as a lone surrogate and leaves as U+FFFD.
:func:`encode_within` keeps an event under the bus ``max_payload`` by shortening content strings
(the JSON stays valid, ``truncated=true``), or gives up (GW-09).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from testbed.gateway.config import TargetConfig
from testbed.gateway.content import input_content, output_messages, tool_definitions
from testbed.gateway.tracecontext import TraceDecision
from testbed.trace_event import (
    Attempt,
    HttpInfo,
    RequestContent,
    RequestInfo,
    RequestParams,
    ResponseInfo,
    TraceContext,
    TraceEvent,
    Usage,
)

Json = dict[str, Any]
FinishMapper = Callable[[str, str], str]
"""(provider format, raw finish reason) -> SEM-21 value."""
_TRUNCATION_LIMITS: Final = (8192, 2048, 512, 128, 32, 0)
_MARK: Final = "…"


@dataclass(slots=True)
class AttemptRecord:
    """One upstream request, filled in as it happens."""

    span_id: str
    target: TargetConfig
    provider_name: str
    start_ns: int
    resend_count: int = 0
    end_ns: int = 0
    first_chunk_ns: int | None = None
    http_status: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] | None = None
    usage: Usage | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    choices: list[Json] | None = None
    """OpenAI-format choices of the delivered response, for content capture."""
    embedding_dimensions: int | None = None


@dataclass(slots=True)
class RequestRecord:
    """One inbound request, filled in by the handler."""

    start_ns: int
    trace: TraceDecision
    server_span_id: str
    method: str
    route: str
    path: str
    operation: str
    exclude: bool
    scheme: str = "http"
    server_address: str | None = None
    server_port: int | None = None
    client_address: str | None = None
    user_agent: str | None = None
    protocol_version: str | None = None
    correlation_id: str | None = None
    requested_model: str | None = None
    stream: bool = False
    body: Json | None = None
    status_code: int = 200
    end_ns: int = 0
    first_byte_ns: int | None = None
    error_type: str | None = None
    attempts: list[AttemptRecord] = field(default_factory=list)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stop(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def request_params(body: Json, exclude: bool) -> RequestParams:
    response_format = body.get("response_format")
    encoding = body.get("encoding_format")
    return RequestParams(
        max_tokens=_int(body.get("max_completion_tokens", body.get("max_tokens"))),
        temperature=_num(body.get("temperature")),
        top_p=_num(body.get("top_p")),
        top_k=_num(body.get("top_k")),
        frequency_penalty=_num(body.get("frequency_penalty")),
        presence_penalty=_num(body.get("presence_penalty")),
        seed=_int(body.get("seed")),
        n=_int(body.get("n")),
        stop=None if exclude else _stop(body.get("stop")),
        response_format=str(response_format.get("type")) if isinstance(response_format, dict) else None,
        encoding_formats=[encoding] if isinstance(encoding, str) else None,
    )


def _request_content(record: RequestRecord) -> RequestContent | None:
    if record.operation != "chat" or record.body is None:
        return None
    last = record.attempts[-1].target.provider if record.attempts else "openai"
    system, messages = input_content(record.body.get("messages"), separate_system=last != "openai")
    return RequestContent(system=system, messages=messages, tools=tool_definitions(record.body.get("tools")))


def _attempt(a: AttemptRecord, with_content: bool, keep_errors: bool, finish: FinishMapper) -> Attempt:
    output = None
    if with_content and a.choices is not None:
        output = output_messages(a.choices, a.finish_reasons or [], lambda raw: finish(a.target.provider, raw))
    return Attempt(
        span_id=a.span_id, provider=a.provider_name, target=a.target.id, upstream_model=a.target.model,
        server_address=a.target.server_address, server_port=a.target.server_port,
        start_ns=a.start_ns, end_ns=a.end_ns, first_chunk_ns=a.first_chunk_ns, http_status=a.http_status,
        error_type=a.error_type, error_message=a.error_message if keep_errors else None,
        resend_count=a.resend_count,
        response=ResponseInfo(id=a.response_id, model=a.response_model, finish_reasons=a.finish_reasons,
                              usage=a.usage or Usage(), service_tier=a.service_tier,
                              system_fingerprint=a.system_fingerprint,
                              embedding_dimensions=a.embedding_dimensions),
        output_content=output,
    )


def build_event(
    record: RequestRecord, resource: dict[str, str], *, event_id: str, capture_content: bool, finish: FinishMapper
) -> TraceEvent:
    """The TraceEvent of a finished request; content only when not excluded and capture is on."""
    with_content = capture_content and not record.exclude
    trace = record.trace
    return TraceEvent(
        event_id=event_id,
        resource=dict(resource),
        trace=TraceContext(trace_id=trace.trace_id, server_span_id=record.server_span_id,
                           parent_span_id=trace.parent_span_id, trace_flags=trace.flags,
                           tracestate=trace.tracestate, link=trace.link),
        http=HttpInfo(method=record.method, route=record.route, path=record.path, scheme=record.scheme,
                      status_code=record.status_code, server_address=record.server_address,
                      server_port=record.server_port, client_address=record.client_address,
                      user_agent=record.user_agent, protocol_version=record.protocol_version),
        request=RequestInfo(operation=record.operation, requested_model=record.requested_model,
                            stream=record.stream, params=request_params(record.body or {}, record.exclude),
                            content=_request_content(record) if with_content else None),
        attempts=[_attempt(a, with_content, not record.exclude, finish) for a in record.attempts],
        start_ns=record.start_ns,
        end_ns=record.end_ns,
        first_byte_ns=record.first_byte_ns,
        excluded=record.exclude,
        correlation_id=record.correlation_id,
        error_type=record.error_type,
    )


def _shorten(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + _MARK
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: _shorten(v, limit) for k, v in value.items()}
    return value


def _truncated(event: TraceEvent, limit: int) -> TraceEvent:
    content = event.request.content
    if content is not None:
        content = RequestContent(system=_shorten(content.system, limit), messages=_shorten(content.messages, limit),
                                 tools=_shorten(content.tools, limit))
    attempts = [replace(a, output_content=_shorten(a.output_content, limit),
                        error_message=_shorten(a.error_message, limit)) for a in event.attempts]
    return replace(event, request=replace(event.request, content=content), attempts=attempts, truncated=True)


def encode_within(event: TraceEvent, max_bytes: int) -> tuple[bytes, TraceEvent] | None:
    """The event's JSON within ``max_bytes``, content strings shortened if needed; None if impossible."""
    raw = event.to_json()
    if len(raw) <= max_bytes:
        return raw, event
    for limit in _TRUNCATION_LIMITS:
        shorter = _truncated(event, limit)
        raw = shorter.to_json()
        if len(raw) <= max_bytes:
            return raw, shorter
    bare = replace(_truncated(event, 0), request=replace(event.request, content=None),
                   attempts=[replace(a, output_content=None) for a in event.attempts])
    raw = bare.to_json()
    return (raw, bare) if len(raw) <= max_bytes else None
