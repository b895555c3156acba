"""Request building for the load generator: SPEC 4 canaries in their slots, W3C traceparent modes
(fresh, none, invalid per PROP-06), the correlation header, and gateway/direct alternation (LAT-04)."""

from __future__ import annotations

import json
import re

from testbed.runner.loadgen import CORRELATION_HEADER, build_request, schedule_for
from testbed.runner.scenario import MixEntry, parse_scenario

TP = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


def test_every_canary_slot_sits_where_spec_4_puts_it() -> None:
    b = build_request(MixEntry("m", tools=True), "m", "r-1", canaries=True, traceparent="fresh", tracestate=None)
    by_slot = {c.slot: c.value for c in b.canaries}
    assert set(by_slot) == {"SYS", "USR", "AST", "TDF", "TCA", "TCR", "HDR"}
    msgs = b.body["messages"]
    assert by_slot["SYS"] in msgs[0]["content"] and by_slot["USR"] in msgs[1]["content"]
    assert by_slot["USR"] in msgs[-1]["content"] and by_slot["TCR"] in msgs[3]["content"]
    assert by_slot["TCA"] in msgs[2]["tool_calls"][0]["function"]["arguments"]
    assert by_slot["TDF"] in b.body["tools"][0]["function"]["description"]
    assert b.headers["x-testbed-canary"] == by_slot["HDR"] and b.headers[CORRELATION_HEADER] == "r-1"
    assert all(c.request_id == "r-1" for c in b.canaries)


def test_without_canaries_or_tools_no_canary_is_planted() -> None:
    b = build_request(MixEntry("m"), "m", "r", canaries=False, traceparent="fresh", tracestate=None)
    assert b.canaries == () and "CNRY-" not in json.dumps(b.body) and "tools" not in b.body
    plain = build_request(MixEntry("m"), "m", "r", canaries=True, traceparent="fresh", tracestate=None)
    assert {c.slot for c in plain.canaries} == {"SYS", "USR", "AST", "HDR"}


def test_traceparent_modes() -> None:
    fresh = build_request(MixEntry("m", stream=True), "m", "r", canaries=False, traceparent="fresh", tracestate="a=b")
    m = TP.match(fresh.headers["traceparent"])
    assert m and m.group(1) == fresh.trace_id and fresh.headers["tracestate"] == "a=b"
    assert fresh.body["stream"] is True and fresh.body["stream_options"] == {"include_usage": True}
    other = build_request(MixEntry("m"), "m", "r", canaries=False, traceparent="fresh", tracestate=None)
    assert other.trace_id != fresh.trace_id
    none = build_request(MixEntry("m"), "m", "r", canaries=False, traceparent="none", tracestate="a=b")
    assert "traceparent" not in none.headers and "tracestate" not in none.headers
    bad = build_request(MixEntry("m"), "m", "r", canaries=False, traceparent="invalid", tracestate=None)
    assert bad.headers["traceparent"].startswith("00-" + "0" * 32) and bad.trace_id is None


def test_direct_requests_take_turns_with_gateway_requests_on_the_same_item() -> None:
    sc = parse_scenario({"name": "x", "workload": {"rate_per_s": 20, "duration_s": 1, "direct": True,
                                                    "mix": [{"model": "a"}, {"model": "b"}]}})
    arrivals = schedule_for(sc).arrivals
    assert all({arrivals[i].path, arrivals[i + 1].path} == {"gateway", "direct"}
               for i in range(0, len(arrivals) - 1, 2))
    assert all(arrivals[i].item == arrivals[i + 1].item for i in range(0, len(arrivals) - 1, 2))
