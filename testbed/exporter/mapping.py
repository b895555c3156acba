"""TraceEvent -> span records (convention ``genai-1.41``, SPEC sections 2 and 3). Pure.

One inbound request gives one SERVER span and one CLIENT span per upstream attempt:

- SERVER (kind 2), ``{METHOD} {route}``: HTTP server semantic conventions plus ``gw.requested_model``,
  ``gw.attempt_count`` and ``gw.correlation_id``; never a ``gen_ai.*`` attribute. Status ERROR only
  on a 5xx; a 4xx stays UNSET (GW-01). Its parent is the caller's span; in restart mode it carries
  a link to the inbound context instead (PROP-08).
- CLIENT (kind 3), ``{operation} {upstream model}``, child of the SERVER span: every §2 attribute
  whose data the event holds, with the OTLP type §2.2 declares (SEM-12), plus
  ``http.response.status_code``, ``http.request.resend_count`` (only when >= 1), ``gw.attempt``
  and ``gw.target`` (GW-02). A failed attempt has ``error.type`` and status ERROR; a successful
  one stays UNSET (SEM-05). Embeddings follow SEM-24.

Content attributes (``gen_ai.input.messages`` ...) are JSON strings. Whatever the event carries,
an excluded event leaves this module with no content (``redact.strip_content``, RED-06).
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

from testbed.exporter.redact import strip_content
from testbed.exporter.spans import (
    KIND_CLIENT,
    KIND_SERVER,
    STATUS_ERROR,
    STATUS_UNSET,
    Attributes,
    Scope,
    SpanLink,
    SpanRecord,
)
from testbed.trace_event import Attempt, RequestParams, TraceEvent

SCOPE_NAME: Final = "testbed.gateway"
"""Instrumentation scope of every span the reference gateway produces (OTLP-16)."""

_OUTPUT_TYPES: Final = {
    "text": "text",
    "json": "json",
    "json_object": "json",
    "json_schema": "json",
    "image": "image",
    "speech": "speech",
    "audio": "speech",
}


def map_event(event: TraceEvent, scope_version: str = "") -> list[SpanRecord]:
    """The SERVER span first, then one CLIENT span per attempt in attempt order."""
    scope = Scope(SCOPE_NAME, scope_version)
    resource = _resource(event.resource)
    spans = [_server_span(event, resource, scope)]
    spans += [_client_span(event, i, a, resource, scope) for i, a in enumerate(event.attempts)]
    return [strip_content(s) for s in spans] if event.excluded else spans


def _resource(raw: dict[str, Any]) -> Attributes:
    out: Attributes = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[str(key)] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[str(key)] = list(value)
        else:
            out[str(key)] = json.dumps(value, separators=(",", ":"))
    return out


def _put(attrs: Attributes, key: str, value: Any) -> None:
    """Set ``key`` only when the data exists (a Recommended attribute is emitted iff known)."""
    if value is not None:
        attrs[key] = value


def _float(value: float | int | None) -> float | None:
    return None if value is None else float(value)


def _server_span(event: TraceEvent, resource: Attributes, scope: Scope) -> SpanRecord:
    http = event.http
    attrs: Attributes = {
        "http.request.method": http.method,
        "url.path": http.path,
        "url.scheme": http.scheme,
        "http.route": http.route,
        "http.response.status_code": int(http.status_code),
    }
    _put(attrs, "server.address", http.server_address)
    _put(attrs, "server.port", http.server_port)
    _put(attrs, "network.protocol.version", http.protocol_version)
    _put(attrs, "user_agent.original", http.user_agent)
    _put(attrs, "client.address", http.client_address)
    _put(attrs, "gw.requested_model", event.request.requested_model)
    attrs["gw.attempt_count"] = len(event.attempts)
    _put(attrs, "gw.correlation_id", event.correlation_id)
    failed = http.status_code >= 500
    error_type = event.error_type or (str(http.status_code) if failed else None)
    _put(attrs, "error.type", error_type)
    trace = event.trace
    links: tuple[SpanLink, ...] = ()
    if trace.link and trace.link.get("trace_id") and trace.link.get("span_id"):
        links = (SpanLink(trace.link["trace_id"], trace.link["span_id"]),)
    return SpanRecord(
        trace_id=trace.trace_id,
        span_id=trace.server_span_id,
        parent_span_id=trace.parent_span_id,
        name=f"{http.method} {http.route}",
        kind=KIND_SERVER,
        start_ns=event.start_ns,
        end_ns=event.end_ns,
        resource=resource,
        scope=scope,
        attributes=attrs,
        status_code=STATUS_ERROR if failed else STATUS_UNSET,
        links=links,
        trace_state=trace.tracestate,
        flags=trace.trace_flags,
    )


def _client_span(event: TraceEvent, index: int, attempt: Attempt, resource: Attributes, scope: Scope) -> SpanRecord:
    operation = event.request.operation
    attrs: Attributes = {"gen_ai.operation.name": operation, "gen_ai.provider.name": attempt.provider}
    _put(attrs, "gen_ai.request.model", attempt.upstream_model or None)
    _put(attrs, "server.address", attempt.server_address)
    _put(attrs, "server.port", attempt.server_port)
    if event.request.stream:
        attrs["gen_ai.request.stream"] = True
    _request_params(attrs, event.request.params)
    _response(attrs, event, attempt)
    _put(attrs, "http.response.status_code", attempt.http_status)
    if attempt.resend_count >= 1:
        attrs["http.request.resend_count"] = int(attempt.resend_count)
    attrs["gw.attempt"] = index
    attrs["gw.target"] = attempt.target
    _content(attrs, event, attempt)
    error_type = attempt.error_type or (
        str(attempt.http_status) if attempt.http_status is not None and attempt.http_status >= 400 else None
    )
    _put(attrs, "error.type", error_type)
    name = f"{operation} {attempt.upstream_model}" if attempt.upstream_model else operation
    return SpanRecord(
        trace_id=event.trace.trace_id,
        span_id=attempt.span_id,
        parent_span_id=event.trace.server_span_id,
        name=name,
        kind=KIND_CLIENT,
        start_ns=attempt.start_ns,
        end_ns=attempt.end_ns,
        resource=resource,
        scope=scope,
        attributes=attrs,
        status_code=STATUS_ERROR if error_type else STATUS_UNSET,
        status_message=(attempt.error_message or "") if error_type else "",
        trace_state=event.trace.tracestate,
        flags=event.trace.trace_flags,
    )


def _request_params(attrs: Attributes, p: RequestParams) -> None:
    if p.n is not None and p.n != 1:
        attrs["gen_ai.request.choice.count"] = int(p.n)
    _put(attrs, "gen_ai.request.seed", None if p.seed is None else int(p.seed))
    _put(attrs, "gen_ai.request.max_tokens", None if p.max_tokens is None else int(p.max_tokens))
    _put(attrs, "gen_ai.request.temperature", _float(p.temperature))
    _put(attrs, "gen_ai.request.top_p", _float(p.top_p))
    _put(attrs, "gen_ai.request.top_k", _float(p.top_k))  # a double in v1.41
    _put(attrs, "gen_ai.request.frequency_penalty", _float(p.frequency_penalty))
    _put(attrs, "gen_ai.request.presence_penalty", _float(p.presence_penalty))
    if p.stop:
        attrs["gen_ai.request.stop_sequences"] = [str(s) for s in p.stop]
    if p.response_format:
        attrs["gen_ai.output.type"] = _OUTPUT_TYPES.get(p.response_format, p.response_format)
    if p.encoding_formats:
        attrs["gen_ai.request.encoding_formats"] = [str(f) for f in p.encoding_formats]


def _response(attrs: Attributes, event: TraceEvent, attempt: Attempt) -> None:
    r = attempt.response
    _put(attrs, "gen_ai.response.id", r.id)
    _put(attrs, "gen_ai.response.model", r.model)
    if r.finish_reasons:
        attrs["gen_ai.response.finish_reasons"] = [str(f) for f in r.finish_reasons]
    u = r.usage
    embeddings = event.request.operation == "embeddings"
    _put(attrs, "gen_ai.usage.input_tokens", _int(u.input))
    if not embeddings:  # SEM-24: embeddings have no output tokens
        _put(attrs, "gen_ai.usage.output_tokens", _int(u.output))
        _put(attrs, "gen_ai.usage.reasoning.output_tokens", _int(u.reasoning))
    _put(attrs, "gen_ai.usage.cache_read.input_tokens", _int(u.cache_read))
    _put(attrs, "gen_ai.usage.cache_creation.input_tokens", _int(u.cache_creation))
    _put(attrs, "gen_ai.embeddings.dimension.count", _int(r.embedding_dimensions))
    if event.request.stream and attempt.first_chunk_ns is not None:
        attrs["gen_ai.response.time_to_first_chunk"] = (attempt.first_chunk_ns - attempt.start_ns) / 1e9
    if attempt.provider == "openai":
        if event.request.operation == "chat":
            attrs["openai.api.type"] = "chat_completions"
        _put(attrs, "openai.response.system_fingerprint", r.system_fingerprint)
        _put(attrs, "openai.response.service_tier", r.service_tier)


def _int(value: int | None) -> int | None:
    return None if value is None else int(value)


def _json(value: Any) -> str:
    """Compact JSON text of message content; orjson where it can (about ten times faster, and
    every span with content needs it), the standard library for what orjson refuses."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _content(attrs: Attributes, event: TraceEvent, attempt: Attempt) -> None:
    content = event.request.content
    if content is not None:
        if content.messages is not None:
            attrs["gen_ai.input.messages"] = _json(content.messages)
        if content.system:
            attrs["gen_ai.system_instructions"] = _json(content.system)
        if content.tools:
            attrs["gen_ai.tool.definitions"] = _json(content.tools)
    if attempt.output_content is not None:
        attrs["gen_ai.output.messages"] = _json(attempt.output_content)
