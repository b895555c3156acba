"""The gateway's per-app state, held under one typed ``web.AppKey`` (no module-level state).

Besides its parts (router, publisher, upstream client...), the state holds the request path's
replaceable steps: plain functions that :func:`~testbed.gateway.app.create_app` chooses once, at
start, and the handlers call through the state. ``testbed selftest``'s seeded defects
(:mod:`testbed.gateway.defects`) are substitutes for these steps and for the upstream client, put in
place at start only when a defect is switched on; so nothing on the request path tests a switch, and
a gateway with no defect runs the production steps themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Final, Protocol

from aiohttp import web

from testbed.gateway.auth import Authenticator
from testbed.gateway.config import ApiKeyConfig, GatewayConfig
from testbed.gateway.events import RequestRecord
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.providers import UpstreamRequest
from testbed.gateway.publisher import Publisher
from testbed.gateway.routing import Router
from testbed.gateway.tracecontext import RandomBytes
from testbed.gateway.upstream import UpstreamResponse
from testbed.trace_event import TraceEvent


class Upstream(Protocol):
    """The gateway -> provider link: :class:`~testbed.gateway.upstream.UpstreamClient`, or a
    seeded defect's wrapper around it. ``start`` and ``close`` run in the app's cleanup context."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def open(self, request: UpstreamRequest, headers: dict[str, str], timeout_s: float,
             stream: bool) -> AbstractAsyncContextManager[UpstreamResponse]: ...


NewRecord = Callable[[web.Request, "GatewayState", str, str, "ApiKeyConfig | None"], RequestRecord]
"""(request, state, operation, route, key) -> the record of an inference request, its trace decided."""
CapturesContent = Callable[["GatewayState", RequestRecord], bool]
"""Whether the output content of this request is captured for its event."""
BuildEvent = Callable[["GatewayState", RequestRecord], TraceEvent]
"""The TraceEvent of a finished request; run by the publisher's drain, after the response."""
Deliver = Callable[[web.Request, web.StreamResponse, RequestRecord], Awaitable[web.StreamResponse]]
"""Write a whole (not streamed) response and record its timings."""


@dataclass(frozen=True, slots=True)
class GatewayState:
    config: GatewayConfig
    auth: Authenticator
    router: Router
    metrics: GatewayMetrics
    publisher: Publisher
    upstream: Upstream
    resource: dict[str, str]
    random_bytes: RandomBytes
    new_record: NewRecord
    captures_content: CapturesContent
    build_event: BuildEvent
    deliver: Deliver


STATE: Final = web.AppKey("gateway_state", GatewayState)
