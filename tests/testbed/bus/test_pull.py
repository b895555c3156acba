"""``testbed.bus.fetch`` against a real nats-server: the batch limit, a short batch returned once the
server says no more, the timeout error when nothing comes, a message published during a waiting
fetch, and every message delivered once across fetches (nothing lost between requests)."""

from __future__ import annotations

import asyncio
import time
import uuid

import nats.errors
import pytest

from testbed.bus import BusSettings, NatsServer, connect, ensure_consumer, ensure_stream, fetch
from testbed.bus.subjects import MSG_ID_HEADER

pytestmark = pytest.mark.e2e


async def _setup(server: NatsServer, count: int) -> tuple:  # type: ignore[type-arg]
    tag = uuid.uuid4().hex[:10]
    settings = BusSettings(url=server.url, stream=f"P_{tag}", subject=f"pull.{tag}", durable=f"d-{tag}")
    nc = await connect(server.url, "test")
    js = nc.jetstream()
    await ensure_stream(js, settings)
    await ensure_consumer(js, settings)
    for i in range(count):
        await js.publish(settings.subject, str(i).encode(), headers={MSG_ID_HEADER: f"m-{i}"})
    sub = await js.pull_subscribe_bind(settings.durable, stream=settings.stream)
    return nc, js, settings, sub


async def test_a_batch_is_capped_and_every_message_comes_once(nats_server: NatsServer) -> None:
    nc, _, _, sub = await _setup(nats_server, 25)
    seen: list[bytes] = []
    first = await fetch(sub, 10, 5.0)
    assert len(first) == 10
    seen += [m.data for m in first]
    while len(seen) < 25:
        msgs = await fetch(sub, 10, 5.0)
        assert 0 < len(msgs) <= 10
        seen += [m.data for m in msgs]
        for m in msgs:
            await m.ack()
    assert sorted(seen, key=int) == [str(i).encode() for i in range(25)]
    with pytest.raises(nats.errors.TimeoutError):
        await fetch(sub, 10, 0.3)  # acked or held: nothing left to deliver
    await nc.close()


async def test_a_short_batch_returns_when_the_server_has_no_more(nats_server: NatsServer) -> None:
    nc, _, _, sub = await _setup(nats_server, 3)
    started = time.monotonic()
    msgs = await fetch(sub, 100, 10.0)
    assert [m.data for m in msgs] == [b"0", b"1", b"2"]
    assert time.monotonic() - started < 5.0  # the no_wait request ended it, not the 10 s deadline
    await nc.close()


async def test_a_waiting_fetch_gets_a_message_published_meanwhile(nats_server: NatsServer) -> None:
    nc, js, settings, sub = await _setup(nats_server, 0)
    waiting = asyncio.create_task(fetch(sub, 5, 2.0))
    await asyncio.sleep(0)  # the fetch sends its requests first
    await js.publish(settings.subject, b"late", headers={MSG_ID_HEADER: "late"})
    msgs = await waiting
    assert [m.data for m in msgs] == [b"late"]
    await nc.close()


async def test_an_empty_stream_times_out_like_nats_py(nats_server: NatsServer) -> None:
    nc, _, _, sub = await _setup(nats_server, 0)
    with pytest.raises(nats.errors.TimeoutError):
        await fetch(sub, 5, 0.3)
    await nc.close()
