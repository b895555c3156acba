"""The HTTP sender against a real local receiver, with a fake clock for every backoff wait
(EXP-01..04, OTLP-08/09/11/13/15, MW-02): retries, Retry-After, permanent drops, 413 splitting,
partial success, oversized responses, connection refused, and shutdown interrupting a wait."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from testbed.exporter.mapping import map_event
from testbed.exporter.retry import RetryPolicy
from testbed.exporter.sender import Sender, SenderSettings, SystemClock
from testbed.exporter.spans import SpanRecord

from tests.testbed.exporter.clock import FakeClock
from tests.testbed.exporter.events import event
from tests.testbed.exporter.receiver import Receiver, Reply, create_receiver_app


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def serve(receiver: Receiver) -> TestServer:
    server = TestServer(create_receiver_app(receiver), host="127.0.0.1")
    await server.start_server()
    return server


def groups(n: int) -> list[list[SpanRecord]]:
    return [map_event(event()) for _ in range(n)]


def sender_for(session: aiohttp.ClientSession, url: str, clock: FakeClock | None = None, **kw: object) -> Sender:
    settings = SenderSettings(endpoint=url, api_key="mw-key-1", timeout_s=5.0, **kw)  # type: ignore[arg-type]
    return Sender(session, settings, RetryPolicy(), clock=clock or FakeClock(), rng=random.Random(7))


async def test_two_503s_then_200_make_three_requests_with_growing_backoff_exp_01(session: aiohttp.ClientSession) -> None:
    receiver = Receiver([Reply(503), Reply(503)])
    server = await serve(receiver)
    clock = FakeClock()
    outcomes = await sender_for(session, str(server.make_url("/v1/traces")), clock).export(groups(2))
    await server.close()
    assert len(receiver.received) == 3
    assert [o.exported for o in outcomes] == [2, 2] and all(not o.dropped for o in outcomes)
    assert len(clock.sleeps) == 2
    assert 0.4 <= clock.sleeps[0] <= 0.6 and 0.8 <= clock.sleeps[1] <= 1.2
    assert clock.sleeps[1] > clock.sleeps[0]
    bodies = {r.request.SerializeToString() for r in receiver.received}
    assert len(bodies) == 1  # a retry resends the same request


async def test_request_headers_carry_raw_key_user_agent_and_gzip_mw_02_otlp_15(session: aiohttp.ClientSession) -> None:
    receiver = Receiver()
    server = await serve(receiver)
    await sender_for(session, str(server.make_url("/v1/traces"))).export(groups(1))
    await server.close()
    headers = receiver.received[0].headers
    assert headers["Authorization"] == "mw-key-1"
    assert headers["User-Agent"].startswith("testbed-exporter/") and "(Python)" in headers["User-Agent"]
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["Content-Encoding"] == "gzip"


async def test_json_protocol_without_compression_sends_otlp_json(session: aiohttp.ClientSession) -> None:
    receiver = Receiver()
    server = await serve(receiver)
    sender = sender_for(session, str(server.make_url("/v1/traces")), protocol="http/json", compression="none")
    outcomes = await sender.export(groups(1))
    await server.close()
    assert outcomes[0].exported == 2
    assert receiver.received[0].headers["Content-Type"] == "application/json"
    assert "Content-Encoding" not in receiver.received[0].headers
    assert len(receiver.received[0].span_keys()) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 415, 500])
async def test_a_permanent_status_is_sent_once_and_dropped_with_its_reason_exp_03(
    session: aiohttp.ClientSession, status: int
) -> None:
    receiver = Receiver([Reply(status)])
    server = await serve(receiver)
    clock = FakeClock()
    outcomes = await sender_for(session, str(server.make_url("/v1/traces")), clock).export(groups(2))
    await server.close()
    assert len(receiver.received) == 1 and clock.sleeps == []
    assert [o.dropped for o in outcomes] == [{f"permanent_{status}": 2}] * 2
    assert all(o.exported == 0 and o.nak_delay_s is None for o in outcomes)


async def test_retry_after_is_honoured_otlp_09(session: aiohttp.ClientSession) -> None:
    receiver = Receiver([Reply(429, {"Retry-After": "7"}), Reply(503, {"Retry-After": "2"})])
    server = await serve(receiver)
    clock = FakeClock()
    outcomes = await sender_for(session, str(server.make_url("/v1/traces")), clock).export(groups(1))
    await server.close()
    assert clock.sleeps == [7.0, 2.0]
    assert outcomes[0].exported == 2 and len(receiver.received) == 3


async def test_retry_after_past_the_deadline_naks_the_batch_exp_02(session: aiohttp.ClientSession) -> None:
    receiver = Receiver([Reply(503, {"Retry-After": "45"})])
    server = await serve(receiver)
    clock = FakeClock()
    outcomes = await sender_for(session, str(server.make_url("/v1/traces")), clock).export(groups(2))
    await server.close()
    assert len(receiver.received) == 1 and clock.sleeps == []
    assert [o.nak_delay_s for o in outcomes] == [45.0, 45.0]
    assert all(o.nak_reason == "status_503" for o in outcomes)


async def test_endless_503_stops_at_the_batch_deadline_and_naks(session: aiohttp.ClientSession) -> None:
    receiver = Receiver(default=Reply(503))
    server = await serve(receiver)
    clock = FakeClock()
    outcomes = await sender_for(session, str(server.make_url("/v1/traces")), clock).export(groups(1))
    await server.close()
    assert sum(clock.sleeps) < RetryPolicy().deadline_s
    assert outcomes[0].nak_delay_s is not None and outcomes[0].exported == 0
    assert len(receiver.received) == len(clock.sleeps) + 1
    # Below the 16 s cap, each jittered delay (x2 +-20%) is longer than the one before.
    assert clock.sleeps == sorted(clock.sleeps) and len(set(clock.sleeps)) == len(clock.sleeps)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_is_retried_with_backoff_otlp_11(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    url = f"http://127.0.0.1:{free_port()}/v1/traces"
    outcomes = await sender_for(session, url, clock).export(groups(1))
    assert len(clock.sleeps) >= 4
    assert clock.sleeps == sorted(clock.sleeps) and len(set(clock.sleeps)) == len(clock.sleeps)
    assert outcomes[0].nak_delay_s is not None and outcomes[0].nak_reason == "connection_error"


async def test_413_splits_the_batch_by_message_then_drops_a_single_oversized_span_exp_03(
    session: aiohttp.ClientSession,
) -> None:
    # The whole batch and then each half are "too large"; the single-span halves are accepted,
    # except one span that stays too large.
    receiver = Receiver([Reply(413), Reply(200), Reply(413), Reply(413), Reply(200)])
    server = await serve(receiver)
    clock = FakeClock()
    outcomes = await sender_for(session, str(server.make_url("/v1/traces")), clock).export(groups(2))
    await server.close()
    assert clock.sleeps == []  # splits are new requests, not retries
    assert [len(r.span_keys()) for r in receiver.received] == [4, 2, 2, 1, 1]
    assert outcomes[0].exported == 2 and outcomes[0].dropped == {}
    assert outcomes[1].exported == 1 and outcomes[1].dropped == {"too_large": 1}


async def test_partial_success_counts_rejected_spans_and_does_not_retry_exp_04(session: aiohttp.ClientSession) -> None:
    receiver = Receiver([Reply(200, rejected_spans=3)])
    server = await serve(receiver)
    outcomes = await sender_for(session, str(server.make_url("/v1/traces"))).export(groups(2))
    await server.close()
    assert len(receiver.received) == 1
    assert sum(o.exported for o in outcomes) == 1
    assert sum(o.dropped.get("partial_success", 0) for o in outcomes) == 3


async def test_a_response_over_four_mebibytes_is_dropped_not_retried_otlp_13(session: aiohttp.ClientSession) -> None:
    receiver = Receiver([Reply(200, body=b"x" * (4 * 1024 * 1024 + 1))])
    server = await serve(receiver)
    outcomes = await sender_for(session, str(server.make_url("/v1/traces"))).export(groups(1))
    await server.close()
    assert len(receiver.received) == 1
    assert outcomes[0].dropped == {"response_too_large": 2}


async def test_shutdown_interrupts_a_backoff_wait_and_naks(session: aiohttp.ClientSession) -> None:
    receiver = Receiver([Reply(503, {"Retry-After": "20"})])
    server = await serve(receiver)
    sender = Sender(session, SenderSettings(endpoint=str(server.make_url("/v1/traces"))), RetryPolicy(),
                    clock=SystemClock(), rng=random.Random(1))
    task = asyncio.create_task(sender.export(groups(1)))
    await receiver.wait_for(lambda r: len(r.received) == 1)
    sender.shutdown()
    outcomes = await asyncio.wait_for(task, timeout=5.0)  # far less than the 20 s Retry-After
    await server.close()
    assert outcomes[0].nak_delay_s is not None and outcomes[0].exported == 0
    assert len(receiver.received) == 1
