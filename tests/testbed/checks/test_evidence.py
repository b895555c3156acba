"""Evidence values and the JSON span adapter: the documented ``{"type", "value"}`` attribute form
round-trips into typed values, malformed spans are refused, and counters sum by name and labels."""

from __future__ import annotations

import pytest

from testbed.checks.evidence import Counters, TypedValue, span_from_json

SPAN = {
    "trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736", "span_id": "00f067aa0ba902b7", "parent_span_id": "",
    "name": "chat gpt-4o-mini", "kind": 3, "start_ns": "1700000000000000000", "end_ns": 1700000000050000000,
    "status": {"code": 2, "message": "upstream 503"},
    "attributes": {
        "gen_ai.usage.input_tokens": {"type": "int", "value": "11"},
        "gen_ai.request.temperature": {"type": "double", "value": 0.5},
        "gen_ai.response.finish_reasons": {"type": "array", "value": [{"type": "string", "value": "stop"}]},
        "gen_ai.request.stream": {"type": "bool", "value": True},
        "x.kv": {"type": "kvlist", "value": {"a": {"type": "string", "value": "b"}}},
        "x.bytes": {"type": "bytes", "value": "aGk="},
    },
    "events": [{"name": "gen_ai.choice", "time_ns": 5, "attributes": {}}],
    "resource": {"service.name": {"type": "string", "value": "gw"}},
    "scope": {"name": "testbed.exporter", "version": "0.1"}, "tenant": "t1", "received_ns": 9,
}


def test_json_span_is_adapted_with_types_kept() -> None:
    s = span_from_json(SPAN)
    assert s.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736" and s.parent_span_id is None
    assert s.attributes["gen_ai.usage.input_tokens"] == TypedValue("int", 11)
    assert s.value("gen_ai.response.finish_reasons") == ["stop"]
    assert s.value("x.kv") == {"a": "b"} and s.value("x.bytes") == b"hi"
    assert (s.status_code, s.status_message, s.scope_name, s.tenant, s.received_ns) == (2, "upstream 503", "testbed.exporter", "t1", 9)
    assert s.duration_ns == 50_000_000 and s.events[0].name == "gen_ai.choice"


@pytest.mark.parametrize("attr", [
    {"type": "float", "value": 1.0}, {"type": "bool", "value": "true"}, {"type": "string", "value": 3}, "plain",
], ids=["unknown-type", "bool-as-string", "string-as-number", "untyped"])
def test_malformed_attribute_is_refused(attr: object) -> None:
    with pytest.raises(ValueError):
        span_from_json({**SPAN, "attributes": {"a": attr}})


def test_counters_sum_by_name_and_labels() -> None:
    c = Counters({'drops_total{reason="queue_full",hop="gw"}': 2, 'drops_total{reason="timeout"}': 3, "depth": 4})
    assert c.total("drops_total") == 5 and c.total("drops_total", reason="timeout") == 3
    assert c.by_label("drops_total", "reason") == {"queue_full": 2, "timeout": 3}
    assert c.total("depth") == 4 and c.total("missing") == 0
