"""``create_app(settings)``: every provider's routes and the ``/_fake`` admin routes on one app.

The paths of the three wire formats do not collide: OpenAI under ``/v1/chat/completions``,
``/v1/embeddings``, ``/v1/models``, ``/v1/responses``; Anthropic under ``/v1/messages``; Gemini under
``/v1beta/models``. ``GET /v1/models`` answers in Anthropic's shape when ``anthropic-version`` is sent.

The front middleware journals every provider request, turns router errors (404, 405) and an
oversized body (413) into the provider's own error format, and turns an unexpected exception into
a provider-format 500 that is also recorded under ``/_fake/errors`` (tests fail on any).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from fake_providers import anthropic, errors, gemini, openai_chat, openai_embeddings, openai_responses
from fake_providers.admin import add_routes as add_admin_routes
from fake_providers.admin import admin_error
from fake_providers.behaviour_store import BehaviourStore
from fake_providers.exchange import Endpoint, error_plan, finish, request_id, serve
from fake_providers.exchange import handler as endpoint_handler
from fake_providers.journal import Journal, masked_headers, masked_query
from fake_providers.keys import (
    BEHAVIOURS, ENTRY, HANDLER_ERRORS, JOURNAL, METRICS, RAW_BODY, SETTINGS, SHUTDOWN,
)  # fmt: skip
from fake_providers.metrics import Metrics
from fake_providers.sending import Shape
from fake_providers.settings import FakeProviderSettings
from fake_providers.wire import Provider, Summary
from testbed.admin_key import ADMIN_HEADER, admin_allowed
from testbed.serving import ERROR_BODY

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CHAT = Endpoint(Provider.OPENAI, "chat.completions", openai_chat.parse, openai_chat.build)
EMBEDDINGS = Endpoint(Provider.OPENAI, "embeddings", openai_embeddings.parse, openai_embeddings.build)
RESPONSES = Endpoint(Provider.OPENAI, "responses", openai_responses.parse, openai_responses.build)
OPENAI_MODELS = Endpoint(
    Provider.OPENAI, "models", openai_embeddings.parse_models, openai_embeddings.build_models, json_body=False
)
ANTHROPIC_MODELS = Endpoint(
    Provider.ANTHROPIC, "models", openai_embeddings.parse_models, openai_embeddings.build_models, json_body=False
)
MESSAGES = Endpoint(Provider.ANTHROPIC, "messages", anthropic.parse, anthropic.build)
COUNT_TOKENS = Endpoint(Provider.ANTHROPIC, "messages.count_tokens", anthropic.parse_count, anthropic.build_count)
GEMINI = Endpoint(Provider.GEMINI, "generate_content", gemini.parse, gemini.build)
GEMINI_MODELS = Endpoint(Provider.GEMINI, "models", gemini.parse_list, gemini.build_list, json_body=False)


def provider_for(request: web.Request) -> Provider:
    """Whose error format an unrouted request gets."""
    path = request.path
    if path.startswith("/v1beta"):
        return Provider.GEMINI
    if path.startswith("/v1/messages") or "anthropic-version" in request.headers:
        return Provider.ANTHROPIC
    return Provider.OPENAI


async def models(request: web.Request) -> web.StreamResponse:
    return await serve(request, ANTHROPIC_MODELS if "anthropic-version" in request.headers else OPENAI_MODELS)


def _is_admin(path: str) -> bool:
    return path.startswith("/_fake/") or path == "/metrics"


async def _open_entry(request: web.Request) -> bool:
    """Open the journal entry, then read the body into it; False when the body is over the limit."""
    request[RAW_BODY] = b""
    request[ENTRY] = entry = request.app[JOURNAL].open(
        time_ns=time.time_ns(), method=request.method, path=request.path,
        query=masked_query(request.query.items()), headers=masked_headers(request.headers.items()), body=None,
    )  # fmt: skip
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return False
    except (RequestPayloadError, ConnectionResetError):  # corrupt gzip, unknown encoding, a body cut short
        raise web.HTTPBadRequest(reason="The request body could not be decoded.") from None
    request[RAW_BODY] = raw
    request.app[JOURNAL].set_body(entry, raw)
    return True


def _record_unexpected(request: web.Request, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    # Only the type and the place: a message could carry prompt content or a key.
    request.app[HANDLER_ERRORS].append({"type": type(exc).__name__, "where": where, "path": request.path})
    log.error("unexpected %s at %s", type(exc).__name__, where)
    return type(exc).__name__


@web.middleware
async def front(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _is_admin(request.path):
        key = request.app[SETTINGS].admin_key
        if request.path.startswith("/_fake/") and not admin_allowed(request.headers.get(ADMIN_HEADER), key):
            return admin_error(401, f"/_fake routes need the admin key in {ADMIN_HEADER}")
        return await handler(request)
    metrics = request.app[METRICS]
    metrics.in_flight.inc()
    try:
        try:
            if not await _open_entry(request):
                return await _router_error(request, 413, "The request body is too large.")
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return await _router_error(request, exc.status, exc.reason)
        except asyncio.CancelledError:
            entry = request.get(ENTRY)
            if entry is not None and not entry.done:
                entry.complete(Summary(status=0), "client_disconnected", {"first_byte_ns": None, "last_byte_ns": None})
            raise
        except Exception as exc:  # noqa: BLE001 - a fake must answer, and record, every failure
            name = _record_unexpected(request, exc)
            return await _router_error(request, 500, f"The fake provider failed unexpectedly ({name}).")
    finally:
        metrics.in_flight.dec()


async def _router_error(request: web.Request, status: int, reason: str) -> web.StreamResponse:
    provider = provider_for(request)
    entry = request[ENTRY]
    entry.provider = provider.value
    rid = entry.request_id = entry.request_id or request_id(provider)
    message = {404: f"Unknown request URL: {request.method} {request.path}.",
               405: f"Method {request.method} is not allowed for {request.path}."}.get(status, reason)  # fmt: skip
    code = "unknown_url" if status == 404 and provider is Provider.OPENAI else None
    plan = error_plan(request, provider, rid, status, message, code=code)
    return await finish(request, provider, "unrouted", plan, Shape())


def _openai_error(status: int, message: str) -> tuple[bytes, str]:
    """A request the HTTP parser refuses has no route yet, so it gets the OpenAI format (testbed.serving)."""
    spec = errors.ErrorSpec(status, message)
    return json.dumps(errors.error_body(Provider.OPENAI, spec, request_id(Provider.OPENAI))).encode(), "application/json"


def create_app(settings: FakeProviderSettings | None = None) -> web.Application:
    """Build the fake-providers app; nothing binds until a runner starts it."""
    settings = settings or FakeProviderSettings()
    app = web.Application(middlewares=[front], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[BEHAVIOURS] = BehaviourStore(settings.behaviours, settings.seed)
    app[JOURNAL] = Journal(capacity=settings.journal_capacity, body_limit=settings.journal_body_bytes,
                           body_budget=settings.journal_body_budget)
    app[METRICS] = Metrics()
    app[SHUTDOWN] = asyncio.Event()
    app[HANDLER_ERRORS] = []
    app[ERROR_BODY] = _openai_error

    async def on_shutdown(app: web.Application) -> None:
        app[SHUTDOWN].set()

    app.on_shutdown.append(on_shutdown)
    router = app.router
    router.add_post("/v1/chat/completions", endpoint_handler(CHAT))
    router.add_post("/v1/embeddings", endpoint_handler(EMBEDDINGS))
    router.add_post("/v1/responses", endpoint_handler(RESPONSES))
    router.add_get("/v1/models", models)
    router.add_get("/v1/models/{model_id}", models)
    router.add_post("/v1/messages", endpoint_handler(MESSAGES))
    router.add_post("/v1/messages/count_tokens", endpoint_handler(COUNT_TOKENS))
    router.add_post("/v1beta/models/{name}", endpoint_handler(GEMINI))
    router.add_get("/v1beta/models", endpoint_handler(GEMINI_MODELS))
    add_admin_routes(app)
    return app
