"""The exporter's small HTTP app: ``GET /metrics`` (Prometheus text) and ``GET /healthz``.

State lives under typed ``web.AppKey`` entries; nothing is module-level.
"""

from __future__ import annotations

from aiohttp import web

from testbed.exporter.metrics import ExporterMetrics

METRICS_KEY: web.AppKey[ExporterMetrics] = web.AppKey("exporter_metrics", ExporterMetrics)


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS_KEY].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def _healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(metrics: ExporterMetrics) -> web.Application:
    app = web.Application()
    app[METRICS_KEY] = metrics
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    return app
