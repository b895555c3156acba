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

The mapping reads the event's JSON form (``map_data``): the exporter parses a bus message
(``read_json``: exactly what ``json.loads`` reads) and maps the dict in one pass
(``spans_from_json``), without building the ``TraceEvent`` dataclasses first, which cost more
than the mapping itself. ``map_event`` maps a ``TraceEvent`` through the same code. A field the
event type requires is read with ``[]`` and a nested object that is present must be an object,
so a body ``TraceEvent.from_json`` refuses is refused here too (the service then counts it as
malformed).
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
from testbed.trace_event import SCHEMA, TraceEvent, wire_dict

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
_EMPTY: Final[dict[str, Any]] = {}
Json = dict[str, Any]


def map_event(event: TraceEvent, scope_version: str = "") -> list[SpanRecord]:
    """The SERVER span first, then one CLIENT span per attempt in attempt order."""
    return map_data(wire_dict(event), scope_version)


def spans_from_json(raw: bytes | str, scope_version: str = "") -> tuple[str, list[SpanRecord]]:
    """The event id and the spans of one bus message; ValueError (or another error) when malformed."""
    data = read_json(raw)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"not a {SCHEMA} event")
    event_id = data["event_id"]
    return event_id, map_data(data, scope_version)


_DIGITS_AS_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG_POSITIVE: Final = b"0" * 20
_LONG_NEGATIVE: Final = b"-" + b"0" * 19


def read_json(raw: bytes | str) -> Any:
    """``json.loads(raw)`` exactly, through orjson (about twice as fast) where that gives the same.

    orjson reads an integer beyond 64 bits as a float, and the standard library reads it exactly:
    a body with 20 digits in a row (or a minus sign and 19: below the int64 range) goes to the
    standard library, as does whatever orjson refuses (a lone surrogate escape, NaN, not UTF-8).
    Digits are found by mapping them all to ``0`` and searching for the run, both in C; the 19
    digits of a ``*_ns`` time are a string and never 20 in a row."""
    if isinstance(raw, bytes):
        digits = raw.translate(_DIGITS_AS_ZERO)
        if _LONG_POSITIVE not in digits and _LONG_NEGATIVE not in digits:
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
    return json.loads(raw)


def map_data(data: Json, scope_version: str = "") -> list[SpanRecord]:
    """``map_event`` for the event's JSON form (``*_ns`` times as decimal strings or ints)."""
    scope = Scope(SCOPE_NAME, scope_version)
    resource = _resource(data["resource"])
    _time(data.get("first_byte_ns"))  # unused here, but a time that is not one is malformed
    request = data["request"]
    if "operation" not in request:  # required by the event type even when no attempt reads it
        raise ValueError("request operation missing")
    params = _object(request, "params")
    content = request.get("content")
    if content is not None and not isinstance(content, dict):
        raise ValueError("request content must be an object")
    attempts = list(data["attempts"])  # any iterable, as TraceEvent.from_json reads it
    spans = [_server_span(data, request, len(attempts), resource, scope)]
    spans += [_client_span(data, request, params, content, i, a, resource, scope) for i, a in enumerate(attempts)]
    return [strip_content(s) for s in spans] if data.get("excluded") else spans


def _object(parent: Json, key: str) -> Json:
    """A nested object: empty when absent; a value that is not an object is malformed."""
    value = parent.get(key, _EMPTY)
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object")
    return value


def _time(value: Any) -> int | None:
    return None if value is None else int(value)


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


def _server_span(data: Json, request: Json, attempt_count: int, resource: Attributes, scope: Scope) -> SpanRecord:
    http = data["http"]
    method, route, status_code = http["method"], http["route"], http.get("status_code", 200)
    attrs: Attributes = {
        "http.request.method": method,
        "url.path": http["path"],
        "url.scheme": http.get("scheme", "http"),
        "http.route": route,
        "http.response.status_code": int(status_code),
    }
    _put(attrs, "server.address", http.get("server_address"))
    _put(attrs, "server.port", http.get("server_port"))
    _put(attrs, "network.protocol.version", http.get("protocol_version"))
    _put(attrs, "user_agent.original", http.get("user_agent"))
    _put(attrs, "client.address", http.get("client_address"))
    _put(attrs, "gw.requested_model", request["requested_model"])
    attrs["gw.attempt_count"] = attempt_count
    _put(attrs, "gw.correlation_id", data.get("correlation_id"))
    failed = status_code >= 500
    error_type = data.get("error_type") or (str(status_code) if failed else None)
    _put(attrs, "error.type", error_type)
    trace = _object(data, "trace")
    link = trace.get("link")
    links: tuple[SpanLink, ...] = ()
    if link and link.get("trace_id") and link.get("span_id"):
        links = (SpanLink(link["trace_id"], link["span_id"]),)
    return SpanRecord(
        trace_id=trace["trace_id"],
        span_id=trace["server_span_id"],
        parent_span_id=trace.get("parent_span_id"),
        name=f"{method} {route}",
        kind=KIND_SERVER,
        start_ns=_time(data["start_ns"]),  # type: ignore[arg-type]
        end_ns=_time(data["end_ns"]),  # type: ignore[arg-type]
        resource=resource,
        scope=scope,
        attributes=attrs,
        status_code=STATUS_ERROR if failed else STATUS_UNSET,
        links=links,
        trace_state=trace.get("tracestate"),
        flags=trace.get("trace_flags", 1),
    )


