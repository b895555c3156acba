"""``create_app(config) -> web.Application``: the reference gateway's routes, state and lifecycle.

Routes: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models`` (OpenAI
format, Bearer gateway keys), ``GET /metrics`` (Prometheus text), ``GET /healthz``. State lives
under :data:`testbed.gateway.state.STATE`, with the request path's steps chosen here, once; a
seeded defect (``testbed selftest`` only) replaces a step here and nowhere else. The upstream
ClientSession and the publisher's drain task (with its NATS connection) are opened and closed in
``cleanup_ctx``.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web

from testbed import __version__
from testbed.bus import BusSettings
from testbed.gateway.auth import Authenticator
from testbed.gateway.config import GatewayConfig
from testbed.gateway.chat import captures_content
from testbed.gateway.defects import install as install_defects
from testbed.gateway.front import JSON_TYPE, deliver
from testbed.gateway.handlers import (
    CHAT_ROUTE, EMBEDDINGS_ROUTE, MODELS_ROUTE, build_trace_event, chat_completions, embeddings, metrics, models,
    new_record,
)
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.providers.base import openai_error_body
from testbed.gateway.publisher import Publisher, PublisherSettings
from testbed.gateway.resource_attrs import build_resource
from testbed.gateway.routing import Router
from testbed.gateway.state import STATE, GatewayState
from testbed.gateway.tracecontext import RandomBytes
from testbed.gateway.upstream import UpstreamClient
from testbed.serving import ERROR_BODY

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 32 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    config: GatewayConfig,
    *,
    rng: random.Random | None = None,
    random_bytes: RandomBytes | None = None,
    environ: Mapping[str, str] | None = None,
    instance_id: str | None = None,
) -> web.Application:
    """Build the gateway; ``rng`` orders weighted targets, ``random_bytes`` makes trace ids.

    Ids come by default from a generator seeded once from the OS: ids need to be random, not
    secret, and one ``os.urandom`` call per id is a system call on the request path.
    """
    if random_bytes is None:
        random_bytes = random.Random(os.urandom(32)).randbytes
    metrics_ = GatewayMetrics()
    bus = config.bus
    publisher = Publisher(
        PublisherSettings(url=bus.url, queue_size=bus.queue_size, max_payload=bus.max_payload,
                          publish_timeout_s=bus.publish_timeout_s, create_stream=bus.create_stream,
                          bus=BusSettings(url=bus.url)),
        metrics_,
    )
    env = os.environ if environ is None else environ
    resource = build_resource(config.resource, env, instance_id=instance_id or str(uuid.uuid4()),
                              host_name=socket.gethostname(), version=__version__)
    state = GatewayState(config=config, auth=Authenticator(config.api_keys), router=Router(config.models, rng),
                         metrics=metrics_, publisher=publisher, upstream=UpstreamClient(config.upstream),
                         resource=resource, random_bytes=random_bytes, new_record=new_record,
                         captures_content=captures_content, build_event=build_trace_event, deliver=deliver)
    state = install_defects(state, env)  # seeded defects (selftest only): the state itself when none is on
    app = web.Application(middlewares=[_openai_errors], client_max_size=MAX_REQUEST_BYTES)
    app[STATE] = state
    app[ERROR_BODY] = _openai_error
    app.router.add_post(CHAT_ROUTE, chat_completions)
    app.router.add_post(EMBEDDINGS_ROUTE, embeddings)
    app.router.add_get(MODELS_ROUTE, models)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", _healthz)
    app.cleanup_ctx.append(_upstream_ctx)
    app.cleanup_ctx.append(_publisher_ctx)
    return app


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _upstream_ctx(app: web.Application) -> AsyncIterator[None]:
    upstream = app[STATE].upstream
    await upstream.start()
    yield
    await upstream.close()


async def _publisher_ctx(app: web.Application) -> AsyncIterator[None]:
    publisher = app[STATE].publisher
    await publisher.start()
    yield
    await publisher.stop()


@web.middleware
async def _openai_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown routes, wrong methods and unexpected failures still answer in the OAI-08 shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = openai_error_body(exc.reason, "invalid_request_error" if exc.status < 500 else "server_error")
        return web.Response(status=exc.status, body=body, content_type=JSON_TYPE, headers=_allow(exc))
    except Exception as exc:
        log.error("unhandled %s on %s %s at %s", type(exc).__name__, request.method, request.path, _where(exc))
        body = openai_error_body("The gateway failed to handle the request.", "server_error")
        return web.Response(status=500, body=body, content_type=JSON_TYPE)


def _openai_error(status: int, message: str) -> tuple[bytes, str]:
    """Requests the HTTP parser refuses (testbed.serving) get the OAI-08 shape too."""
    return openai_error_body(message, "invalid_request_error" if status < 500 else "server_error"), JSON_TYPE


def _where(exc: BaseException) -> str:
    """File and line of the failure; never the message, which could hold request content."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


def _allow(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
