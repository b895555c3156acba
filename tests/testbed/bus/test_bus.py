"""The embedded bus: a real nats-server with JetStream, an idempotent stream and a shared durable
consumer (SPEC 3.2, GW-09, GW-10), surviving a restart on the same store (FLT-21)."""

from __future__ import annotations


import pytest

from testbed.bus import BusSettings, NatsServer, connect, ensure_consumer, ensure_stream
from testbed.bus.subjects import MSG_ID_HEADER

pytestmark = pytest.mark.e2e


async def test_stream_creation_is_idempotent_and_discards_new(fresh_nats_server: NatsServer) -> None:
    nc = await connect(fresh_nats_server.url, "test")
    js = nc.jetstream()
    settings = BusSettings(url=fresh_nats_server.url)
    first = await ensure_stream(js, settings)
    second = await ensure_stream(js, settings)
    assert first.config.name == second.config.name == settings.stream
    assert str(getattr(second.config.discard, "value", second.config.discard)) == "new"
    await nc.close()


async def test_publishes_with_the_same_msg_id_are_stored_once(fresh_nats_server: NatsServer) -> None:
    nc = await connect(fresh_nats_server.url, "test")
    js = nc.jetstream()
    settings = BusSettings(url=fresh_nats_server.url)
    await ensure_stream(js, settings)
    for _ in range(2):
        await js.publish(settings.subject, b"{}", headers={MSG_ID_HEADER: "event-1"})
    info = await js.stream_info(settings.stream)
    assert info.state.messages == 1
    await nc.close()


async def test_two_pullers_on_the_durable_share_the_messages(fresh_nats_server: NatsServer) -> None:
    nc = await connect(fresh_nats_server.url, "test")
    js = nc.jetstream()
    settings = BusSettings(url=fresh_nats_server.url)
    await ensure_stream(js, settings)
    await ensure_consumer(js, settings)
    await ensure_consumer(js, settings)  # a second exporter binding the same durable
    for i in range(10):
        await js.publish(settings.subject, str(i).encode(), headers={MSG_ID_HEADER: f"e{i}"})
    a = await js.pull_subscribe_bind(settings.durable, stream=settings.stream)
    b = await js.pull_subscribe_bind(settings.durable, stream=settings.stream)
    got_a = await a.fetch(4, timeout=5)
    got_b = await b.fetch(6, timeout=5)
    for msg in got_a + got_b:
        await msg.ack()
    seen = sorted(int(m.data) for m in got_a + got_b)
    assert seen == list(range(10))
    await nc.close()


async def test_stream_survives_a_restart_on_the_same_store(fresh_nats_server: NatsServer) -> None:
    settings = BusSettings(url=fresh_nats_server.url)
    nc = await connect(fresh_nats_server.url, "test")
    js = nc.jetstream()
    await ensure_stream(js, settings)
    await js.publish(settings.subject, b"kept", headers={MSG_ID_HEADER: "k"})
    await nc.close()
    port = fresh_nats_server.port
    fresh_nats_server.restart()
    assert fresh_nats_server.port == port
    nc = await connect(fresh_nats_server.url, "test")
    info = await nc.jetstream().stream_info(settings.stream)
    assert info.state.messages == 1
    await nc.close()
