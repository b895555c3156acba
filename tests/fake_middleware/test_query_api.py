"""The JSON query API under /api/v1/ (spans with filters, traces, stats, topology, requests,
canary, reset, long-poll), ``/metrics`` with the SPEC EXP-06 names, and ``wait_for`` waking on
arrival."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import aiohttp
import pytest

from fake_middleware import MiddlewareServer, SpanQuery
from fake_middleware.otlp_json import to_otlp_json
from tests.fake_middleware.helpers import JSON, gz, headers, request, span

TRACE = os.urandom(16)


async def seed(http: aiohttp.ClientSession, mw: MiddlewareServer) -> None:
    spans = [
        span(TRACE, b"\x01" * 8, name="chat gpt-4o", kind=3, start=100, end=300,
             attributes={"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 150, "stream": True}),
        span(TRACE, b"\x02" * 8, name="chat gpt-4o-mini", kind=3, start=200, end=400,
             attributes={"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 99}),
        span(name="POST /v1/chat/completions", kind=2, start=50, end=500, attributes={"http.route": "/v1/chat"}),
    ]
    async with http.post(mw.url + "/v1/traces", data=request(spans, service="gw").SerializeToString(),
                         headers=headers()) as resp:
        assert resp.status == 200


async def spans(http: aiohttp.ClientSession, mw: MiddlewareServer, params: list[tuple[str, str]]) -> dict:
    async with http.get(mw.url + "/api/v1/spans", params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


@pytest.mark.parametrize("params, names", [
    ([("where", "gen_ai.request.model==gpt-4o")], ["chat gpt-4o"]),
    ([("where", "gen_ai.usage.input_tokens>=100")], ["chat gpt-4o"]),
    ([("where", "gen_ai.usage.input_tokens<100")], ["chat gpt-4o-mini"]),
    ([("where", "stream==true")], ["chat gpt-4o"]),
    ([("where", "gen_ai.request.model"), ("where", "gen_ai.usage.input_tokens>1")], ["chat gpt-4o", "chat gpt-4o-mini"]),
    ([("kind", "SERVER")], ["POST /v1/chat/completions"]),
    ([("kind", "3"), ("name", "chat gpt-4o-mini")], ["chat gpt-4o-mini"]),
    ([("trace_id", TRACE.hex())], ["chat gpt-4o", "chat gpt-4o-mini"]),
    ([("service", "gw"), ("start_ns_min", "100"), ("start_ns_max", "150")], ["chat gpt-4o"]),
    ([("service", "other")], []),
    ([("resource_where", "service.name==gw"), ("tenant", "default"), ("kind", "2")], ["POST /v1/chat/completions"]),
], ids=["equals", "ge", "lt", "bool", "exists-and", "kind-name", "kind-number", "trace", "time", "no-service",
        "resource"])
async def test_span_filters(mw: MiddlewareServer, http: aiohttp.ClientSession, params: list[tuple[str, str]],
                            names: list[str]) -> None:
    await seed(http, mw)
    body = await spans(http, mw, params)
    assert [s["name"] for s in body["spans"]] == names and body["count"] == len(names)


async def test_spans_come_back_in_the_typed_form(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await seed(http, mw)
    (item,) = (await spans(http, mw, [("name", "chat gpt-4o")]))["spans"]
    assert item["attributes"]["gen_ai.usage.input_tokens"] == {"type": "int", "value": 150}
    assert item["trace_id"] == TRACE.hex() and item["kind_name"] == "CLIENT" and item["service"] == "gw"
    assert item["resource"]["attributes"]["service.name"]["value"] == "gw" and item["scope"]["name"] == "test.scope"


@pytest.mark.parametrize("params, word", [([("where", "x>=abc")], "where"), ([("kind", "9")], "kind"),
                                          ([("trace_id", "xyz")], "trace_id"), ([("colour", "red")], "colour")])
async def test_bad_query_parameters_get_400_naming_them(mw: MiddlewareServer, http: aiohttp.ClientSession,
                                                       params: list[tuple[str, str]], word: str) -> None:
    async with http.get(mw.url + "/api/v1/spans", params=params) as resp:
        assert resp.status == 400 and word in (await resp.json())["error"]


async def test_trace_route_returns_the_trace_or_404(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await seed(http, mw)
    async with http.get(f"{mw.url}/api/v1/traces/{TRACE.hex().upper()}") as resp:
        assert resp.status == 200 and len((await resp.json())["spans"]) == 2
    async with http.get(f"{mw.url}/api/v1/traces/{'ab' * 16}") as resp:
        assert resp.status == 404


async def test_stats_count_requests_spans_bytes_rejections_duplicates_by_status_and_tenant(
        mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    body = request([span(), span(trace_id=b"\x01")]).SerializeToString()
    for hdrs in (headers(), headers(), headers(key="nope")):
        async with http.post(mw.url + "/v1/traces", data=body, headers=hdrs):
            pass
    async with http.get(mw.url + "/api/v1/stats") as resp:
        stats = await resp.json()
    assert stats["requests"] == 3 and stats["spans"] == 1 and stats["spans_rejected"] == 2
    assert stats["spans_duplicate"] == 1 and stats["bytes_wire"] == 2 * len(body)
    assert stats["by_status"] == {"200": 2, "401": 1}
    assert stats["by_tenant"]["default"]["spans_accepted"] == 1 and stats["by_tenant"][""]["requests"] == 1


async def test_metrics_use_the_normative_names(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await seed(http, mw)
    async with http.get(mw.url + "/metrics") as resp:
        text = await resp.text()
    assert "fake_middleware_spans_accepted_total 3.0" in text
    assert "fake_middleware_spans_rejected_total 0.0" in text
    assert "fake_middleware_spans_duplicate_total 0.0" in text
    assert 'fake_middleware_requests_total{status="200"} 1.0' in text


async def test_requests_route_shows_per_request_metadata(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await seed(http, mw)
    async with http.get(mw.url + "/api/v1/requests", params={"since_id": "0"}) as resp:
        (item,) = (await resp.json())["requests"]
    assert item["status"] == 200 and item["span_count"] == 3 and item["auth_form"] == "raw"
    assert item["content_type"] == "application/x-protobuf" and len(item["body_sha256"]) == 64
    assert item["end_ns"] >= item["arrival_ns"] and item["retry_of"] is None


async def test_reset_forgets_everything(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await seed(http, mw)
    async with http.post(mw.url + "/api/v1/reset") as resp:
        assert resp.status == 200
    assert (await spans(http, mw, []))["count"] == 0 and mw.store.stats()["requests"] == 0


async def test_topology_from_a_multi_service_trace(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    trace = os.urandom(16)
    front, gw_server, gw_client, auth = (bytes([i]) * 8 for i in (1, 2, 3, 4))
    reqs = [
        request([span(trace, front, kind=2, start=0, end=1000)], service="frontend"),
        request([span(trace, gw_server, parent=front, kind=2, start=0, end=800, status=2),
                 span(trace, gw_client, parent=gw_server, kind=3, start=100, end=700,
                      attributes={"gen_ai.provider.name": "openai"})], service="gateway"),
        request([span(trace, auth, parent=front, kind=2, start=0, end=100)], service="auth"),
    ]
    for req in reqs:
        async with http.post(mw.url + "/v1/traces", data=req.SerializeToString(), headers=headers()):
            pass
    async with http.get(mw.url + "/api/v1/topology") as resp:
        topo = await resp.json()
    edges = {(e["source"], e["target"]): e for e in topo["edges"]}
    assert set(edges) == {("frontend", "gateway"), ("frontend", "auth"), ("gateway", "openai")}
    assert edges[("frontend", "gateway")]["error_rate"] == 1.0 and edges[("frontend", "auth")]["error_rate"] == 0.0
    assert edges[("frontend", "gateway")]["p50_ms"] == pytest.approx(800 / 1e6)
    nodes = {n["service"]: n for n in topo["nodes"]}
    assert nodes["gateway"]["calls"] == 1 and nodes["gateway"]["spans"] == 2 and nodes["openai"]["virtual"]
    assert nodes["frontend"]["calls"] == 1 and nodes["frontend"]["p99_ms"] == pytest.approx(1000 / 1e6)


@pytest.mark.parametrize("form", ["protobuf", "gzip", "json-bytes-base64", "header"])
async def test_canary_is_found_in_every_encoding(mw: MiddlewareServer, http: aiohttp.ClientSession, form: str) -> None:
    needle = "CNRY-USR-" + os.urandom(10).hex()
    hdrs = headers()
    if form == "json-bytes-base64":
        req = request([span(attributes={"blob": b"xy" + needle.encode()})])
        data, hdrs = json.dumps(to_otlp_json(req)).encode(), headers(JSON)
        assert base64.b64encode(b"xy" + needle.encode()).decode() in data.decode()
    elif form == "header":
        data, hdrs = request([span()]).SerializeToString(), {**hdrs, "X-Custom": needle}
    else:
        data = request([span(attributes={"gen_ai.input.messages": f"say {needle}"})]).SerializeToString()
        if form == "gzip":
            data, hdrs = gz(data), headers(gzip_body=True)
    async with http.post(mw.url + "/v1/traces", data=data, headers=hdrs):
        pass
    async with http.post(mw.url + "/api/v1/canary", json={"needle": needle}) as resp:
        found = await resp.json()
    assert found["found"] and found["request_ids"] == [1]
    if form == "header":
        assert found["hits"][0]["where"] == "header:x-custom"
    async with http.post(mw.url + "/api/v1/canary", data="CNRY-USR-absent000000000000") as resp:
        assert not (await resp.json())["found"]


async def test_wait_for_wakes_on_arrival(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    waiting = asyncio.create_task(mw.store.wait_for(SpanQuery(service="gw"), 3, timeout=30))
    await mw.store.wait_until(lambda s: s.waiting == 1, 5, "the waiter")
    assert not waiting.done()
    await seed(http, mw)
    assert len(await waiting) == 3


async def test_long_poll_waits_for_the_count(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    poll = asyncio.create_task(spans(http, mw, [("service", "gw"), ("wait_count", "3"), ("wait_timeout_s", "30")]))
    await mw.store.wait_until(lambda s: s.waiting == 1, 10, "the long poll to wait")
    assert not poll.done()
    await seed(http, mw)
    body = await poll
    assert body["count"] == 3 and not body["timed_out"]
    short = await spans(http, mw, [("service", "gw"), ("wait_count", "9"), ("wait_timeout_s", "0.05")])
    assert short["timed_out"] and short["count"] == 3
