"""The ingest's metrics side (SPEC 12): ``/v1/metrics`` in protobuf and JSON, gzip, the key,
faults as for traces, invalid points refused through partial_success (OTLP-06), and the
``/api/v1/metrics`` query with its filters and its counters on ``/metrics``."""

from __future__ import annotations

import gzip
import json

import aiohttp
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import HistogramDataPoint, Metric

from fake_middleware import MiddlewareServer
from tests.fake_middleware.helpers import JSON, KEY, PB, kvs


def histogram_request(name: str = "gen_ai.client.operation.duration", *, model: str = "gpt-4o-mini",
                      counts: tuple[int, ...] = (1, 2, 0), bounds: tuple[float, ...] = (0.1, 1.0),
                      start: int = 1_000, time: int = 2_000, host: str = "node-1") -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(kvs({"service.name": "gw", "host.name": host}))
    sm = rm.scope_metrics.add()
    metric: Metric = sm.metrics.add()
    metric.name, metric.unit = name, "s"
    metric.histogram.aggregation_temporality = 2
    metric.histogram.data_points.append(HistogramDataPoint(
        attributes=kvs({"gen_ai.operation.name": "chat", "gen_ai.request.model": model}),
        start_time_unix_nano=start, time_unix_nano=time, count=sum(counts), sum=1.5,
        bucket_counts=list(counts), explicit_bounds=list(bounds)))
    return req


async def post(http: aiohttp.ClientSession, mw: MiddlewareServer, body: bytes, ctype: str = PB,
               **headers: str) -> aiohttp.ClientResponse:
    async with http.post(f"{mw.url}/v1/metrics", data=body,
                         headers={"Authorization": KEY, "Content-Type": ctype, **headers}) as resp:
        await resp.read()
        return resp


async def points(http: aiohttp.ClientSession, mw: MiddlewareServer, **params: str) -> dict:  # type: ignore[type-arg]
    async with http.get(f"{mw.url}/api/v1/metrics", params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_a_protobuf_histogram_is_stored_with_its_buckets_and_temporality(
        mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    resp = await post(http, mw, histogram_request().SerializeToString())
    assert resp.status == 200
    got = (await points(http, mw))["points"]
    assert len(got) == 1
    p = got[0]
    assert (p["name"], p["unit"], p["type"], p["temporality"]) == ("gen_ai.client.operation.duration", "s",
                                                                     "histogram", "cumulative")
    assert p["bucket_counts"] == [1, 2, 0] and p["explicit_bounds"] == [0.1, 1.0] and p["count"] == 3
    assert p["attributes"]["gen_ai.request.model"] == {"type": "string", "value": "gpt-4o-mini"}


async def test_gzip_and_json_bodies_are_stored_too(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await post(http, mw, gzip.compress(histogram_request().SerializeToString()), **{"Content-Encoding": "gzip"})
    doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "m", "unit": "1", "sum": {
        "aggregationTemporality": 1, "isMonotonic": True,
        "dataPoints": [{"asInt": "5", "startTimeUnixNano": "1", "timeUnixNano": "2"}]}}]}]}]}
    resp = await post(http, mw, json.dumps(doc).encode(), JSON)
    assert resp.status == 200
    got = (await points(http, mw, name="m"))["points"]
    assert [(p["type"], p["temporality"], p["value"], p["monotonic"]) for p in got] == [("sum", "delta", 5.0, True)]
    assert (await points(http, mw))["count"] == 2


async def test_invalid_points_are_refused_through_partial_success(mw: MiddlewareServer,
                                                                  http: aiohttp.ClientSession) -> None:
    async with http.post(f"{mw.url}/v1/metrics", data=histogram_request(counts=(1, 2)).SerializeToString(),
                         headers={"Authorization": KEY, "Content-Type": PB}) as resp:
        answer = ExportMetricsServiceResponse.FromString(await resp.read())
    assert resp.status == 200
    assert answer.partial_success.rejected_data_points == 1
    assert "bucket counts" in answer.partial_success.error_message
    assert (await points(http, mw))["count"] == 0


async def test_a_missing_key_is_401_and_nothing_is_stored(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{mw.url}/v1/metrics", data=histogram_request().SerializeToString(),
                         headers={"Content-Type": PB}) as resp:
        assert resp.status == 401
    assert (await points(http, mw))["count"] == 0


async def test_a_status_fault_applies_to_metrics_as_to_traces(mw: MiddlewareServer,
                                                             http: aiohttp.ClientSession) -> None:
    mw.add_fault("status", status=503, times=1)
    await mw.settled()
    first = await post(http, mw, histogram_request().SerializeToString())
    second = await post(http, mw, histogram_request().SerializeToString())
    assert (first.status, second.status) == (503, 200)
    assert (await points(http, mw))["count"] == 1


async def test_points_are_filtered_by_name_attributes_resource_and_time(mw: MiddlewareServer,
                                                                       http: aiohttp.ClientSession) -> None:
    await post(http, mw, histogram_request(model="a", time=2_000).SerializeToString())
    await post(http, mw, histogram_request(model="b", time=5_000, host="node-2").SerializeToString())
    await post(http, mw, histogram_request(name="other").SerializeToString())
    assert (await points(http, mw, name="gen_ai.client.operation.duration"))["count"] == 2
    assert (await points(http, mw, where="gen_ai.request.model==b"))["count"] == 1
    assert (await points(http, mw, resource_where="host.name==node-2"))["count"] == 1
    assert (await points(http, mw, since_ns="3000"))["count"] == 1
    assert (await points(http, mw, until_ns="3000", name="other"))["count"] == 1


async def test_a_bad_parameter_is_400_naming_it(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    for params in ({"since_ns": "yesterday"}, {"colour": "red"}, {"where": "x>=abc"}):
        async with http.get(f"{mw.url}/api/v1/metrics", params=params) as resp:
            assert resp.status == 400
            assert next(iter(params)) in (await resp.json())["error"]


async def test_points_are_counted_on_the_prometheus_page_and_cleared_by_reset(
        mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await post(http, mw, histogram_request().SerializeToString())
    await post(http, mw, histogram_request(counts=(9,)).SerializeToString())
    async with http.get(f"{mw.url}/metrics") as resp:
        text = await resp.text()
    assert "fake_middleware_metric_points_accepted_total 1.0" in text
    assert "fake_middleware_metric_points_rejected_total 1.0" in text
    async with http.post(f"{mw.url}/api/v1/reset") as resp:
        assert resp.status == 200
    assert (await points(http, mw))["count"] == 0
