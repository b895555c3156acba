"""Topology edges per window and spans queried by infrastructure (SPEC 13, SIG-01, SIG-02): a
caller -> provider edge carries call count, error rate and p50/p99 for the whole run and for each
window of its spans' start times; spans are found by host, pod and namespace."""

from __future__ import annotations

import os

import aiohttp
import pytest

from fake_middleware import MiddlewareServer
from fake_middleware.topology import parse_window
from tests.fake_middleware.helpers import headers, request, span

S = 1_000_000_000


def client(start: int, duration: int, status: int = 0) -> object:
    return span(os.urandom(16), kind=3, start=start, end=start + duration, status=status,
                attributes={"gen_ai.provider.name": "openai"})


async def post(http: aiohttp.ClientSession, mw: MiddlewareServer, spans: list[object], **resource: str) -> None:
    req = request(spans, service="gateway", resource=resource)
    async with http.post(mw.url + "/v1/traces", data=req.SerializeToString(), headers=headers()) as resp:
        assert resp.status == 200


async def test_an_edge_lists_calls_errors_and_latency_per_window(mw: MiddlewareServer,
                                                                http: aiohttp.ClientSession) -> None:
    await post(http, mw, [client(10 * S, 100), client(10 * S + 5, 300), client(11 * S, 50_000_000, status=2)])
    async with http.get(mw.url + "/api/v1/topology", params={"window_s": "1"}) as resp:
        topo = await resp.json()
    (edge,) = [e for e in topo["edges"] if e["target"] == "openai"]
    assert (edge["calls"], edge["errors"], edge["window_ns"]) == (3, 1, S)
    first, second = edge["windows"]
    assert (first["start_ns"], first["calls"], first["error_rate"]) == (10 * S, 2, 0.0)
    assert first["p50_ms"] == pytest.approx(100 / 1e6) and first["p99_ms"] == pytest.approx(300 / 1e6)
    assert (second["start_ns"], second["calls"], second["error_rate"], second["p99_ms"]) == (11 * S, 1, 1.0, 50.0)


async def test_without_a_window_the_edges_have_no_window_list(mw: MiddlewareServer,
                                                             http: aiohttp.ClientSession) -> None:
    await post(http, mw, [client(S, 100)])
    async with http.get(mw.url + "/api/v1/topology") as resp:
        assert all("windows" not in e for e in (await resp.json())["edges"])


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "1e9"])
async def test_a_bad_window_is_400_naming_it(mw: MiddlewareServer, http: aiohttp.ClientSession, bad: str) -> None:
    async with http.get(mw.url + "/api/v1/topology", params={"window_s": bad}) as resp:
        assert resp.status == 400 and "window_s" in (await resp.json())["error"]


def test_a_window_is_read_in_seconds() -> None:
    assert parse_window(None) is None and parse_window("0.5") == S // 2


@pytest.mark.parametrize("key, value, want", [
    ("host.name", "node-a", 2), ("k8s.pod.name", "gw-7f9", 1), ("k8s.namespace.name", "llm", 3),
    ("service.instance.id", "i-2", 1),
], ids=["host", "pod", "namespace", "instance"])
async def test_spans_are_found_by_host_pod_and_namespace(mw: MiddlewareServer, http: aiohttp.ClientSession,
                                                         key: str, value: str, want: int) -> None:
    await post(http, mw, [client(S, 1)], **{"host.name": "node-a", "k8s.pod.name": "gw-7f9",
                                            "k8s.namespace.name": "llm", "service.instance.id": "i-1"})
    await post(http, mw, [client(S, 1)], **{"host.name": "node-a", "k8s.pod.name": "gw-abc",
                                            "k8s.namespace.name": "llm", "service.instance.id": "i-2"})
    await post(http, mw, [client(S, 1)], **{"host.name": "node-b", "k8s.namespace.name": "llm"})
    async with http.get(mw.url + "/api/v1/spans", params={"resource_where": f"{key}=={value}"}) as resp:
        assert (await resp.json())["count"] == want
