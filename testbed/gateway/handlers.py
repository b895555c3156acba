"""The OpenAI-compatible front: shared request handling, ``/v1/embeddings`` and ``/v1/models``.

Every inference request (chat or embeddings, rejected or served) gets a :class:`RequestRecord`;
once its response is delivered the record is handed to the publisher as a lazily built
TraceEvent, and the handler returns without waiting on the bus (GW-08). Gateway-side errors use
the OAI-08 body. Request headers other than ``traceparent``, ``tracestate``, ``User-Agent`` and
``x-testbed-correlation-id`` are never read into the record, so keys cannot reach an event.

The handlers reach the replaceable steps through the state (``state.new_record``,
``state.build_event``, ``state.deliver``): :func:`new_record`, :func:`build_trace_event` and
:func:`~testbed.gateway.front.deliver` unless a seeded defect replaced one at start.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Final

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from testbed.gateway.auth import Authenticator
from testbed.gateway.config import ApiKeyConfig, TargetConfig
from testbed.gateway.attempts import run_attempts
from testbed.gateway.chat import serve_chat
from testbed.gateway.events import AttemptRecord, RequestRecord, build_event
from testbed.gateway.front import JSON_TYPE, FrontError
from testbed.gateway.providers import RequestNotSupported, UpstreamRequest, adapter_for
from testbed.gateway.providers.base import ProviderAdapter
from testbed.gateway.providers.openai import OpenAIAdapter, embeddings_result
from testbed.gateway.publisher import Pending
from testbed.gateway.state import STATE, GatewayState
from testbed.gateway.tracecontext import decide, new_span_id
from testbed.gateway.upstream import UpstreamResponse
from testbed.gateway.validation import check_embeddings
from testbed.safe_json import JsonBodyError, loads_body
from testbed.trace_event import TraceEvent, Usage

CHAT_ROUTE: Final = "/v1/chat/completions"
EMBEDDINGS_ROUTE: Final = "/v1/embeddings"
MODELS_ROUTE: Final = "/v1/models"
CORRELATION_HEADER: Final = "x-testbed-correlation-id"

Serve = Callable[[web.Request, GatewayState, RequestRecord, dict[str, Any]], Awaitable[web.StreamResponse]]


def _unauthorized() -> FrontError:
    return FrontError(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")


def new_record(request: web.Request, state: GatewayState, operation: str, route: str,
               key: ApiKeyConfig | None) -> RequestRecord:
    """The record of one inference request: its trace decided from the inbound context (PROP-01),
    its exclusion from the key or the global switch."""
    headers = request.headers
    host = request.host.rsplit(":", 1)
    port = int(host[1]) if len(host) == 2 and host[1].isdigit() else None
    trace = decide(headers.get("traceparent"), headers.getall("tracestate", []),
                   restart=state.config.trace.restart_inbound, random_bytes=state.random_bytes)
    return RequestRecord(
        start_ns=time.time_ns(), trace=trace, server_span_id=new_span_id(state.random_bytes),
        method=request.method, route=route, path=request.path, operation=operation,
        exclude=Authenticator.excludes(key, state.config.exclude_request_data),
        scheme=request.scheme, server_address=host[0] or None, server_port=port,
        client_address=request.remote, user_agent=headers.get("User-Agent"),
        protocol_version=f"{request.version.major}.{request.version.minor}",
        correlation_id=headers.get(CORRELATION_HEADER),
    )


async def _read_body(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except (RequestPayloadError, ConnectionResetError):
        # A body aiohttp cannot inflate (corrupt gzip, unknown Content-Encoding) or that ended early.
        raise FrontError(400, "The request body could not be decoded.", "invalid_request_error") from None
    try:
        body = loads_body(raw)
    except JsonBodyError as exc:
        raise FrontError(400, str(exc), "invalid_request_error") from None
    if not isinstance(body, dict):
        raise FrontError(400, "The request body must be a JSON object.", "invalid_request_error")
    return body


def _check_model(state: GatewayState, key: ApiKeyConfig, body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise FrontError(400, "'model' is required.", "invalid_request_error", None, "model")
    if not state.router.knows(model):
        raise FrontError(404, f"The model '{model}' does not exist.", "invalid_request_error",
                         "model_not_found", "model")
    if not Authenticator.allows(key, model):
        raise FrontError(403, f"This key may not use the model '{model}'.", "invalid_request_error",
                         "model_not_allowed", "model")
    return model


def _finish_mapper(provider_format: str, raw: str) -> str:
    return adapter_for(provider_format).semconv_finish_reason(raw)


def _publish(state: GatewayState, record: RequestRecord) -> None:
    if not record.end_ns:
        record.end_ns = time.time_ns()
    state.metrics.requests.labels(record.route, str(record.status_code)).inc()
    state.publisher.offer(Pending(build=partial(state.build_event, state, record), spans=1 + len(record.attempts)))


def build_trace_event(state: GatewayState, record: RequestRecord) -> TraceEvent:
    """The event of a finished request, redacted by :func:`~testbed.gateway.events.build_event`."""
    return build_event(record, state.resource, event_id=str(uuid.uuid4()),
                       capture_content=state.config.capture_content, finish=_finish_mapper)


async def handle_inference(request: web.Request, operation: str, route: str, serve: Serve) -> web.StreamResponse:
    state = request.app[STATE]
    key = state.auth.authenticate(request.headers.get("Authorization"))
    record = state.new_record(request, state, operation, route, key)
    try:
        try:
            if key is None:
                raise _unauthorized()
            body = await _read_body(request)
            record.body = body
            record.requested_model = body.get("model") if isinstance(body.get("model"), str) else None
            _check_model(state, key, body)
            return await serve(request, state, record, body)
        except FrontError as error:
            return await state.deliver(request, error.response(), record)
        except Exception as exc:  # answered 500 by the app's middleware; the span says so too
            record.status_code, record.error_type = 500, type(exc).__name__
            raise
    finally:
        _publish(state, record)


async def _serve_embeddings(request: web.Request, state: GatewayState, record: RequestRecord,
                            body: dict[str, Any]) -> web.StreamResponse:
    check_embeddings(body)

    def build(adapter: ProviderAdapter, target: TargetConfig) -> UpstreamRequest:
        if target.provider != "openai":
            raise RequestNotSupported("Embeddings need an OpenAI-format target.", "model")
        return OpenAIAdapter().embeddings_request(target, body)

    async def on_success(adapter: ProviderAdapter, attempt: AttemptRecord,
                         resp: UpstreamResponse) -> web.StreamResponse:
        raw = await resp.read()
        attempt.end_ns = time.time_ns()
        result = embeddings_result(raw)
        attempt.response_model = result.response_model
        attempt.usage = Usage(input=result.input_tokens)
        attempt.embedding_dimensions = result.dimensions
        return await state.deliver(request, web.Response(body=raw, content_type=JSON_TYPE), record)

    return await run_attempts(request, state, record, build, on_success)


async def embeddings(request: web.Request) -> web.StreamResponse:
    return await handle_inference(request, "embeddings", EMBEDDINGS_ROUTE, _serve_embeddings)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await handle_inference(request, "chat", CHAT_ROUTE, serve_chat)


async def models(request: web.Request) -> web.Response:
    state = request.app[STATE]
    key = state.auth.authenticate(request.headers.get("Authorization"))
    if key is None:
        response = _unauthorized().response()
    else:
        names = [m for m in state.router.model_names() if Authenticator.allows(key, m)]
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "testbed-gateway"} for m in names]
        response = web.json_response({"object": "list", "data": data})
    state.metrics.requests.labels(MODELS_ROUTE, str(response.status)).inc()
    return response


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.Response(body=state.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
