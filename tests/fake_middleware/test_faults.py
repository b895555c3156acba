"""Every ingest fault kind observed from a real aiohttp client (SPEC 10, FLT-01..13), applied over
the admin routes or from Python, recorded on the timeline, and cleared back to normal service."""

from __future__ import annotations

import asyncio
import email.utils
import time

import aiohttp
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from fake_middleware import MiddlewareServer
from fake_middleware.faults import FaultSpecError
from tests.fake_middleware.helpers import headers, request, span

BODY = request([span(), span(), span(), span()]).SerializeToString()


async def export(http: aiohttp.ClientSession, mw: MiddlewareServer, body: bytes = BODY,
                 timeout: float = 30) -> tuple[int, bytes, aiohttp.ClientResponse]:
    async with http.post(mw.url + "/v1/traces", data=body, headers=headers(),
                         timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        return resp.status, await resp.read(), resp


async def add(http: aiohttp.ClientSession, mw: MiddlewareServer, spec: dict[str, object]) -> None:
    async with http.post(mw.url + "/_faults", json=spec) as resp:
        assert resp.status == 201, await resp.text()


async def test_latency_delays_the_answer_and_still_stores(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    started = time.monotonic()
    await export(http, mw)
    baseline = time.monotonic() - started
    await add(http, mw, {"name": "slow", "kind": "latency", "latency_ms": 300, "jitter_ms": 20})
    started = time.monotonic()
    status, _, _ = await export(http, mw, request([span()]).SerializeToString())
    delayed = time.monotonic() - started
    assert status == 200 and delayed >= 0.28 and delayed > baseline
    assert mw.store.count() == 5


async def test_status_sequence_503_three_times_then_200(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await add(http, mw, {"name": "flaky", "kind": "status", "status": 503, "times": 3})
    statuses = [(await export(http, mw))[0] for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    assert mw.store.count() == 4 and [r.retry_of for r in mw.store.requests()][1:] == [1, 2, 3, 4]
    events = [(e["event"], e.get("n")) for e in await _timeline(http, mw)]
    assert events == [("added", None), ("applied", 1), ("applied", 2), ("applied", 3), ("exhausted", None)]


async def test_status_with_then_status_keeps_failing(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("status", status=503, times=1, then_status=500)
    assert [(await export(http, mw))[0] for _ in range(3)] == [503, 500, 500]


@pytest.mark.parametrize("fmt", ["seconds", "http-date"])
async def test_throttle_sends_retry_after(mw: MiddlewareServer, http: aiohttp.ClientSession, fmt: str) -> None:
    await add(http, mw, {"kind": "throttle", "status": 429, "retry_after": 7, "retry_after_format": fmt})
    status, _, resp = await export(http, mw)
    assert status == 429
    value = resp.headers["Retry-After"]
    if fmt == "seconds":
        assert value == "7"
    else:
        delay = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        assert 4 <= delay <= 8
    assert mw.store.count() == 0


async def test_partial_success_rejects_spans_and_does_not_store_them(mw: MiddlewareServer,
                                                                     http: aiohttp.ClientSession) -> None:
    await add(http, mw, {"kind": "partial_success", "rejected": 3, "error_message": "quota"})
    status, body, _ = await export(http, mw)
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert status == 200 and partial.rejected_spans == 3 and "quota" in partial.error_message
    assert mw.store.count() == 1 and mw.store.stats()["spans_rejected"] == 3


async def test_partial_success_fraction(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("partial_success", rejected=0.5)
    _, body, _ = await export(http, mw)
    assert ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans == 2


@pytest.mark.parametrize("code", [400, 413, 500])
async def test_permanent_failure(mw: MiddlewareServer, http: aiohttp.ClientSession, code: int) -> None:
    await add(http, mw, {"kind": "permanent", "status": code})
    assert [(await export(http, mw))[0] for _ in range(2)] == [code, code]
    assert mw.store.count() == 0


async def test_hang_never_answers_until_cleared(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await add(http, mw, {"name": "stuck", "kind": "hang"})
    pending = asyncio.create_task(export(http, mw))
    await mw.store.wait_until(lambda s: any(r.faults == ["stuck"] for r in s.requests()), 10, "the hang to apply")
    done, _ = await asyncio.wait({pending}, timeout=0.3)
    assert not done  # still no answer
    async with http.delete(mw.url + "/_faults/stuck") as resp:
        assert resp.status == 200
    with pytest.raises(aiohttp.ClientError):
        await pending
    assert mw.store.count() == 0 and mw.store.requests()[0].outcome == "hang"


async def test_hang_with_hold_closes_after_the_hold(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("hang", hold_ms=200)
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientError):
        await export(http, mw)
    assert time.monotonic() - started >= 0.19


async def test_client_timeout_against_a_hang(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("hang")
    with pytest.raises(asyncio.TimeoutError):
        await export(http, mw, timeout=0.3)


@pytest.mark.parametrize("after_bytes", [0, 10])
async def test_reset_closes_the_connection_mid_exchange(mw: MiddlewareServer, http: aiohttp.ClientSession,
                                                        after_bytes: int) -> None:
    mw.add_fault("reset", after_bytes=after_bytes, times=1)
    with pytest.raises(aiohttp.ClientError):
        await export(http, mw)
    assert mw.store.requests()[0].outcome == "reset"
    assert (await export(http, mw))[0] == 200  # times=1: normal service again


async def test_disconnect_closes_without_a_response(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("disconnect")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await export(http, mw)
    assert mw.store.count() == 0


async def test_down_refuses_connections_and_comes_back_on_the_same_port(mw: MiddlewareServer,
                                                                         http: aiohttp.ClientSession) -> None:
    mw.add_fault("down", name="outage")
    await mw.settled()
    async with aiohttp.ClientSession() as fresh:
        with pytest.raises(aiohttp.ClientConnectorError) as refused:
            await export(fresh, mw)
    assert isinstance(refused.value.os_error, ConnectionRefusedError)
    mw.clear_fault("outage")
    await mw.settled()
    assert (await export(http, mw))[0] == 200


async def test_down_with_duration_heals_itself(http: aiohttp.ClientSession) -> None:
    server = await MiddlewareServer(admin_port=0).start()
    try:
        async with http.post(server.admin_url + "/_faults", json={"kind": "down", "duration_ms": 300}) as resp:
            assert resp.status == 201
        with pytest.raises(aiohttp.ClientConnectorError):
            async with aiohttp.ClientSession() as fresh:
                await export(fresh, server)
        await server.faults.wait_until(lambda f: not f.list(), 10, "the down fault to clear")
        await server.settled()
        assert (await export(http, server))[0] == 200
    finally:
        await server.stop()


async def test_slow_body_trickles_the_response(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("slow_body", bytes_per_s=4000, chunk_bytes=400, body_bytes=1200)
    started = time.monotonic()
    status, body, _ = await export(http, mw)
    assert status == 200 and time.monotonic() - started >= 0.2
    assert not ExportTraceServiceResponse.FromString(body).HasField("partial_success")
    assert mw.store.count() == 4


async def test_big_response_is_over_the_client_limit_and_still_decodes(mw: MiddlewareServer,
                                                                       http: aiohttp.ClientSession) -> None:
    await add(http, mw, {"kind": "big_response"})
    status, body, _ = await export(http, mw)
    assert status == 200 and len(body) > 4 * 1024 * 1024
    ExportTraceServiceResponse.FromString(body)
    assert mw.store.count() == 4


async def test_size_limit_fault_lowers_the_limit(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("size_limit", max_request_bytes=100)
    assert (await export(http, mw))[0] == 413


async def test_auth_fault_switches_mode_and_keys(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await add(http, mw, {"name": "strict", "kind": "auth", "mode": "bearer", "keys": {"t9": "new-key"}})
    assert (await export(http, mw))[0] == 401
    async with http.post(mw.url + "/v1/traces", data=BODY, headers={**headers(), "Authorization": "Bearer new-key"}) as r:
        assert r.status == 200
    async with http.get(mw.url + "/_faults") as resp:
        assert "new-key" not in await resp.text()


async def test_probability_is_seeded_and_reproducible(http: aiohttp.ClientSession) -> None:
    runs = []
    for _ in range(2):
        server = await MiddlewareServer().start()
        try:
            server.add_fault("status", name="coin", status=503, probability=0.5)
            runs.append([(await export(http, server))[0] for _ in range(12)])
        finally:
            await server.stop()
    assert runs[0] == runs[1] and {200, 503} <= set(runs[0])


async def test_match_on_tenant_only_hits_that_tenant(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    mw.add_fault("permanent", status=500, match={"tenant": "tenant-b"})
    assert (await export(http, mw))[0] == 200
    async with http.post(mw.url + "/v1/traces", data=BODY, headers=headers(key="other-key-987")) as resp:
        assert resp.status == 500


@pytest.mark.parametrize("spec, field", [
    ({"kind": "nope"}, "kind"),
    ({"kind": "latency", "latency_ms": "x"}, "latency.latency_ms"),
    ({"kind": "throttle", "status": 500}, "throttle.status"),
    ({"kind": "status", "probability": 2}, "probability"),
    ({"kind": "hang", "bogus": 1}, "bogus"),
    ({"kind": "auth", "mode": "magic"}, "auth.mode"),
])
async def test_bad_fault_specs_get_400_naming_the_field(mw: MiddlewareServer, http: aiohttp.ClientSession,
                                                        spec: dict[str, object], field: str) -> None:
    async with http.post(mw.url + "/_faults", json=spec) as resp:
        assert resp.status == 400
        assert field in (await resp.json())["error"]


async def test_reset_restores_normal_service_and_is_on_the_timeline(mw: MiddlewareServer,
                                                                    http: aiohttp.ClientSession) -> None:
    mw.add_fault("permanent", status=500)
    mw.add_fault("latency", latency_ms=5000)
    async with http.post(mw.url + "/_faults/reset") as resp:
        assert resp.status == 200
    assert (await export(http, mw))[0] == 200
    assert [e["event"] for e in await _timeline(http, mw)].count("cleared") == 2
    with pytest.raises(FaultSpecError):
        mw.add_fault("down_not_a_kind")


async def _timeline(http: aiohttp.ClientSession, mw: MiddlewareServer) -> list[dict[str, object]]:
    async with http.get(mw.url + "/_faults/timeline") as resp:
        timeline = (await resp.json())["timeline"]
    assert all(isinstance(e["t_ns"], int) for e in timeline)
    return timeline
