"""Every typed ``web.AppKey`` of the ingest app (no string keys, no module-level state)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry

from fake_middleware.anomaly import AnomalyDetector
from fake_middleware.faults import FaultSet
from fake_middleware.metrics_store import MetricStore
from fake_middleware.settings import Settings
from fake_middleware.store import SpanStore


@dataclass(slots=True)
class ListenerState:
    """Whether the main listener is down (FLT-03) and which local port it is.

    While down, a request that still arrives on an open connection to that port is aborted, as if
    the server process were gone. The admin port, when there is one, keeps serving.
    """

    down: bool = False
    main_port: int | None = None
    settle: Callable[[], Awaitable[None]] | None = None
    """Awaited by the admin routes so a ``down`` answered over HTTP is already in effect."""


SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", SpanStore)
METRIC_STORE = web.AppKey("metric_store", MetricStore)
DETECTOR = web.AppKey("detector", AnomalyDetector)
FAULTS = web.AppKey("faults", FaultSet)
LISTENER = web.AppKey("listener", ListenerState)
REGISTRY = web.AppKey("registry", CollectorRegistry)
