"""Graded defect switches (RUN-07) and the defects added for the strict selftest (RUN-05): grade
parsing and validation per switch, the exact tally behind a rarity grade, each graded defect
breaking exactly 1 item in N (or waiting the graded time), the leak only the ingest can see
(the bus bytes hold no canary, the exported span does), and the client-only usage miscount."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from aiohttp import web

from testbed.defect_switches import Grade, Switches, Tally, grade_of, parse_defects, parse_grade, split_switch
from testbed.errors import ConfigError
from testbed.exporter.defects import LEAK_CONTENT_AT_INGEST, LOSE_SPANS_ON_RETRY, corrupt_spans, exporter_defects
from testbed.exporter.mapping import map_event
from testbed.exporter.spans import KIND_CLIENT
from testbed.gateway.defects import (
    PAYLOAD_ATTRIBUTE, PUBLISH_IN_REQUEST_PATH, WRONG_USAGE, corrupt_event, gateway_defects,
    miscount_client_usage, resolve,
)
from testbed.trace_event import RequestContent, RequestInfo, ResponseInfo, TraceEvent, Usage
from tests.testbed.exporter.events import attempt, event

CANARY = "CNRY-USR-0123456789abcdef0123"


@pytest.mark.parametrize(("text", "grade"), [
    ("1/1", Grade("rarity", every=1)),
    ("1/100", Grade("rarity", every=100)),
    ("1/5000", Grade("rarity", every=5000)),
    ("50ms", Grade("duration", seconds=0.05)),
    ("2.5ms", Grade("duration", seconds=0.0025)),
])
def test_a_grade_is_one_in_n_or_a_duration_in_milliseconds(text: str, grade: Grade) -> None:
    assert parse_grade(text) == grade
    assert parse_grade(grade.label) == grade


@pytest.mark.parametrize("text", ["", "1/0", "2/100", "1/", "100", "0ms", "5 ms", "5s", "-5ms", "1/1.5", "ms"])
def test_a_malformed_grade_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bad grade"):
        parse_grade(text)


def test_a_switch_splits_into_its_name_and_grade() -> None:
    assert split_switch("wrong_usage") == ("wrong_usage", None)
    assert split_switch("wrong_usage@1/10") == ("wrong_usage", Grade("rarity", every=10))
    assert grade_of({"wrong_usage@1/10", "drop_traceparent"}, "wrong_usage") == Grade("rarity", every=10)
    assert grade_of({"wrong_usage"}, "wrong_usage") is None


def test_a_graded_switch_is_active_under_its_full_spelling_only() -> None:
    active = gateway_defects(None, {"TESTBED_GATEWAY_DEFECTS": "wrong_usage@1/10"})
    assert active == {"wrong_usage@1/10"} and WRONG_USAGE not in active
    assert isinstance(active, Switches)


@pytest.mark.parametrize(("value", "message"), [
    ("drop_traceparent@1/10", r"TESTBED_GATEWAY_DEFECTS: drop_traceparent takes no grade, not '1/10'"),
    ("wrong_usage@5ms", r"wrong_usage takes a rarity grade, not '5ms'"),
    ("stall_request_path@1/10", r"stall_request_path takes a duration grade"),
    ("stall_request_path@fast", r"bad grade 'fast'"),
    ("wrong_usages@1/10", r"unknown defect 'wrong_usages'"),
])
def test_a_grade_the_switch_does_not_take_is_a_configuration_error(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        gateway_defects(None, {"TESTBED_GATEWAY_DEFECTS": value})


def test_the_exporter_takes_a_graded_loss_in_its_mapping_form() -> None:
    assert exporter_defects({"lose_spans_on_retry@1/100": True}, {}) == {"lose_spans_on_retry@1/100"}
    with pytest.raises(ConfigError, match=r"defects\.retry_on_400@1/10: retry_on_400 takes no grade"):
        exporter_defects({"retry_on_400@1/10": True}, {})


def test_a_rarity_tally_breaks_exactly_one_item_in_n_and_counts_each_defect_apart() -> None:
    tally, grade = Tally(), Grade("rarity", every=100)
    hits = [tally.hit("a", grade) for _ in range(1000)]
    assert sum(hits) == 10 and hits[99] and not hits[0]
    assert sum(tally.hit("b", Grade("rarity", every=10)) for _ in range(25)) == 2
    assert all(Tally().hit("c", None) for _ in range(3))


def _chat_event(output: int = 7) -> TraceEvent:
    a = attempt(response=ResponseInfo(id="chatcmpl-1", model="gpt-4o-mini", finish_reasons=["stop"],
                                      usage=Usage(input=11, output=output)))
    return event(attempts=[a], request=RequestInfo(operation="chat", requested_model="fast"))


def test_wrong_usage_graded_one_in_ten_changes_exactly_every_tenth_request() -> None:
    active = gateway_defects(["wrong_usage@1/10"], {})
    outputs = [corrupt_event(_chat_event(), active).attempts[0].response.usage.output for _ in range(50)]
    assert outputs.count(8) == 5 and outputs.count(7) == 45 and outputs[9] == 8


def test_the_graded_blocking_export_gives_up_after_the_grade() -> None:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces"}
    graded = resolve(gateway_defects([f"{PUBLISH_IN_REQUEST_PATH}@5ms"], {}), env)
    assert graded.stalls and graded.sync_export is not None and graded.sync_export.timeout_s == 0.005
    whole = resolve(gateway_defects([PUBLISH_IN_REQUEST_PATH], {}), env)
    assert whole.sync_export is not None and whole.sync_export.timeout_s != 0.005


def test_the_graded_loss_drops_exactly_one_span_in_n_and_tags_the_rest() -> None:
    active = exporter_defects({"lose_spans_on_retry@1/4": True}, {})
    kept = [s for _ in range(10) for s in corrupt_spans(map_event(_chat_event()), active)]
    assert len(kept) == 15  # 20 spans mapped, every 4th lost
    assert all(s.resource["testbed.defects"] == "lose_spans_on_retry@1/4" for s in kept)
    assert LOSE_SPANS_ON_RETRY not in active  # the retry table's whole-batch loss stays off


def _excluded_event() -> TraceEvent:
    messages = [{"role": "user", "parts": [{"type": "text", "content": f"say hi {CANARY}"}]}]
    e = event(request=RequestInfo(operation="chat", requested_model="fast", content=RequestContent(messages=messages)))
    return replace(e, excluded=True)


def test_the_ingest_only_leak_keeps_the_bus_clean_and_puts_the_prompt_on_the_client_span_red_01() -> None:
    gateway_side = corrupt_event(_excluded_event(), gateway_defects([LEAK_CONTENT_AT_INGEST], {}))
    on_the_bus = gateway_side.to_json()
    assert CANARY.encode() not in on_the_bus and gateway_side.request.content is None
    assert PAYLOAD_ATTRIBUTE in gateway_side.resource
    spans = corrupt_spans(map_event(TraceEvent.from_json(on_the_bus)), exporter_defects([LEAK_CONTENT_AT_INGEST], {}))
    leaked = [s for s in spans if CANARY in str(s.attributes.get("gen_ai.input.messages", ""))]
    assert [s.kind for s in leaked] == [KIND_CLIENT]
    assert not any(PAYLOAD_ATTRIBUTE in s.resource for s in spans)


def test_without_the_exporter_half_the_compressed_prompt_shows_no_canary_anywhere() -> None:
    gateway_side = corrupt_event(_excluded_event(), gateway_defects([LEAK_CONTENT_AT_INGEST], {}))
    spans = map_event(gateway_side)
    assert CANARY not in repr([(s.attributes, s.resource) for s in spans])


def test_the_ingest_only_leak_graded_one_in_three_hides_the_prompt_of_every_third_request_only() -> None:
    active = gateway_defects([f"{LEAK_CONTENT_AT_INGEST}@1/3"], {})
    carried = [PAYLOAD_ATTRIBUTE in corrupt_event(_excluded_event(), active).resource for _ in range(9)]
    assert carried == [False, False, True] * 3


def test_a_request_that_is_not_excluded_is_left_alone_by_the_ingest_only_leak() -> None:
    plain = replace(_excluded_event(), excluded=False)
    assert corrupt_event(plain, parse_defects([LEAK_CONTENT_AT_INGEST], {}, "X", frozenset({LEAK_CONTENT_AT_INGEST})),
                         ) == plain


@pytest.mark.parametrize(("body", "expected"), [
    ({"usage": {"prompt_tokens": 3, "completion_tokens": 7}}, 8),
    ({"usage": {"prompt_tokens": 3}}, None),
    ({"error": {"message": "no"}}, None),
])
def test_wrong_client_usage_adds_one_completion_token_to_the_json_answer_only(body: dict, expected: int | None) -> None:
    response = web.Response(body=json.dumps(body).encode(), content_type="application/json")
    miscount_client_usage(response)
    after = json.loads(response.body)  # type: ignore[arg-type]
    assert after.get("usage", {}).get("completion_tokens") == expected
    if expected is None:
        assert after == body


def test_wrong_client_usage_leaves_a_body_that_is_not_json_untouched() -> None:
    response = web.Response(body=b"not json")
    miscount_client_usage(response)
    assert response.body == b"not json"
