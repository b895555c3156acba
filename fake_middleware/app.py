"""``create_app(settings)``: the ingest app with every route wired and its state on typed AppKeys.

Three middlewares: one aborts requests arriving on the main port while it is down (FLT-03); one
asks the query, fault and reset routes for the admin key when one is set; the last gives 404/405
answers outside the query and admin API a ``google.rpc.Status`` body in the request's content type
(OTLP-01, OTLP-07).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from testbed.admin_key import ADMIN_HEADER, admin_allowed

from fake_middleware import api, otlp
from fake_middleware.faults import FaultSet
from fake_middleware.ingest import PATHS, abort, handle_export, is_down_here
from fake_middleware.keys import FAULTS, LISTENER, METRIC_STORE, REGISTRY, SETTINGS, STORE, ListenerState
from fake_middleware.metrics import make_registry
from fake_middleware.metrics_api import MetricStoreCollector, add_metric_routes
from fake_middleware.metrics_store import MetricStore
from fake_middleware.anomaly import AnomalyDetector
from fake_middleware.keys import DETECTOR
from fake_middleware.signals_api import add_signal_routes
from fake_middleware.settings import Settings
from fake_middleware.store import SpanStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_API_PREFIXES = ("/api/", "/_faults", "/metrics")
_ADMIN_PREFIXES = ("/api/", "/_faults")


@web.middleware
async def down_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_down_here(request):
        return abort(request)
    return await handler(request)


@web.middleware
async def admin_key_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The query, fault and reset routes need the admin key when one is set (``/metrics`` stays open)."""
    key = request.app[SETTINGS].admin_key
    if key and request.path.startswith(_ADMIN_PREFIXES) and not admin_allowed(request.headers.get(ADMIN_HEADER), key):
        return web.json_response({"error": f"this route needs the admin key in {ADMIN_HEADER}"}, status=401)
    return await handler(request)


@web.middleware
async def otlp_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if request.path.startswith(_API_PREFIXES):
            raise
        encoding = otlp.response_encoding(request.headers.get("Content-Type"))
        message = (f"no OTLP endpoint at {request.path}; use /v1/traces" if exc.status == 404
                   else f"{request.method} is not allowed on {request.path}; use POST")
        return web.Response(status=exc.status, body=otlp.status_body(encoding, exc.status, message),
                            content_type=encoding.value, headers={"Allow": "POST"} if exc.status == 405 else None)


def create_app(settings: Settings | None = None) -> web.Application:
    """The ingest app; its store and faults live on the app (``app[STORE]``, ``app[FAULTS]``).

    Serve it with ``auto_decompress=False`` (as MiddlewareServer does): the ingest inflates bodies
    itself, under its size limit.
    """
    settings = settings or Settings()
    # client_max_size only guards request.read(); OTLP bodies are streamed and bounded in ingest.
    app = web.Application(middlewares=[down_middleware, admin_key_middleware, otlp_errors_middleware],
                          client_max_size=1024 * 1024)
    store = SpanStore(settings.raw_bytes_limit, settings.max_requests)
    faults = FaultSet(settings.fault_seed)
    app[SETTINGS] = settings
    app[STORE] = store
    app[FAULTS] = faults
    app[LISTENER] = ListenerState()
    app[REGISTRY] = make_registry(store, faults)
    app[METRIC_STORE] = MetricStore()
    app[REGISTRY].register(MetricStoreCollector(app[METRIC_STORE]))
    for path in PATHS:
        app.router.add_post(path, handle_export)
    api.add_routes(app)
    add_metric_routes(app)
    app[DETECTOR] = AnomalyDetector()
    add_signal_routes(app)
    app.on_shutdown.append(_release_hangs)
    return app


async def _release_hangs(app: web.Application) -> None:
    # Hung requests wait for their fault to be cleared; clearing on shutdown lets them end.
    app[FAULTS].reset()
