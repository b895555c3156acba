"""Text in a TraceEvent is valid UTF-8 at the source: an undecodable header byte (a lone surrogate
after aiohttp's ``surrogateescape``) and a ``\\ud800`` escape in a JSON body become U+FFFD when the
event is built and serialised, so no bus message carries text an OTLP encoder must refuse."""

from __future__ import annotations

from testbed.gateway.events import build_event
from testbed.trace_event import TraceEvent

from tests.testbed.gateway.test_events import BODY, record


def finish(_provider: str, raw: str) -> str:
    return raw


def test_undecodable_header_bytes_become_replacement_characters() -> None:
    rec = record(exclude=False)
    rec.user_agent = "curl x\udcff"
    rec.correlation_id = "c\udcfe"
    rec.path = "/v1/chat/\udc80"
    ev = build_event(rec, {"service.name": "gw"}, event_id="e1", capture_content=True, finish=finish)
    back = TraceEvent.from_json(ev.to_json())
    assert back.http.user_agent == "curl x\ufffd"
    assert back.correlation_id == "c\ufffd"
    assert back.http.path == "/v1/chat/\ufffd"


def test_a_lone_surrogate_in_body_content_leaves_the_gateway_as_a_replacement_character() -> None:
    rec = record(exclude=False)
    body = dict(BODY)
    body["messages"] = [{"role": "user", "content": "hi \ud800 there"}]
    rec.body = body
    rec.requested_model = "alias\udfff"
    ev = build_event(rec, {"service.name": "gw"}, event_id="e1", capture_content=True, finish=finish)
    wire = ev.to_json()
    text = wire.decode("utf-8")  # strict: raises on any surrogate
    assert "hi \ufffd there" in text
    back = TraceEvent.from_json(wire)
    assert back.request.requested_model == "alias\ufffd"


def test_the_raw_header_text_defect_puts_the_lone_surrogate_back_on_the_wire() -> None:
    from testbed.exporter.encoder import split_encodable
    from testbed.exporter.mapping import map_event
    from testbed.gateway.defects import RAW_HEADER_TEXT, corrupt_event

    rec = record(exclude=False)
    rec.user_agent = "curl x\udcff"
    ev = corrupt_event(build_event(rec, {"service.name": "gw"}, event_id="e1", capture_content=True, finish=finish),
                       frozenset({RAW_HEADER_TEXT}))
    wire = ev.to_json()
    assert b"\\udcff" in wire  # what a gateway that never repairs text publishes
    kept, dropped = split_encodable(map_event(TraceEvent.from_json(wire)))
    assert dropped == 1 and kept  # the exporter leaves out that SERVER span alone
