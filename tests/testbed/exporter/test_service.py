"""The exporter service end to end with a real nats-server (GW-10, EXP-01..06, LOSS-01/02): every
span published as a TraceEvent arrives at a real OTLP receiver and every message is acked; a 503
burst is retried with nothing lost; a permanent 400 drops and counts; a malformed message is
terminated and counted; a crashed exporter loses nothing (redelivery to the next one); SIGTERM
NAKs what it cannot finish; pulling pauses when the queue is full; max_deliver ends as
``retries_exhausted``; the metrics app serves the normative counter names."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from testbed.bus import NatsServer, connect
from testbed.bus.subjects import MSG_ID_HEADER
from testbed.exporter.config import ExporterConfig, parse_config
from testbed.exporter.service import ExporterService
from testbed.trace_event import TraceContext, TraceEvent
from testbed.waiting import wait_until_async

from tests.testbed.exporter.events import attempt, event
from tests.testbed.exporter.receiver import Receiver, Reply, create_receiver_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def bus_names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"stream": f"T_{tag}", "subject": f"test.{tag}.events", "durable": f"exp-{tag}"}


async def start_receiver(receiver: Receiver) -> TestServer:
    server = TestServer(create_receiver_app(receiver), host="127.0.0.1")
    await server.start_server()
    return server


def make_config(nats: NatsServer, names: dict[str, str], endpoint: str, **sections: dict[str, Any]) -> ExporterConfig:
    data: dict[str, dict[str, Any]] = {
        "bus": {"url": nats.url, **names, "ack_wait_s": 30, "fetch_wait_s": 0.2},
        "otlp": {"endpoint": endpoint, "api_key": "mw-test-key", "timeout_ms": 5000},
        "batch": {"schedule_delay_ms": 50, "max_export_batch_size": 16},
        "retry": {"initial_backoff_s": 0.05, "max_backoff_s": 0.2},
        "metrics": {"host": "127.0.0.1", "port": 0},
    }
    for name, values in sections.items():
        data[name] = {**data[name], **values}
    return parse_config(data, {})


async def publish(nats: NatsServer, names: dict[str, str], events: list[TraceEvent], extra: list[bytes] = ()) -> None:  # type: ignore[assignment]
    nc = await connect(nats.url, "test-publisher")
    js = nc.jetstream()
    from testbed.bus import BusSettings, ensure_stream

    await ensure_stream(js, BusSettings(url=nats.url, stream=names["stream"], subject=names["subject"]))
    for ev in events:
        await js.publish(names["subject"], ev.to_json(), headers={MSG_ID_HEADER: ev.event_id})
    for raw in extra:
        await js.publish(names["subject"], raw, headers={MSG_ID_HEADER: uuid.uuid4().hex})
    await nc.close()


async def consumer_state(nats: NatsServer, names: dict[str, str]) -> tuple[int, int]:
    nc = await connect(nats.url, "test-inspector")
    try:
        info = await nc.jetstream().consumer_info(names["stream"], names["durable"])
        return info.num_pending or 0, info.num_ack_pending or 0
    finally:
        await nc.close()


async def wait_all_settled(nats: NatsServer, names: dict[str, str], timeout: float = 20.0) -> None:
    async def settled() -> bool:
        return await consumer_state(nats, names) == (0, 0)

    await wait_until_async(settled, timeout, what="consumer num_pending and num_ack_pending at 0")


def expected_keys(events: list[TraceEvent]) -> set[tuple[str, str]]:
    keys = set()
    for ev in events:
        keys.add((ev.trace.trace_id, ev.trace.server_span_id))
        keys.update((ev.trace.trace_id, a.span_id) for a in ev.attempts)
    return keys


def value(service: ExporterService, name: str, **labels: str) -> float:
    got = service.metrics.registry.get_sample_value(name, labels or None)
    return 0.0 if got is None else got


def total(service: ExporterService, name: str) -> float:
    """Sum of a labelled counter over all its label values."""
    return sum(
        sample.value
        for family in service.metrics.registry.collect()
        for sample in family.samples
        if sample.name == name
    )


@pytest.fixture
async def services() -> AsyncIterator[list[ExporterService]]:
    started: list[ExporterService] = []
    yield started
    for service in started:
        await service.stop(drain_timeout_s=1.0)


async def run(config: ExporterConfig, services: list[ExporterService]) -> ExporterService:
    service = ExporterService(config)
    await service.start()
    services.append(service)
    return service


async def test_every_published_span_arrives_and_every_message_is_acked_loss_01(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(25)] + [event(attempts=[attempt(0, http_status=503, error_type="503"), attempt(1)])]
    await publish(nats_server, bus_names, events)
    receiver = Receiver()
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    want = expected_keys(events)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want)
    await wait_all_settled(nats_server, bus_names)
    assert set(receiver.accepted_keys()) == want
    assert value(service, "testbed_exporter_events_consumed_total") == len(events)
    assert value(service, "testbed_exporter_spans_exported_total") == len(want)
    await wait_until_async(lambda: service.queued_spans == 0, 5.0, what="spans_queued at 0")
    assert value(service, "testbed_exporter_spans_queued") == 0
    assert all(r.headers["Authorization"] == "mw-test-key" for r in receiver.received)
    assert max(len(r.span_keys()) for r in receiver.received) <= 16  # batches by size
    await server.close()


async def test_a_503_burst_is_retried_and_nothing_is_lost_loss_02(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(10)]
    await publish(nats_server, bus_names, events)
    receiver = Receiver([Reply(503)] * 3)
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    want = expected_keys(events)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want)
    await wait_all_settled(nats_server, bus_names)
    assert value(service, "testbed_exporter_export_retries_total", reason="status_503") == 3
    assert total(service, "testbed_exporter_spans_dropped_total") == 0
    await server.close()


async def test_a_permanent_400_drops_counts_and_acks_exp_03(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(6)]
    unencodable = event(trace=TraceContext(trace_id="ab" * 16, server_span_id="not-hex")).to_json()
    await publish(nats_server, bus_names, events, extra=[b"not a trace event", b'{"schema": "other/9"}', unencodable])
    receiver = Receiver(default=Reply(400))
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    await wait_all_settled(nats_server, bus_names)
    await wait_until_async(lambda: service.queued_spans == 0, 5.0, what="spans_queued at 0")
    assert value(service, "testbed_exporter_spans_dropped_total", reason="permanent_400") == len(expected_keys(events))
    assert value(service, "testbed_exporter_events_dropped_total", reason="malformed") == 3
    assert value(service, "testbed_exporter_export_retries_total", reason="status_400") == 0
    assert sum(len(r.span_keys()) for r in receiver.received) == len(expected_keys(events))  # sent once each
    await server.close()


async def test_a_crashed_exporter_loses_nothing_after_the_next_one_starts_exp_05(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(12)]
    await publish(nats_server, bus_names, events)
    stuck = Receiver()
    stuck.hold = asyncio.Event()  # never answers: the first exporter is mid-export
    stuck_server = await start_receiver(stuck)
    first = ExporterService(make_config(nats_server, bus_names, str(stuck_server.make_url("/v1/traces")),
                                        bus={"ack_wait_s": 2}))
    await first.start()
    await stuck.wait_for(lambda r: r.arrivals >= 1)
    assert (await consumer_state(nats_server, bus_names))[1] > 0  # pulled, not acked
    await first.abort()  # as SIGKILL: no ack, no NAK
    receiver = Receiver()
    server = await start_receiver(receiver)
    second = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces")), bus={"ack_wait_s": 2}),
                       services)
    want = expected_keys(events)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want, timeout=30.0)
    await wait_all_settled(nats_server, bus_names, timeout=30.0)
    assert value(second, "testbed_exporter_events_consumed_total") >= len(events)
    stuck.hold.set()
    await stuck_server.close()
    await server.close()


async def test_sigterm_drain_naks_unfinished_work_for_prompt_redelivery_exp_05(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(8)]
    await publish(nats_server, bus_names, events)
    stuck = Receiver()
    stuck.hold = asyncio.Event()
    stuck_server = await start_receiver(stuck)
    # ack_wait is long: only a NAK (not a timeout) can bring the messages back within the test deadline.
    first = ExporterService(make_config(nats_server, bus_names, str(stuck_server.make_url("/v1/traces")),
                                        bus={"ack_wait_s": 120}))
    await first.start()
    await stuck.wait_for(lambda r: r.arrivals >= 1)
    await first.stop(drain_timeout_s=0.3)
    nacked = sum(value(first, "testbed_exporter_events_nacked_total", reason=r) for r in ("shutdown",))
    assert nacked == len(events)
    assert first.queued_spans == 0
    receiver = Receiver()
    server = await start_receiver(receiver)
    await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces")), bus={"ack_wait_s": 120}), services)
    want = expected_keys(events)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want, timeout=20.0)
    await wait_all_settled(nats_server, bus_names)
    stuck.hold.set()
    await stuck_server.close()
    await server.close()


async def test_pulling_pauses_while_the_queue_is_full_and_resumes_after(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(20)]
    await publish(nats_server, bus_names, events)
    receiver = Receiver()
    receiver.hold = asyncio.Event()
    server = await start_receiver(receiver)
    config = make_config(nats_server, bus_names, str(server.make_url("/v1/traces")),
                         batch={"max_queue_size": 4, "max_export_batch_size": 4})
    service = await run(config, services)
    await receiver.wait_for(lambda r: r.arrivals >= 1)
    pending, _ = await consumer_state(nats_server, bus_names)
    assert pending > 0  # messages left on the bus: the exporter stopped pulling
    assert service.queued_spans <= 2 * 4  # one fetch may overshoot by one event per slot
    receiver.hold.set()
    want = expected_keys(events)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want)
    await wait_all_settled(nats_server, bus_names)
    await server.close()


async def test_a_message_naked_on_its_last_delivery_is_terminated_as_retries_exhausted_gw_10(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    events = [event() for _ in range(3)]
    await publish(nats_server, bus_names, events)
    receiver = Receiver(default=Reply(503))
    server = await start_receiver(receiver)
    config = make_config(nats_server, bus_names, str(server.make_url("/v1/traces")),
                         bus={"max_deliver": 2}, batch={"export_timeout_ms": 300})
    service = await run(config, services)
    await wait_all_settled(nats_server, bus_names)
    n_spans = len(expected_keys(events))
    await wait_until_async(
        lambda: value(service, "testbed_exporter_spans_dropped_total", reason="retries_exhausted") == n_spans,
        10.0, what="retries_exhausted drops",
    )
    assert value(service, "testbed_exporter_events_consumed_total") == 2 * len(events)
    assert value(service, "testbed_exporter_spans_exported_total") == 0
    await server.close()


async def test_metrics_endpoint_serves_the_normative_names_exp_06(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    receiver = Receiver()
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    assert service.metrics_url is not None
    async with aiohttp.ClientSession() as session:
        async with session.get(service.metrics_url + "/metrics") as response:
            text = await response.text()
            assert response.status == 200
    for name in ("testbed_exporter_events_consumed_total", "testbed_exporter_spans_exported_total",
                 "testbed_exporter_spans_queued", "testbed_exporter_batch_spans_bucket",
                 "testbed_exporter_export_duration_seconds_bucket"):
        assert name in text, name
    for name in ("testbed_exporter_spans_dropped_total", "testbed_exporter_export_retries_total"):
        assert f'{name}{{reason="' in text, name  # labelled series exist at 0 before any drop
    await server.close()


async def test_a_held_message_is_not_redelivered_while_its_export_outlasts_ack_wait_gw_10(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    """In-progress heartbeats keep the ack timer running: a second exporter on the same durable
    never sees the message the first one is still exporting, though ack_wait passes three times."""
    events = [event()]
    await publish(nats_server, bus_names, events)
    receiver = Receiver()
    receiver.hold = asyncio.Event()
    server = await start_receiver(receiver)
    config = make_config(nats_server, bus_names, str(server.make_url("/v1/traces")),
                         bus={"ack_wait_s": 1}, otlp={"timeout_ms": 20000})
    await run(config, services)
    await receiver.wait_for(lambda r: r.arrivals >= 1)
    await run(config, services)
    with pytest.raises(asyncio.TimeoutError):
        await receiver.wait_for(lambda r: r.arrivals >= 2, timeout=3.5)
    receiver.hold.set()
    await wait_all_settled(nats_server, bus_names)
    assert sorted(receiver.accepted_keys()) == sorted(expected_keys(events))


async def test_an_event_delivered_again_after_its_outcome_is_acked_without_a_second_export_exp_05(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]
) -> None:
    """A lost ack makes the bus deliver a finished event again; the exporter acks it and does not
    resend its spans (a resend of a request that got 200 is what OTLP-05 forbids)."""
    first = event()
    receiver = Receiver()
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    await publish(nats_server, bus_names, [first])
    await wait_all_settled(nats_server, bus_names)
    # The same event on the bus again, as a redelivery would bring it (a new message id gets it
    # past JetStream's publish de-duplication), followed by a fresh one to wait on.
    fresh = event()
    await publish(nats_server, bus_names, [], extra=[first.to_json(), fresh.to_json()])
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= expected_keys([fresh]))
    await wait_all_settled(nats_server, bus_names)
    assert sorted(receiver.accepted_keys()) == sorted(expected_keys([first, fresh]))
    assert value(service, "testbed_exporter_events_consumed_total") == 3
