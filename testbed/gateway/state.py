"""The gateway's per-app state, held under one typed ``web.AppKey`` (no module-level state)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiohttp import web

from testbed.gateway.auth import Authenticator
from testbed.gateway.config import GatewayConfig
from testbed.gateway.defects import GatewayDefects
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.publisher import Publisher
from testbed.gateway.routing import Router
from testbed.gateway.tracecontext import RandomBytes
from testbed.gateway.upstream import UpstreamClient


@dataclass(frozen=True, slots=True)
class GatewayState:
    config: GatewayConfig
    auth: Authenticator
    router: Router
    metrics: GatewayMetrics
    publisher: Publisher
    upstream: UpstreamClient
    resource: dict[str, str]
    random_bytes: RandomBytes
    defects: GatewayDefects = GatewayDefects()
    """Seeded defects (selftest only); inert when empty."""


STATE: Final = web.AppKey("gateway_state", GatewayState)
