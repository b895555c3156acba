"""OpenAI wire format upstream (SPEC 9.1): the front's own format, so requests and responses pass
through with the model replaced, streams are forwarded chunk by chunk, and the facts the span
needs are read on the way (usage per SEM-09, raw finish reasons, provider id and model).

For streams the gateway always asks upstream for usage (``stream_options.include_usage``) and
forwards the usage-only chunk only when the client asked for it (SEM-15).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Final

from testbed.gateway.config import TargetConfig
from testbed.gateway.providers.base import (
    OTHER_ERROR,
    ChatResult,
    Json,
    OutChunk,
    StreamState,
    UpstreamError,
    UpstreamRequest,
    guarded_feed,
    guarded_response,
    dumps,
    openai_error_body,
    openai_error_type,
    parse_json,
    stream_error,
)
from testbed.gateway.providers.sse import SseEvent
from testbed.trace_event import Usage

PROVIDER_NAME: Final = "openai"
FINISH_TO_SEMCONV: Final = {"stop": "stop", "length": "length", "tool_calls": "tool_call",
                            "function_call": "tool_call", "content_filter": "content_filter"}


def usage_from(raw: Any) -> Usage | None:
    """SEM-09: input = prompt_tokens (cached included), output = completion_tokens."""
    if not isinstance(raw, dict):
        return None
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(
        input=raw.get("prompt_tokens"),
        output=raw.get("completion_tokens"),
        cache_read=prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None,
        reasoning=completion_details.get("reasoning_tokens") if isinstance(completion_details, dict) else None,
    )


def _headers(target: TargetConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.api_key}", "Content-Type": "application/json"}


def error_from(status: int, raw: bytes) -> UpstreamError:
    """SEM-07: the body's ``code``, else its ``type``, else the HTTP status; the body is kept."""
    data = parse_json(raw)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        kind = error.get("code") or error.get("type") or str(status)
        message = error.get("message") if isinstance(error.get("message"), str) else None
        return UpstreamError(status=status, error_type=str(kind), message=message, body=raw)
    body = openai_error_body(f"upstream error {status}", openai_error_type(status), str(status))
    return UpstreamError(status=status, error_type=str(status), message=None, body=body)


class OpenAIAdapter:
    provider_name = PROVIDER_NAME

    def chat_request(self, target: TargetConfig, body: Json, stream: bool) -> UpstreamRequest:
        out = dict(body)
        out["model"] = target.model
        if stream:
            options = dict(out.get("stream_options") or {})
            options["include_usage"] = True
            out["stream_options"] = options
        return UpstreamRequest(f"{target.base_url}/chat/completions", _headers(target), dumps(out))

    def embeddings_request(self, target: TargetConfig, body: Json) -> UpstreamRequest:
        out = dict(body)
        out["model"] = target.model
        return UpstreamRequest(f"{target.base_url}/embeddings", _headers(target), dumps(out))

    def chat_response(self, raw: bytes, created: int) -> ChatResult:
        return guarded_response(self._chat_response, raw, created)

    def _chat_response(self, raw: bytes, created: int) -> ChatResult:
        data = parse_json(raw)
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise ValueError("upstream body is not a chat.completion")
        choices = [c for c in data["choices"] if isinstance(c, dict)]
        return ChatResult(
            body=raw,
            response_id=data.get("id"),
            model=data.get("model"),
            finish_reasons=[str(c.get("finish_reason")) for c in choices if c.get("finish_reason") is not None],
            usage=usage_from(data.get("usage")) or Usage(),
            choices=choices,
            service_tier=data.get("service_tier"),
            system_fingerprint=data.get("system_fingerprint"),
        )

    def stream_translator(self, include_usage: bool, created: int) -> OpenAIStream:
        return OpenAIStream(include_usage=include_usage)

    def error(self, status: int, raw: bytes) -> UpstreamError:
        return error_from(status, raw)

    def semconv_finish_reason(self, raw: str) -> str:
        return FINISH_TO_SEMCONV.get(raw, raw)


@dataclass(slots=True)
class OpenAIStream:
    """Forwards upstream chunks unchanged, except the usage-only chunk the client did not ask for."""

    include_usage: bool
    state: StreamState = field(default_factory=StreamState)

    def feed(self, event: SseEvent) -> list[OutChunk]:
        return guarded_feed(self.state, self._feed, event)

    def _feed(self, event: SseEvent) -> list[OutChunk]:
        if self.state.done or self.state.error is not None:
            return []
        if event.data.strip() == b"[DONE]":
            self.state.done = True
            return []
        data = parse_json(event.data)
        if not isinstance(data, dict):
            return []
        if "error" in data:
            self.state.error = _stream_error(data["error"])
            return [(data, event.data)]
        self._record(data)
        choices = data.get("choices")
        if not choices and data.get("usage") is not None and not self.include_usage:
            return []
        return [(data, event.data)]

    def _record(self, data: Json) -> None:
        state = self.state
        state.response_id = state.response_id or data.get("id")
        state.model = state.model or data.get("model")
        state.system_fingerprint = state.system_fingerprint or data.get("system_fingerprint")
        state.service_tier = state.service_tier or data.get("service_tier")
        for choice in data.get("choices") or ():
            if isinstance(choice, dict) and choice.get("finish_reason") is not None:
                state.finish_reasons[int(choice.get("index", 0))] = str(choice["finish_reason"])
        usage = usage_from(data.get("usage"))
        if usage is not None:
            state.usage = usage

    def close(self) -> list[OutChunk]:
        if self.state.done or self.state.error is not None:
            return []
        self.state.error = stream_error(OTHER_ERROR, "upstream stream ended before [DONE]")
        return [(parse_json(self.state.error.body), self.state.error.body)]


def _stream_error(error: Any) -> UpstreamError:
    if not isinstance(error, dict):
        return stream_error(OTHER_ERROR, None)
    kind = error.get("code") or error.get("type") or OTHER_ERROR
    message = error.get("message") if isinstance(error.get("message"), str) else None
    return stream_error(str(kind), message)


@dataclass(frozen=True, slots=True)
class EmbeddingsResult:
    response_model: str | None
    input_tokens: int | None
    dimensions: int | None


def embeddings_result(raw: bytes) -> EmbeddingsResult:
    """Facts for the span from an embeddings response (SEM-24)."""
    data = parse_json(raw)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError("upstream body is not an embeddings list")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return EmbeddingsResult(data.get("model"), usage.get("prompt_tokens"), _dimensions(data["data"]))


def _dimensions(items: list[Any]) -> int | None:
    if not items or not isinstance(items[0], dict):
        return None
    vector = items[0].get("embedding")
    if isinstance(vector, list):
        return len(vector)
    if isinstance(vector, str):
        try:
            return len(base64.b64decode(vector)) // 4
        except ValueError:
            return None
    return None
