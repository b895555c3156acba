"""TraceEvent v1: the bus contract between the gateway and the exporter (SPEC section 3.2).

The gateway publishes one UTF-8 JSON object per inbound request on subject
``testbed.trace_events.v1`` after the response is fully delivered. Times are Unix-epoch
nanoseconds, written as decimal strings on the wire and held as ints here. Ids are lowercase hex.

Content fields are already in the GenAI semantic-convention JSON shapes (SPEC section 2.5), so the
exporter only serialises them:

- ``RequestContent.system``: a list of parts (``gen_ai.system_instructions``)
- ``RequestContent.messages``: ``[{role, parts[], name?}]`` (``gen_ai.input.messages``)
- ``RequestContent.tools``: ``[{type: "function", name, description?, parameters?}]``
  (``gen_ai.tool.definitions``)
- ``Attempt.output_content``: ``[{role, parts[], finish_reason}]`` (``gen_ai.output.messages``)

Every content field is ``None`` when Exclude Request Data is on (``excluded=True``).

Text is valid at the source: a header byte that is not UTF-8 reaches Python as a lone surrogate
(``surrogateescape``), and so does a ``\ud800`` escape in a JSON body. :meth:`TraceEvent.to_json`
writes each such code point as U+FFFD, so no event on the bus carries text an encoder must refuse.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any, Final

import orjson

SCHEMA: Final = "testbed.trace_event/1"
"""Value of the ``schema`` field of every v1 event."""

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
REPLACEMENT: Final = "\ufffd"


def valid_text(value: str) -> str:
    """``value`` with every lone surrogate (an undecodable byte or a stray JSON escape) as U+FFFD."""
    if value.isascii():
        return value
    return _SURROGATE.sub(REPLACEMENT, value)

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TraceContext:
    trace_id: str
    server_span_id: str
    parent_span_id: str | None = None
    trace_flags: int = 1
    tracestate: str | None = None
    link: dict[str, str] | None = None
    """Inbound context kept as a span link in restart mode (PROP-08): ``{trace_id, span_id}``."""


@dataclass(frozen=True, slots=True)
class HttpInfo:
    method: str
    route: str
    path: str
    scheme: str = "http"
    status_code: int = 200
    server_address: str | None = None
    server_port: int | None = None
    client_address: str | None = None
    user_agent: str | None = None
    protocol_version: str | None = None


@dataclass(frozen=True, slots=True)
class RequestParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    n: int | None = None
    stop: list[str] | None = None
    response_format: str | None = None
    """The requested output type: ``text``, ``json_object``, ``json_schema``... (None if not asked)."""
    encoding_formats: list[str] | None = None
    """Embeddings only: the requested encoding formats."""


@dataclass(frozen=True, slots=True)
class RequestContent:
    system: list[Json] | None = None
    messages: list[Json] | None = None
    tools: list[Json] | None = None


@dataclass(frozen=True, slots=True)
class RequestInfo:
    operation: str
    requested_model: str | None
    stream: bool = False
    params: RequestParams = field(default_factory=RequestParams)
    content: RequestContent | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_creation: int | None = None
    reasoning: int | None = None


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    id: str | None = None
    model: str | None = None
    finish_reasons: list[str] | None = None
    usage: Usage = field(default_factory=Usage)
    service_tier: str | None = None
    system_fingerprint: str | None = None
    embedding_dimensions: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    span_id: str
    provider: str
    """``gen_ai.provider.name``: ``openai``, ``anthropic`` or ``gcp.gemini``."""
    target: str
    upstream_model: str
    server_address: str | None
    server_port: int | None
    start_ns: int
    end_ns: int
    first_chunk_ns: int | None = None
    http_status: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    resend_count: int = 0
    response: ResponseInfo = field(default_factory=ResponseInfo)
    output_content: list[Json] | None = None


@dataclass(frozen=True, slots=True)
class TraceEvent:
    event_id: str
    resource: dict[str, Any]
    trace: TraceContext
    http: HttpInfo
    request: RequestInfo
    attempts: list[Attempt]
    start_ns: int
    end_ns: int
    first_byte_ns: int | None = None
    excluded: bool = False
    truncated: bool = False
    correlation_id: str | None = None
    """From the ``x-testbed-correlation-id`` request header (``gw.correlation_id``)."""
    error_type: str | None = None
    """Set on the SERVER span when the request failed (GW-01)."""
    schema: str = SCHEMA

    def json_text(self) -> str:
        """The JSON text, before any repair: lone surrogates are still there."""
        return json.dumps(_plain(self), separators=(",", ":"), ensure_ascii=False)

    def to_json(self) -> bytes:
        """UTF-8 JSON with ``*_ns`` times as decimal strings; lone surrogates written as U+FFFD.

        orjson writes valid text about ten times faster than the standard library (the gateway
        encodes every event, GW-08); it refuses a lone surrogate, which takes the repairing path."""
        try:
            return orjson.dumps(_plain(self))
        except orjson.JSONEncodeError:
            text = self.json_text()
        try:
            return text.encode()
        except UnicodeEncodeError:
            return valid_text(text).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> TraceEvent:
        """Parse a v1 event; raise ValueError on another schema or a malformed body.

        The standard library's parser, not orjson's: orjson reads an integer beyond 64 bits as a
        float, and an event must read back exactly as it was written."""
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} event")
        return _build(cls, data)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(obj: Any) -> dict[str, Any]:
    """A dataclass as plain JSON data, ``*_ns`` ints as strings.

    Faster than ``dataclasses.asdict``, which deep-copies every content list: content is only
    read here, and json.dumps copies nothing either.
    """
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        if name in _NESTED:
            value = None if value is None else _plain(value)
        elif name == "attempts":
            value = [_plain(a) for a in value]
        elif name.endswith("_ns") and isinstance(value, int):
            value = str(value)
        out[name] = value
    return out


def wire_dict(event: TraceEvent) -> dict[str, Any]:
    """The event as the plain JSON data ``to_json`` writes (``*_ns`` as decimal strings, text not
    repaired): what the exporter's mapping reads, parsed from a bus message or made from an event."""
    return _plain(event)


_NESTED: Final[dict[str, type]] = {
    "trace": TraceContext,
    "http": HttpInfo,
    "request": RequestInfo,
    "params": RequestParams,
    "content": RequestContent,
    "response": ResponseInfo,
    "usage": Usage,
}


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    names = _FIELD_NAMES.get(cls)
    if names is None:  # dataclasses.fields() is costly per call: the exporter decodes every event
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if name.endswith("_ns") and value is not None:
            value = int(value)
        elif name == "attempts":
            value = [_build(Attempt, a) for a in value]
        elif name in _NESTED and isinstance(value, dict):
            value = _build(_NESTED[name], value)
        kwargs[name] = value
    return cls(**kwargs)
