"""The TraceEvent publisher (GW-08, GW-09): a non-blocking bounded queue with counted drops, and a
drain task that publishes to a real JetStream with ``Nats-Msg-Id`` = event id, holds events while
NATS is down and resumes without a restart once it is back, and counts ``stream_full`` and
``too_large`` drops."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from testbed.bus import BusSettings, NatsServer, connect
from testbed.bus.subjects import MSG_ID_HEADER, STREAM_NAME, SUBJECT
from testbed.gateway.metrics import GatewayMetrics
from testbed.gateway.publisher import Pending, Publisher, PublisherSettings
from testbed.trace_event import HttpInfo, RequestContent, RequestInfo, TraceContext, TraceEvent
from testbed.waiting import wait_until_async


def make_event(text: str = "hello") -> TraceEvent:
    return TraceEvent(
        event_id=str(uuid.uuid4()), resource={"service.name": "gw"},
        trace=TraceContext(trace_id="ab" * 16, server_span_id="cd" * 8),
        http=HttpInfo(method="POST", route="/v1/chat/completions", path="/v1/chat/completions"),
        request=RequestInfo(operation="chat", requested_model="m",
                            content=RequestContent(messages=[{"role": "user", "parts": [{"type": "text", "content": text}]}])),
        attempts=[], start_ns=1, end_ns=2,
    )


def pending(ev: TraceEvent) -> Pending:
    return Pending(build=lambda: ev, spans=1)


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels or None) or 0.0


def dropped(metrics: GatewayMetrics, reason: str) -> float:
    return sample(metrics, "testbed_gateway_events_dropped_total", reason=reason)


def published(metrics: GatewayMetrics) -> float:
    return sample(metrics, "testbed_gateway_events_published_total")


async def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url="nats://127.0.0.1:1", queue_size=2), metrics)
    results = [publisher.offer(Pending(build=make_event, spans=3)) for _ in range(5)]
    assert results == [True, True, False, False, False]
    assert dropped(metrics, "queue_full") == 3
    assert sample(metrics, "testbed_gateway_spans_dropped_total", reason="queue_full") == 9
    assert sample(metrics, "testbed_gateway_event_queue_depth") == 2


async def fetch_all(url: str, count: int) -> list:
    nc = await connect(url, "test-reader")
    js = nc.jetstream()
    sub = await js.pull_subscribe(SUBJECT, durable=f"reader-{uuid.uuid4().hex[:6]}", stream=STREAM_NAME)
    messages: list = []
    try:
        while len(messages) < count:
            messages += await sub.fetch(count - len(messages), timeout=10)
    finally:
        await nc.close()
    return messages


@pytest.mark.e2e
async def test_events_are_published_with_their_id_as_msg_id(fresh_nats_server: NatsServer) -> None:
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url=fresh_nats_server.url), metrics)
    await publisher.start()
    events = [make_event() for _ in range(5)]
    try:
        for ev in events:
            assert publisher.offer(pending(ev))
        await wait_until_async(lambda: published(metrics) == 5, 15, what="5 events published")
    finally:
        await publisher.stop()
    messages = await fetch_all(fresh_nats_server.url, 5)
    assert sorted(m.headers[MSG_ID_HEADER] for m in messages) == sorted(e.event_id for e in events)
    assert {TraceEvent.from_json(m.data).event_id for m in messages} == {e.event_id for e in events}


@pytest.mark.e2e
@pytest.mark.slow
async def test_events_are_held_while_nats_is_down_and_published_after_it_returns(fresh_nats_server: NatsServer) -> None:
    """GW-08: the first connection may fail, the queue absorbs events, overflow is counted, and
    publishing resumes without restarting the publisher."""
    fresh_nats_server.stop()
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url=fresh_nats_server.url, queue_size=3, publish_timeout_s=1.0), metrics)
    await publisher.start()
    try:
        offered = [publisher.offer(pending(make_event())) for _ in range(6)]
        held = sum(offered)
        assert held >= 3 and dropped(metrics, "queue_full") == 6 - held
        assert published(metrics) == 0
        fresh_nats_server.start()
        await wait_until_async(lambda: published(metrics) == held, 30, what="held events published")
        assert publisher.offer(pending(make_event()))
        await wait_until_async(lambda: published(metrics) == held + 1, 15, what="a new event published")
    finally:
        await publisher.stop()


@pytest.mark.e2e
@pytest.mark.slow
async def test_a_bus_that_dies_after_connecting_is_waited_out(fresh_nats_server: NatsServer) -> None:
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url=fresh_nats_server.url, publish_timeout_s=1.0), metrics)
    await publisher.start()
    try:
        publisher.offer(pending(make_event()))
        await wait_until_async(lambda: published(metrics) == 1, 15, what="first event")
        fresh_nats_server.stop()
        for _ in range(3):
            publisher.offer(pending(make_event()))
        fresh_nats_server.start()
        await wait_until_async(lambda: published(metrics) == 4, 30, what="events after restart")
        assert sum(dropped(metrics, r) for r in ("queue_full", "bus_rejected", "stream_full")) == 0
    finally:
        await publisher.stop()


@pytest.mark.e2e
async def test_a_full_discard_new_stream_counts_stream_full(fresh_nats_server: NatsServer) -> None:
    """GW-09."""
    metrics = GatewayMetrics()
    bus = BusSettings(url=fresh_nats_server.url, max_bytes=4096)
    publisher = Publisher(PublisherSettings(url=fresh_nats_server.url, bus=bus), metrics)
    await publisher.start()
    try:
        for _ in range(30):
            publisher.offer(pending(make_event("y" * 300)))
        await wait_until_async(lambda: published(metrics) + dropped(metrics, "stream_full") == 30, 15,
                               what="all events accounted")
        assert dropped(metrics, "stream_full") > 0 and published(metrics) > 0
        assert dropped(metrics, "bus_rejected") == 0
    finally:
        await publisher.stop()


@pytest.mark.e2e
async def test_oversize_events_are_truncated_or_dropped_as_too_large(fresh_nats_server: NatsServer) -> None:
    """GW-09: content is shortened with valid JSON and ``truncated=true``; an event that cannot
    fit at all is a ``too_large`` drop."""
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url=fresh_nats_server.url, max_payload=4096), metrics)
    await publisher.start()
    big = make_event("z" * 20_000)
    hopeless = TraceEvent(**{**{f: getattr(big, f) for f in big.__dataclass_fields__},
                             "event_id": str(uuid.uuid4()), "resource": {"k": "v" * 10_000}})
    try:
        publisher.offer(pending(big))
        publisher.offer(pending(hopeless))
        await wait_until_async(lambda: published(metrics) + dropped(metrics, "too_large") == 2, 15, what="accounted")
    finally:
        await publisher.stop()
    assert dropped(metrics, "too_large") == 1
    assert sample(metrics, "testbed_gateway_events_truncated_total") == 1
    [message] = await fetch_all(fresh_nats_server.url, 1)
    parsed = TraceEvent.from_json(message.data)
    assert parsed.truncated is True and parsed.event_id == big.event_id and len(message.data) < 4096


async def test_stop_counts_what_could_not_be_published_as_shutdown() -> None:
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url="nats://127.0.0.1:1", queue_size=10), metrics)
    await publisher.start()
    for _ in range(4):
        publisher.offer(pending(make_event()))
    await publisher.stop(drain_timeout_s=0.1)
    assert dropped(metrics, "shutdown") == 4
    assert publisher.depth == 0


async def test_a_backlog_is_built_one_event_per_loop_iteration_ISO_04() -> None:
    """Requests share the loop with the drain task: between two turns of the loop (where sockets
    are polled) at most one event may be built, so a backlog of 64 never holds a request up for
    the building of all 64 (their publishes then leave by chunks, one write each)."""
    metrics = GatewayMetrics()
    publisher = Publisher(PublisherSettings(url="nats://127.0.0.1:1", max_in_flight=64, linger_s=0.0), metrics)
    built: list[int] = []
    per_turn: list[int] = []

    def build() -> TraceEvent:
        built.append(1)
        return make_event()

    def probe() -> None:  # a callback per loop turn, as socket reads would be
        per_turn.append(len(built))
        if len(built) < 64:
            asyncio.get_running_loop().call_soon(probe)

    for _ in range(64):
        assert publisher.offer(Pending(build=build, spans=1))
    asyncio.get_running_loop().call_soon(probe)
    await publisher.start()
    try:
        await wait_until_async(lambda: len(built) == 64, 10, what="64 events built")
    finally:
        await publisher.stop(drain_timeout_s=0.1)
    steps = [b - a for a, b in zip(per_turn, per_turn[1:])]
    assert steps and max(steps) <= 1, f"events built between two loop turns: {max(steps)}"
