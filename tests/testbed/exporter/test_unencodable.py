"""Text that cannot be encoded never stalls export (EXP-05, LOSS-01, LOSS-02).

A request whose ``User-Agent`` holds the byte 0xFF reaches Python as a lone surrogate. A gateway
that writes it to the bus as a ``\\udcff`` JSON escape once made the exporter's encoder raise, and
the batch around it was held forever. These tests put exactly that payload on a real bus: the span
with the bad text is dropped alone and counted as ``unencodable``, its neighbours (even the other
spans of the same request) are exported, and every message is settled. They also cover the pure
helpers: the event writes lone surrogates as U+FFFD, and the encoder sorts out unencodable spans.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from testbed.bus import NatsServer
from testbed.exporter.encoder import encodable, encode_protobuf, split_encodable
from testbed.exporter.mapping import map_event
from testbed.exporter.service import ExporterService
from testbed.trace_event import TraceEvent, _plain, valid_text
from testbed.waiting import wait_until_async

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

POISON_UA = "curl/8 x\udcff"


def raw_poison(ev: TraceEvent) -> bytes:
    """The bytes an unsanitising gateway publishes: the lone surrogate as a JSON escape."""
    return json.dumps(_plain(ev), separators=(",", ":")).encode()


def poison_event() -> TraceEvent:
    base = event()
    return dataclasses.replace(base, http=dataclasses.replace(base.http, user_agent=POISON_UA))


def test_a_lone_surrogate_is_written_as_a_replacement_character() -> None:
    ev = poison_event()
    wire = ev.to_json()
    wire.decode("utf-8")  # strict: valid UTF-8
    assert TraceEvent.from_json(wire).http.user_agent == "curl/8 x\ufffd"
    assert valid_text("a\ud800b\udfff") == "a\ufffdb\ufffd"
    assert valid_text("plain") == "plain"


def test_the_encoder_leaves_out_only_the_span_with_unencodable_text() -> None:
    spans = map_event(TraceEvent.from_json(raw_poison(poison_event())))
    with pytest.raises(UnicodeEncodeError):
        encode_protobuf(spans)  # what stalled the old export task
    kept, dropped = split_encodable(spans)
    assert dropped == 1 and len(kept) == len(spans) - 1
    assert all(encodable(s) for s in kept)
    encode_protobuf(kept)


async def test_a_poison_message_is_counted_and_never_holds_its_batch(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService]  # noqa: F811
) -> None:
    normal = [event() for _ in range(20)]
    poison = [poison_event() for _ in range(3)]
    await publish(nats_server, bus_names, normal[:10], extra=[raw_poison(p) for p in poison])
    await publish(nats_server, bus_names, normal[10:])
    receiver = Receiver()
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    # Every normal span, and every poison span but the SERVER span that carries the bad User-Agent.
    want = expected_keys(normal) | {(p.trace.trace_id, a.span_id) for p in poison for a in p.attempts}
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want)
    await wait_all_settled(nats_server, bus_names)
    await wait_until_async(lambda: service.queued_spans == 0, 5.0, what="spans_queued at 0")
    assert set(receiver.accepted_keys()) == want
    assert value(service, "testbed_exporter_spans_dropped_total", reason="unencodable") == len(poison)
    assert value(service, "testbed_exporter_events_dropped_total", reason="malformed") == 0


async def test_an_export_that_raises_settles_the_failing_message_alone(
    nats_server: NatsServer, bus_names: dict[str, str], services: list[ExporterService],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the accept-time filter the encoder raises inside the export task: the batch is split
    # into single messages, the one that still fails is dropped whole and counted, the rest exported.
    monkeypatch.setattr("testbed.exporter.service.check_spans", lambda spans: (spans, 0))
    normal = [event() for _ in range(12)]
    poison = poison_event()
    await publish(nats_server, bus_names, normal[:6], extra=[raw_poison(poison)])
    await publish(nats_server, bus_names, normal[6:])
    receiver = Receiver()
    server = await start_receiver(receiver)
    service = await run(make_config(nats_server, bus_names, str(server.make_url("/v1/traces"))), services)
    want = expected_keys(normal)
    await receiver.wait_for(lambda r: set(r.accepted_keys()) >= want)
    await wait_all_settled(nats_server, bus_names)
    await wait_until_async(lambda: service.queued_spans == 0, 5.0, what="spans_queued at 0")
    assert set(receiver.accepted_keys()) == want
    assert value(service, "testbed_exporter_spans_dropped_total", reason="unencodable") == 1 + len(poison.attempts)
