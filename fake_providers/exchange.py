"""The request pipeline every provider endpoint shares (I/O glue).

Order: auth (401) -> provider headers (Anthropic's ``anthropic-version``) -> JSON parse and
validation (400, ``param`` names the field) -> behaviour decision (a bad ``x-fake-*`` header is a
400) -> latency -> faults that fire (hang, reset before headers, error status) -> the provider's
response plan -> ``sending.send`` (TTFT, inter-token gap, mid-stream error, truncation, slow body).
The journal entry opened by the middleware is completed with what was sent.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from fake_providers import canaries, errors
from fake_providers.behaviour_store import Decision
from fake_providers.behaviours import BehaviourError, BehaviourRule
from fake_providers.context import BuildContext, Parsed
from fake_providers.keys import BEHAVIOURS, ENTRY, METRICS, RAW_BODY, SETTINGS
from fake_providers.sending import ClientGone, Outcome, Shape, abort_connection, pause, send
from fake_providers.validation import InvalidRequest
from fake_providers.wire import Provider, ResponsePlan, Summary, json_plan
from testbed.safe_json import JsonBodyError, loads_body

FAULT_MESSAGES: Final[dict[int, str]] = {
    429: "Rate limit reached for requests. Please try again later.",
    529: "Overloaded",
    503: "The service is temporarily unavailable.",
}
MID_STREAM_MESSAGES: Final[dict[Provider, str]] = {
    Provider.OPENAI: "The server had an error while processing your request.",
    Provider.ANTHROPIC: "Overloaded",
    Provider.GEMINI: "Internal error encountered.",
}
RATE_LIMIT_HEADERS: Final = {
    "x-ratelimit-limit-requests": "10000",
    "x-ratelimit-limit-tokens": "10000000",
    "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-remaining-tokens": "9999000",
    "x-ratelimit-reset-requests": "6ms",
    "x-ratelimit-reset-tokens": "0s",
}

Build = Callable[[Any, BuildContext], ResponsePlan]
Parse = Callable[[Any, web.Request], Parsed]


@dataclass(frozen=True, slots=True)
class Endpoint:
    provider: Provider
    name: str
    parse: Parse
    build: Build
    json_body: bool = True


def handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await serve(request, endpoint)

    return handle


def request_id(provider: Provider) -> str:
    return "req_" + uuid.uuid4().hex[: 32 if provider is Provider.OPENAI else 24]


def base_headers(provider: Provider, rid: str, started_ns: int) -> dict[str, str]:
    if provider is Provider.OPENAI:
        ms = max(0, (time.time_ns() - started_ns) // 1_000_000)
        return {"x-request-id": rid, "openai-version": "2020-10-01", "openai-processing-ms": str(ms)}
    if provider is Provider.ANTHROPIC:
        return {"request-id": rid}
    return {"x-request-id": rid}


def error_canaries(request: web.Request) -> tuple[str, list[str]]:
    """The request's ERR canary (sha256 of ``err|<path>|<raw body>``) and the USR canaries in its body."""
    raw = request.get(RAW_BODY, b"")
    err = canaries.derive_from_bytes("ERR", b"err|" + request.path.encode() + b"|" + raw)
    return err, canaries.find_slot(raw.decode("utf-8", "replace"), "USR")


def error_message(request: web.Request, base: str) -> str:
    """``base`` plus the request's ERR canary and an echo of its USR canaries (SPEC section 4)."""
    return errors.with_canaries(base, *error_canaries(request))


def error_plan(
    request: web.Request, provider: Provider, rid: str, status: int, base: str, *,
    error_type: str | None = None, param: str | None = None, code: str | None = None,
    headers: dict[str, str] | None = None, retry_delay_s: float | None = None,
) -> ResponsePlan:  # fmt: skip
    err, usr = error_canaries(request)
    message = errors.with_canaries(base, err, usr)
    spec = errors.ErrorSpec(status, message, error_type, param, code, retry_delay_s)
    body = errors.error_body(provider, spec, rid)
    summary = Summary(status=status, error_type=errors.error_type_of(provider, body))
    summary.canaries = {"err": err, "echoed": usr}
    entry = request.get(ENTRY)
    all_headers = {**base_headers(provider, rid, entry.time_ns if entry else time.time_ns()), **(headers or {})}
    return json_plan(status, body, summary, all_headers)


