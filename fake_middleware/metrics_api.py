"""``GET /api/v1/metrics`` over the metric store, and its counters on ``/metrics`` (SPEC 12).

Parameters: ``name``, ``where`` (point attributes), ``resource_where``, ``since_ns``/``until_ns``
(the point's time, inclusive), ``limit``. Bad input gets 400 naming the parameter. The answer is
``{"count", "returned", "points": [...]}`` with each point as ``StoredPoint.to_dict`` gives it.
"""

from __future__ import annotations

from collections.abc import Iterator

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fake_middleware.keys import METRIC_STORE
from fake_middleware.metrics_store import MetricStore, parse_point_query
from fake_middleware.query import QueryError


async def get_metric_points(request: web.Request) -> web.Response:
    store = request.app[METRIC_STORE]
    try:
        query, limit = parse_point_query({k: request.query.getall(k) for k in request.query})
    except QueryError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    points = store.query(query)
    shown = points if limit is None else points[:limit]
    return web.json_response({"count": len(points), "returned": len(shown), "points": [p.to_dict() for p in shown]})


class MetricStoreCollector(Collector):
    """The metric store's counts, read at scrape time."""

    def __init__(self, store: MetricStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        s = self.store
        yield CounterMetricFamily("fake_middleware_metric_points_accepted", "Metric data points stored.",
                                  value=s.accepted)
        yield CounterMetricFamily("fake_middleware_metric_points_rejected",
                                  "Metric data points refused through partial_success.", value=s.rejected)
        yield CounterMetricFamily("fake_middleware_metric_points_dropped", "Points over the store's bound.",
                                  value=s.dropped)
        yield GaugeMetricFamily("fake_middleware_metric_points_stored", "Metric data points in the store.",
                                value=len(s.query()))


def add_metric_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/metrics", get_metric_points)
