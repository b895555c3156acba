"""Upstream attempts with fallback: one CLIENT span (``AttemptRecord``) per upstream request.

The router's plan is tried in order. An attempt that ends in 408/429/5xx, a timeout or a
connection failure falls back to the next planned attempt; any other status is returned to the
client as is (the provider's error re-expressed in OAI-08, status kept, 529 -> 503). Each attempt
gets a fresh span id, sent upstream as the parent-id of its ``traceparent`` (PROP-03), with the
inbound ``tracestate`` unchanged (PROP-05). The client's own headers are never forwarded: the
target's key authenticates upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from testbed import __version__
from testbed.gateway.config import TargetConfig
from testbed.gateway.events import AttemptRecord, RequestRecord
from testbed.gateway.front import JSON_TYPE, FrontError
from testbed.gateway.providers import RequestNotSupported, UpstreamError, UpstreamRequest, adapter_for
from testbed.gateway.providers.base import OTHER_ERROR, ProviderAdapter, openai_error_body
from testbed.gateway.routing import is_retryable_status
from testbed.gateway.state import GatewayState
from testbed.gateway.tracecontext import format_traceparent, new_span_id
from testbed.gateway.upstream import CONNECTION_ERRORS, UpstreamResponse

USER_AGENT: Final = f"testbed-gateway/{__version__}"

Build = Callable[[ProviderAdapter, TargetConfig], UpstreamRequest]
OnSuccess = Callable[[ProviderAdapter, AttemptRecord, UpstreamResponse], Awaitable[web.StreamResponse]]


class BadUpstreamBody(Exception):
    """A 200 whose body is not what the provider format promises."""


def timeout_error() -> UpstreamError:
    body = openai_error_body("The upstream request timed out.", "server_error", "timeout")
    return UpstreamError(status=504, error_type="timeout", message="upstream timed out", body=body)


def connection_error() -> UpstreamError:
    body = openai_error_body("The upstream provider could not be reached.", "server_error", "upstream_unavailable")
    return UpstreamError(status=502, error_type=OTHER_ERROR, message="upstream unreachable", body=body)


def bad_body_error() -> UpstreamError:
    body = openai_error_body("The upstream provider sent an invalid response.", "server_error", "bad_upstream")
    return UpstreamError(status=502, error_type=OTHER_ERROR, message="invalid upstream body", body=body)


def outbound_headers(request: UpstreamRequest, record: RequestRecord, span_id: str) -> dict[str, str]:
    headers = dict(request.headers)
    headers["traceparent"] = format_traceparent(record.trace.trace_id, span_id, record.trace.flags)
    if record.trace.tracestate:
        headers["tracestate"] = record.trace.tracestate
    headers["User-Agent"] = USER_AGENT
    return headers


def _record_failure(state: GatewayState, attempt: AttemptRecord, failure: UpstreamError) -> None:
    attempt.end_ns = attempt.end_ns or time.time_ns()
    attempt.error_type = failure.error_type
    attempt.error_message = failure.message
    target = attempt.target
    state.metrics.upstream_attempts.labels(attempt.provider_name, target.id, "error").inc()
    state.metrics.upstream_latency.labels(attempt.provider_name, target.id).observe(
        (attempt.end_ns - attempt.start_ns) / 1e9)


def record_success(state: GatewayState, attempt: AttemptRecord) -> None:
    target = attempt.target
    state.metrics.upstream_attempts.labels(attempt.provider_name, target.id,
                                           "error" if attempt.error_type else "ok").inc()
    state.metrics.upstream_latency.labels(attempt.provider_name, target.id).observe(
        ((attempt.end_ns or time.time_ns()) - attempt.start_ns) / 1e9)


async def _try(state: GatewayState, record: RequestRecord, attempt: AttemptRecord, adapter: ProviderAdapter,
               request: UpstreamRequest, on_success: OnSuccess) -> web.StreamResponse | UpstreamError:
    headers = outbound_headers(request, record, attempt.span_id)
    try:
        async with state.upstream.open(request, headers, attempt.target.timeout_s, record.stream) as resp:
            attempt.http_status = resp.status
            if resp.status == 200:
                response = await on_success(adapter, attempt, resp)
                record_success(state, attempt)
                return response
            return adapter.error(resp.status, await resp.read())
    except asyncio.TimeoutError:
        return timeout_error()
    except BadUpstreamBody:
        return bad_body_error()
    except CONNECTION_ERRORS:
        return connection_error()


async def run_attempts(request: web.Request, state: GatewayState, record: RequestRecord, build: Build,
                       on_success: OnSuccess) -> web.StreamResponse:
    """Try the plan until an attempt succeeds or fails for good; deliver the outcome."""
    last: UpstreamError | None = None
    refused: RequestNotSupported | None = None
    for planned in state.router.plan(record.requested_model or ""):
        adapter = adapter_for(planned.target.provider)
        try:
            upstream_request = build(adapter, planned.target)
        except RequestNotSupported as exc:
            refused = exc
            continue
        attempt = AttemptRecord(span_id=new_span_id(state.random_bytes), target=planned.target,
                                provider_name=adapter.provider_name, start_ns=time.time_ns(),
                                resend_count=planned.resend_count)
        record.attempts.append(attempt)
        outcome = await _try(state, record, attempt, adapter, upstream_request, on_success)
        if not isinstance(outcome, UpstreamError):
            return outcome
        _record_failure(state, attempt, outcome)
        last = outcome
        if attempt.http_status not in (None, 200) and not is_retryable_status(attempt.http_status):
            break
    if last is None:
        message = str(refused) if refused else "No upstream target can serve this request."
        raise FrontError(400, message, "invalid_request_error", None, refused.param if refused else None)
    record.error_type = last.error_type
    return await state.deliver(request, web.Response(status=last.status, body=last.body, content_type=JSON_TYPE),
                               record)
