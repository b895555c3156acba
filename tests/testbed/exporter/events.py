"""TraceEvent builders shared by the exporter tests (one request: a SERVER span and its attempts)."""

from __future__ import annotations

import uuid
from typing import Any

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

T0 = 1_700_000_000_000_000_000


def attempt(index: int = 0, **overrides: Any) -> Attempt:
    base: dict[str, Any] = dict(
        span_id=f"{index + 1:016x}",
        provider="openai",
        target="openai-main",
        upstream_model="gpt-4o-mini",
        server_address="127.0.0.1",
        server_port=9000,
        start_ns=T0 + 1_000_000 + index * 100_000_000,
        end_ns=T0 + 90_000_000 + index * 100_000_000,
        http_status=200,
        response=ResponseInfo(
            id="chatcmpl-1", model="gpt-4o-mini-2024-07-18", finish_reasons=["stop"],
            usage=Usage(input=11, output=7),
        ),
        output_content=[{"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}],
    )
    base.update(overrides)
    return Attempt(**base)


def content() -> RequestContent:
    return RequestContent(
        system=[{"type": "text", "content": "be brief"}],
        messages=[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}],
        tools=[{"type": "function", "name": "lookup", "description": "find things"}],
    )


def event(
    *,
    attempts: list[Attempt] | None = None,
    trace_id: str | None = None,
    request: RequestInfo | None = None,
    **overrides: Any,
) -> TraceEvent:
    trace_id = trace_id or uuid.uuid4().hex
    base: dict[str, Any] = dict(
        event_id=str(uuid.uuid4()),
        resource={"service.name": "testbed-gateway", "service.instance.id": "inst-1", "service.version": "0.1.0"},
        trace=TraceContext(trace_id=trace_id, server_span_id=trace_id[:16], parent_span_id="ef" * 8),
        http=HttpInfo(
            method="POST", route="/v1/chat/completions", path="/v1/chat/completions", status_code=200,
            server_address="127.0.0.1", server_port=8080, client_address="127.0.0.1",
            user_agent="OpenAI/Python 3.3.1", protocol_version="1.1",
        ),
        request=request or RequestInfo(
            operation="chat", requested_model="fast", params=RequestParams(max_tokens=64, temperature=0.5),
            content=content(),
        ),
        attempts=attempts if attempts is not None else [attempt()],
        start_ns=T0,
        end_ns=T0 + 500_000_000,
        correlation_id="corr-1",
    )
    base.update(overrides)
    return TraceEvent(**base)
