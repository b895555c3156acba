"""A redelivery that reaches the exporter while it still holds the first copy is settled with that
copy and never exported twice (OTLP-05, LOSS-03, GW-10).

Cause of the duplicates seen after a long ingest outage: a fetch that ends on its deadline leaves
late messages in the client's buffer, where no in-progress heartbeat reaches them; with the queue
full nothing fetches them before ``ack_wait`` runs out, so the bus delivers them again, and both
copies were exported. Here the second copy is put on the bus directly (a new message id gets it
past JetStream's publish de-duplication) while the ingest holds the first copy's export.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter

from testbed.bus import NatsServer
from testbed.exporter.service import ExporterService

from tests.testbed.exporter.events import event
from tests.testbed.exporter.receiver import Receiver
from tests.testbed.exporter.test_service import (  # noqa: F401  (fixtures)
    bus_names,
    expected_keys,
    make_config,
    publish,
    run,
    services,
    start_receiver,
    value,
    wait_all_settled,
)


async def test_a_copy_delivered_while_the_first_is_held_is_exported_once(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]  # noqa: F811
) -> None:
    events = [event() for _ in range(8)]
    receiver = Receiver()
    receiver.hold = asyncio.Event()  # the ingest sits on the first export: its messages stay held
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    await publish(nats_server, bus_names, events)
    await receiver.wait_for(lambda r: r.arrivals >= 1)
    await publish(nats_server, bus_names, [], extra=[ev.to_json() for ev in events])  # the redeliveries
    await asyncio.wait_for(_consumed(service, 2 * len(events)), 20.0)
    receiver.hold.set()
    want = expected_keys(events)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want)
    await wait_all_settled(nats_server, bus_names)
    counts = Counter(receiver.accepted_keys())
    assert set(counts) == want
    assert max(counts.values()) == 1, "a span was exported twice"
    assert value(service, "testbed_exporter_events_consumed_total") == 2 * len(events)
    assert value(service, "testbed_exporter_held_redeliveries_total") == len(events)


async def _consumed(service: ExporterService, n: int) -> None:
    from testbed.waiting import wait_until_async

    await wait_until_async(lambda: value(service, "testbed_exporter_events_consumed_total") >= n, 20.0,
                           what=f"{n} deliveries pulled")


async def test_the_resend_defect_sends_an_accepted_batch_twice(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]  # noqa: F811
) -> None:
    events = [event() for _ in range(4)]
    receiver = Receiver()
    server = await start_receiver(receiver)
    config = make_config(nats_server, bus_names, str(server.make_url("/v1/traces")))
    config = dataclasses.replace(config, defects=frozenset({"resend_exported_batch"}))
    service = await run(config, services)
    await publish(nats_server, bus_names, events)
    want = expected_keys(events)
    await receiver.wait_for(lambda r: Counter(r.accepted_keys()) == Counter({k: 2 for k in want}))
    await wait_all_settled(nats_server, bus_names)
    assert value(service, "testbed_exporter_spans_exported_total") == len(want)  # counted once, sent twice
