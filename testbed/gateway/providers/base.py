"""What every provider adapter gives the gateway, and the OpenAI-front helpers they share.

Data flows client -> gateway -> provider: the client always speaks the OpenAI chat format; an
adapter turns that request into its provider's wire format (:class:`UpstreamRequest`), and turns
the provider's response, stream events and error bodies back into the OpenAI format plus the
facts the TraceEvent needs (raw finish reasons, usage per SEM-09, provider id and model).
Adapters are pure: no sockets, no clocks (``created`` is passed in).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from testbed.gateway.config import TargetConfig
from testbed.gateway.providers.sse import SseEvent
from testbed.trace_event import Usage

Json = dict[str, Any]
OTHER_ERROR: Final = "_OTHER"


class RequestNotSupported(Exception):
    """The OpenAI request cannot be expressed for this provider (answered 400 by the gateway)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A complete non-streamed response, translated."""

    body: bytes
    """The OpenAI ``chat.completion`` JSON for the client."""
    response_id: str | None
    model: str | None
    finish_reasons: list[str]
    """Raw provider values, one per choice (SEM-10)."""
    usage: Usage
    choices: list[Json]
    """OpenAI-format choices, for content capture."""
    service_tier: str | None = None
    system_fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """An upstream failure as the client sees it and as the span records it."""

    status: int
    """HTTP status for the client (Anthropic 529 becomes 503)."""
    error_type: str
    """Low-cardinality ``error.type`` (SEM-07)."""
    message: str | None
    body: bytes
    """The OpenAI error JSON (OAI-08) for the client: a body, or the data of a stream error frame."""


@dataclass(slots=True)
class StreamState:
    """What a stream translator learned so far; read by the handler when the stream ends."""

    response_id: str | None = None
    model: str | None = None
    finish_reasons: dict[int, str] = field(default_factory=dict)
    usage: Usage | None = None
    service_tier: str | None = None
    system_fingerprint: str | None = None
    error: UpstreamError | None = None
    done: bool = False

    def ordered_finish_reasons(self) -> list[str]:
        return [self.finish_reasons[i] for i in sorted(self.finish_reasons)]


OutChunk = tuple[Json, bytes]
"""One chunk for the client: the parsed ``chat.completion.chunk`` and its bytes after ``data: ``."""


class StreamTranslator(Protocol):
    state: StreamState

    def feed(self, event: SseEvent) -> list[OutChunk]:
        """Translate one upstream SSE event into zero or more client chunks."""

    def close(self) -> list[OutChunk]:
        """The upstream body ended: trailing chunks (the usage chunk when asked), or an error frame
        if the stream was cut before its terminator."""


class ProviderAdapter(Protocol):
    provider_name: str
    """``gen_ai.provider.name``: ``openai``, ``anthropic`` or ``gcp.gemini``."""

    def chat_request(self, target: TargetConfig, body: Json, stream: bool) -> UpstreamRequest: ...

    def chat_response(self, raw: bytes, created: int) -> ChatResult: ...

    def stream_translator(self, include_usage: bool, created: int) -> StreamTranslator: ...

    def error(self, status: int, raw: bytes) -> UpstreamError: ...

    def semconv_finish_reason(self, raw: str) -> str:
        """SEM-21: the raw finish reason as a ``gen_ai.output.messages`` finish_reason."""


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def openai_error_type(status: int) -> str:
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def openai_error_body(message: str, error_type: str, code: str | None = None, param: str | None = None) -> bytes:
    """The OAI-08 error body."""
    return dumps({"error": {"message": message, "type": error_type, "param": param, "code": code}})


def client_status(status: int) -> int:
    """Upstream statuses keep their value, except non-standard ones such as Anthropic's 529."""
    return 503 if status == 529 else status


def translated_error(status: int, error_type: str | None, message: str | None) -> UpstreamError:
    """An error from a non-OpenAI provider, re-expressed in the OAI-08 shape."""
    shown = client_status(status)
    kind = str(error_type) if isinstance(error_type, (str, int)) and error_type else str(status)
    body = openai_error_body(message or f"upstream error {status}", openai_error_type(shown), kind)
    return UpstreamError(status=shown, error_type=kind, message=message, body=body)


def stream_error(error_type: str, message: str | None, status: int = 502) -> UpstreamError:
    """A mid-stream failure: the OAI-07 frame data the client gets before the stream closes."""
    body = dumps({"error": {"message": message or "upstream stream failed", "type": "server_error",
                            "param": None, "code": None}})
    return UpstreamError(status=status, error_type=error_type, message=message, body=body)


MALFORMED: Final = (AttributeError, TypeError, KeyError, ValueError, IndexError)
"""What reading a well-formed JSON value of the wrong shape can raise."""


def guarded_feed(state: StreamState, feed: Callable[[SseEvent], list[OutChunk]], event: SseEvent) -> list[OutChunk]:
    """Run a translator step; an event of the wrong shape ends the stream as an ``_OTHER`` error."""
    try:
        return feed(event)
    except MALFORMED:
        state.error = stream_error(OTHER_ERROR, "invalid upstream stream event")
        return [(parse_json(state.error.body), state.error.body)]


def guarded_response(parse: Callable[[bytes, int], ChatResult], raw: bytes, created: int) -> ChatResult:
    """Run a response translation; a body of the wrong shape raises ValueError."""
    try:
        return parse(raw, created)
    except MALFORMED as exc:
        raise ValueError(f"malformed upstream body: {type(exc).__name__}") from None


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def openai_usage(usage: Usage) -> Json:
    """Usage in the OpenAI shape (OAI-05) from the normalized counts."""
    prompt = usage.input or 0
    completion = usage.output or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read or 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning or 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def tool_call(call_id: str, name: str, arguments: str) -> Json:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chat_choice(index: int, text: str | None, tool_calls: list[Json], finish_reason: str) -> Json:
    message: Json = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    if tool_calls:
        message["tool_calls"] = tool_calls
    elif text is None:
        message["content"] = ""
    return {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}


@dataclass(slots=True)
class ChunkMaker:
    """Builds ``chat.completion.chunk`` frames for translated streams."""

    created: int
    include_usage: bool
    response_id: str = "chatcmpl-gateway"
    model: str = ""

    def chunk(self, choices: list[Json], usage: Json | None = None) -> OutChunk:
        payload: Json = {"id": self.response_id, "object": "chat.completion.chunk", "created": self.created,
                         "model": self.model, "system_fingerprint": None, "choices": choices}
        if self.include_usage:
            payload["usage"] = usage
        return payload, dumps(payload)

    def delta(self, index: int, delta: Json, finish_reason: str | None = None) -> OutChunk:
        return self.chunk([{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])

    def usage_chunk(self, usage: Usage | None) -> list[OutChunk]:
        if not self.include_usage or usage is None:
            return []
        return [self.chunk([], openai_usage(usage))]


def text_of(content: Any) -> str:
    """The text of an OpenAI message content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content)


def stop_list(stop: Any) -> list[str] | None:
    if stop is None:
        return None
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str)]
    return None


def max_tokens_of(body: Json) -> int | None:
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None