def credential(provider: Provider, request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    if provider is Provider.ANTHROPIC:
        return request.headers.get("x-api-key") or bearer
    if provider is Provider.GEMINI:
        return request.headers.get("x-goog-api-key") or request.query.get("key") or bearer
    return bearer


def check_auth(provider: Provider, request: web.Request) -> None:
    key = credential(provider, request)
    allowed = request.app[SETTINGS].api_keys
    if not key:
        raise InvalidRequest("No API key was provided.", status=401)
    if allowed and key not in allowed:
        raise InvalidRequest("Incorrect API key provided.", status=401)


def parse_json(raw: bytes) -> Any:
    try:
        return loads_body(raw)
    except JsonBodyError as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request. {exc}") from None


def retry_headers(provider: Provider, status: int, rule: BehaviourRule, default_ms: int) -> dict[str, str]:
    """``retry-after`` / ``retry-after-ms`` for a throttling or server fault (OAI-09, ANT-09)."""
    if provider is Provider.GEMINI or rule.retry_after == "none" or not (status == 429 or status >= 500):
        return {}
    out: dict[str, str] = {}
    ms = rule.retry_after_ms
    if rule.retry_after is None and ms is None:
        ms = float(default_ms)
        if provider is Provider.ANTHROPIC:
            return {"retry-after": str(math.ceil(ms / 1000))}
    if ms is not None:
        out["retry-after-ms"] = str(int(ms)) if ms == int(ms) else repr(ms)
    out["retry-after"] = rule.retry_after if rule.retry_after is not None else str(math.ceil((ms or 0) / 1000))
    return out


def _delay(base_ms: float, decision: Decision, request: web.Request) -> float:
    if base_ms <= 0:
        return 0.0
    return base_ms / 1000 + request.app[BEHAVIOURS].jitter_s(decision.rule.jitter_ms)


def _shape(decision: Decision, request: web.Request) -> Shape:
    rule = decision.rule
    store = request.app[BEHAVIOURS]
    fire = decision.fire
    return Shape(
        ttft_s=_delay(rule.ttft_ms, decision, request),
        itl_s=rule.itl_ms / 1000,
        jitter=lambda: store.jitter_s(rule.jitter_ms) if rule.itl_ms > 0 else 0.0,
        mid_stream_error=rule.mid_stream_error if fire else None,
        truncate=rule.truncate if fire else None,
        reset_after_bytes=rule.reset.after_bytes if fire and rule.reset and rule.reset.after_bytes > 0 else None,
        slow_body=rule.slow_body,
    )


async def serve(request: web.Request, ep: Endpoint) -> web.StreamResponse:
    entry = request[ENTRY]
    entry.provider, entry.endpoint = ep.provider.value, ep.name
    rid = entry.request_id = request_id(ep.provider)
    try:
        check_auth(ep.provider, request)
        if ep.provider is Provider.ANTHROPIC and not request.headers.get("anthropic-version"):
            raise InvalidRequest("anthropic-version: header is required")
        parsed = ep.parse(parse_json(request[RAW_BODY]) if ep.json_body else None, request)
        entry.model, entry.stream = parsed.model, parsed.stream
        fake_headers = {k.lower(): v for k, v in request.headers.items() if k.lower().startswith("x-fake-")}
        decision = request.app[BEHAVIOURS].decide(parsed.model, ep.provider, parsed.stream, fake_headers)
    except InvalidRequest as exc:
        plan = error_plan(request, ep.provider, rid, exc.status, exc.message, param=exc.param)
        return await finish(request, ep.provider, ep.name, plan, Shape())
    except BehaviourError as exc:
        plan = error_plan(request, ep.provider, rid, 400, f"{exc.field}: {exc.message}", param=exc.field)
        return await finish(request, ep.provider, ep.name, plan, Shape())
    entry.behaviour = decision.describe()
    return await _answer(request, ep, parsed, decision, rid)


async def _answer(request: web.Request, ep: Endpoint, parsed: Parsed, decision: Decision, rid: str) -> web.StreamResponse:
    rule = decision.rule
    extra = {} if rule.should_retry is None else {"x-should-retry": "true" if rule.should_retry else "false"}
    latency = _delay(rule.latency_ms, decision, request)
    try:
        await pause(request, latency)
        if decision.fire and rule.hang is not None:
            request.app[METRICS].faults.labels("hang").inc()
            await pause(request, rule.hang.hold_ms / 1000 if rule.hang.hold_ms > 0 else math.inf)
            return _dropped(request, ep, "hang", close=True)
        if decision.fire and rule.reset is not None and rule.reset.after_bytes == 0:
            request.app[METRICS].faults.labels("reset").inc()
            return _dropped(request, ep, "reset", close=False)
    except ClientGone:
        return _dropped(request, ep, "client_disconnected", close=False)
    if decision.fire and (rule.status is not None or rule.overloaded):
        return await _status_fault(request, ep, rule, rid, extra)
    settings = request.app[SETTINGS]
    ctx = BuildContext(rid, int(time.time()), rule, settings, error_message(request, MID_STREAM_MESSAGES[ep.provider]))
    plan = ep.build(parsed, ctx)
    plan.headers = {**base_headers(ep.provider, rid, request[ENTRY].time_ns), **plan.headers, **extra}
    if ep.provider is Provider.OPENAI and plan.status == 200:
        plan.headers.update(RATE_LIMIT_HEADERS)
    return await finish(request, ep.provider, ep.name, plan, _shape(decision, request), latency)


async def _status_fault(
    request: web.Request, ep: Endpoint, rule: BehaviourRule, rid: str, extra: dict[str, str]
) -> web.StreamResponse:
    status = rule.status if rule.status is not None else (529 if ep.provider is Provider.ANTHROPIC else 503)
    request.app[METRICS].faults.labels("status").inc()
    default = FAULT_MESSAGES.get(status, "The fake provider was asked to fail this request.")
    headers = {**retry_headers(ep.provider, status, rule, request.app[SETTINGS].default_retry_after_ms), **extra}
    if ep.provider is Provider.OPENAI and status == 429:
        headers.update(RATE_LIMIT_HEADERS)
    delay = _retry_delay_s(rule, request.app[SETTINGS].default_retry_after_ms)
    plan = error_plan(
        request, ep.provider, rid, status, default, error_type=rule.error_type, headers=headers, retry_delay_s=delay
    )
    return await finish(request, ep.provider, ep.name, plan, Shape(slow_body=rule.slow_body))


def _retry_delay_s(rule: BehaviourRule, default_ms: int) -> float:
    """The delay a Gemini ``RetryInfo`` detail states: the behaviour's hint, else the default."""
    if rule.retry_after_ms is not None:
        return rule.retry_after_ms / 1000
    try:
        return float(rule.retry_after or "")
    except ValueError:
        return default_ms / 1000


def _dropped(request: web.Request, ep: Endpoint, outcome: str, *, close: bool) -> web.StreamResponse:
    """End without an answer: an orderly close after a hang, or a TCP reset."""
    transport = request.transport
    if close and transport is not None:
        transport.close()
    elif outcome == "reset":
        abort_connection(request)
    request[ENTRY].complete(Summary(status=0), outcome, {"first_byte_ns": None, "last_byte_ns": None})
    request.app[METRICS].requests.labels(ep.provider.value, ep.name, "0", outcome).inc()
    # Nothing reaches the client: the connection is already gone when aiohttp tries to send this.
    return web.Response(status=499)


async def finish(
    request: web.Request, provider: Provider, name: str, plan: ResponsePlan, shape: Shape, latency_s: float = 0.0
) -> web.StreamResponse:
    """Send ``plan`` and complete the request's journal entry with what went out.

    A handler cancelled because its client left (aiohttp's ``handler_cancellation``) still
    completes the entry with what was sent before it re-raises.
    """
    out = Outcome(extra={"latency_ms": round(latency_s * 1000, 3)})
    try:
        resp = await send(request, plan, shape, out)
    except asyncio.CancelledError:
        out.outcome = "client_disconnected"
        raise
    finally:
        request[ENTRY].complete(plan.summary, out.outcome, out.timing())
        request.app[METRICS].requests.labels(provider.value, name, str(plan.status), out.outcome).inc()
    return resp