def _client_span(data: Json, request: Json, params: Json, content: Json | None, index: int, attempt: Json,
                 resource: Attributes, scope: Scope) -> SpanRecord:
    operation = request["operation"]
    provider = attempt["provider"]
    upstream_model = attempt["upstream_model"]
    start_ns = _time(attempt["start_ns"])
    attrs: Attributes = {"gen_ai.operation.name": operation, "gen_ai.provider.name": provider}
    _put(attrs, "gen_ai.request.model", upstream_model or None)
    _put(attrs, "server.address", attempt["server_address"])
    _put(attrs, "server.port", attempt["server_port"])
    stream = request.get("stream", False)
    if stream:
        attrs["gen_ai.request.stream"] = True
    _request_params(attrs, params)
    first_chunk_ns = _time(attempt.get("first_chunk_ns"))
    _response(attrs, operation, stream, provider, attempt, start_ns, first_chunk_ns)
    http_status = attempt.get("http_status")
    _put(attrs, "http.response.status_code", http_status)
    resend_count = attempt.get("resend_count", 0)
    if resend_count >= 1:
        attrs["http.request.resend_count"] = int(resend_count)
    attrs["gw.attempt"] = index
    attrs["gw.target"] = attempt["target"]
    _content(attrs, content, attempt.get("output_content"))
    error_type = attempt.get("error_type") or (
        str(http_status) if http_status is not None and http_status >= 400 else None
    )
    _put(attrs, "error.type", error_type)
    name = f"{operation} {upstream_model}" if upstream_model else operation
    trace = data["trace"]
    return SpanRecord(
        trace_id=trace["trace_id"],
        span_id=attempt["span_id"],
        parent_span_id=trace["server_span_id"],
        name=name,
        kind=KIND_CLIENT,
        start_ns=start_ns,  # type: ignore[arg-type]
        end_ns=_time(attempt["end_ns"]),  # type: ignore[arg-type]
        resource=resource,
        scope=scope,
        attributes=attrs,
        status_code=STATUS_ERROR if error_type else STATUS_UNSET,
        status_message=(attempt.get("error_message") or "") if error_type else "",
        trace_state=trace.get("tracestate"),
        flags=trace.get("trace_flags", 1),
    )


def _request_params(attrs: Attributes, p: Json) -> None:
    if not p:
        return
    n = p.get("n")
    if n is not None and n != 1:
        attrs["gen_ai.request.choice.count"] = int(n)
    _put(attrs, "gen_ai.request.seed", _int(p.get("seed")))
    _put(attrs, "gen_ai.request.max_tokens", _int(p.get("max_tokens")))
    _put(attrs, "gen_ai.request.temperature", _float(p.get("temperature")))
    _put(attrs, "gen_ai.request.top_p", _float(p.get("top_p")))
    _put(attrs, "gen_ai.request.top_k", _float(p.get("top_k")))  # a double in v1.41
    _put(attrs, "gen_ai.request.frequency_penalty", _float(p.get("frequency_penalty")))
    _put(attrs, "gen_ai.request.presence_penalty", _float(p.get("presence_penalty")))
    stop = p.get("stop")
    if stop:
        attrs["gen_ai.request.stop_sequences"] = [str(s) for s in stop]
    response_format = p.get("response_format")
    if response_format:
        attrs["gen_ai.output.type"] = _OUTPUT_TYPES.get(response_format, response_format)
    encoding_formats = p.get("encoding_formats")
    if encoding_formats:
        attrs["gen_ai.request.encoding_formats"] = [str(f) for f in encoding_formats]


def _response(attrs: Attributes, operation: str, stream: bool, provider: str, attempt: Json,
              start_ns: int | None, first_chunk_ns: int | None) -> None:
    r = _object(attempt, "response")
    _put(attrs, "gen_ai.response.id", r.get("id"))
    _put(attrs, "gen_ai.response.model", r.get("model"))
    finish_reasons = r.get("finish_reasons")
    if finish_reasons:
        attrs["gen_ai.response.finish_reasons"] = [str(f) for f in finish_reasons]
    u = _object(r, "usage")
    embeddings = operation == "embeddings"
    _put(attrs, "gen_ai.usage.input_tokens", _int(u.get("input")))
    if not embeddings:  # SEM-24: embeddings have no output tokens
        _put(attrs, "gen_ai.usage.output_tokens", _int(u.get("output")))
        _put(attrs, "gen_ai.usage.reasoning.output_tokens", _int(u.get("reasoning")))
    _put(attrs, "gen_ai.usage.cache_read.input_tokens", _int(u.get("cache_read")))
    _put(attrs, "gen_ai.usage.cache_creation.input_tokens", _int(u.get("cache_creation")))
    _put(attrs, "gen_ai.embeddings.dimension.count", _int(r.get("embedding_dimensions")))
    if stream and first_chunk_ns is not None:
        attrs["gen_ai.response.time_to_first_chunk"] = (first_chunk_ns - start_ns) / 1e9  # type: ignore[operator]
    if provider == "openai":
        if operation == "chat":
            attrs["openai.api.type"] = "chat_completions"
        _put(attrs, "openai.response.system_fingerprint", r.get("system_fingerprint"))
        _put(attrs, "openai.response.service_tier", r.get("service_tier"))


def _int(value: int | None) -> int | None:
    return None if value is None else int(value)


def _json(value: Any) -> str:
    """Compact JSON text of message content; orjson where it can (about ten times faster, and
    every span with content needs it), the standard library for what orjson refuses."""
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, UnicodeDecodeError):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _content(attrs: Attributes, content: Json | None, output_content: Any) -> None:
    if content is not None:
        messages = content.get("messages")
        if messages is not None:
            attrs["gen_ai.input.messages"] = _json(messages)
        system = content.get("system")
        if system:
            attrs["gen_ai.system_instructions"] = _json(system)
        tools = content.get("tools")
        if tools:
            attrs["gen_ai.tool.definitions"] = _json(tools)
    if output_content is not None:
        attrs["gen_ai.output.messages"] = _json(output_content)
