"""Exclude Request Data (RED-01..RED-09): canary hits at the bus and ingest are classified by path,
keys never leak whatever the switch, kept fields survive, and the positive control (RED-07)
makes the check inconclusive when content is missing with the switch off."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from testbed.checks.evidence import Canary, CanaryHit, ClientRecord, Evidence
from testbed.checks.redaction import RedactionCheck
from tests.testbed.checks.builders import evidence, ids, with_span_attrs

CHECK = RedactionCheck()
USR = Canary("CNRY-USR-0123456789abcdef0123", "USR", "req-0")
OUT = Canary("CNRY-OUT-aaaaaaaaaaaaaaaaaaaa", "OUT", "req-0")
KEY = Canary("sk-CNRY-KEY-bbbbbbbbbbbbbbbbbbbb", "KEY", "req-0")
ERR = Canary("CNRY-ERR-cccccccccccccccccccc", "ERR", "req-0")
HDR = Canary("CNRY-HDR-dddddddddddddddddddd", "HDR", "req-0")


def on(**kw: Any) -> Evidence:
    ev = evidence(1, exclude_request_data=True, **kw)
    return replace(ev, canaries=(USR, OUT, KEY, ERR, HDR))


def hit(c: Canary, where: str = "ingest", location: str = "body") -> CanaryHit:
    return CanaryHit(c.value, c.slot, where, c.request_id, location, 120)  # type: ignore[arg-type]


def test_clean_run_with_the_switch_on_passes() -> None:
    result = CHECK.run(on())
    assert result.outcome == "passed" and result.findings == ()


@pytest.mark.parametrize(("h", "reference", "stream", "expected"), [
    (hit(USR), False, False, ("RED-01", "violation")),
    (hit(OUT), False, True, ("RED-03", "violation")),
    (hit(ERR), False, False, ("RED-04", "violation")),
    (hit(USR, location="attr:exception.message"), False, False, ("RED-04", "violation")),
    (hit(USR, where="bus"), True, False, ("RED-06", "violation")),
    (hit(KEY), False, False, ("RED-08", "violation")),
    (hit(HDR), False, False, ("RED-09", "violation")),
    (hit(USR, where="log"), False, False, ("RED-01", "info")),
], ids=["RED-01-user-content", "RED-03-stream-output", "RED-04-error-canary", "RED-04-exception-message",
        "RED-06-bus", "RED-08-key", "RED-09-header", "RED-01-log-is-info"])
def test_canary_hit_is_classified(h: CanaryHit, reference: bool, stream: bool, expected: tuple[str, str]) -> None:
    ev = on(reference_gateway=reference)
    ev = replace(ev, hits=(h,), client=tuple(replace(c, stream=stream) for c in ev.client))
    assert expected in ids(CHECK.run(ev))


def test_bus_hits_are_ignored_for_a_third_party_gateway_RED_06() -> None:
    ev = replace(on(reference_gateway=False), hits=(hit(USR, where="bus"),))
    assert CHECK.run(ev).findings == ()


def test_key_canary_is_a_violation_even_with_the_switch_off_RED_08() -> None:
    ev = replace(evidence(1), canaries=(KEY,), hits=(hit(KEY),))
    assert ("RED-08", "violation") in ids(CHECK.run(ev))


def test_canary_in_a_retry_attempt_span_is_RED_05() -> None:
    ev = with_span_attrs(on(), 0, put={"gw.attempt": 1, "gw.note": f"previous: {USR.value}"})
    assert ("RED-05", "violation") in ids(CHECK.run(ev))


def test_canary_in_a_status_description_found_by_the_span_scan_is_RED_04() -> None:
    ev = with_span_attrs(on(), 0, status_message=f"upstream said {USR.value}")
    assert ("RED-04", "violation") in ids(CHECK.run(ev))


@pytest.mark.parametrize(("put", "expected"), [
    ({"gen_ai.input.messages": "[]"}, ("RED-01", "violation")),
    ({"gen_ai.request.stop_sequences": ["x"]}, ("RED-01", "violation")),
    ({"tfy.input": "hello"}, ("RED-01", "violation")),
    ({"http.request.header.authorization": "Bearer x"}, ("RED-08", "violation")),
    ({"url.query": "alt=sse&key=AIza123"}, ("RED-08", "violation")),
], ids=["RED-01-content-attribute", "RED-01-stop-sequences", "RED-01-DEV-05-tfy-input",
        "RED-08-auth-header-recorded", "RED-08-key-query-parameter"])
def test_attribute_level_leaks(put: dict, expected: tuple[str, str]) -> None:
    assert expected in ids(CHECK.run(with_span_attrs(on(), 0, put=put)))


def test_ingest_api_key_in_a_span_is_a_violation_RED_08() -> None:
    ev = with_span_attrs(on(ingest_api_keys=("mw-secret-key",)), 0, put={"note": "mw-secret-key"})
    assert ("RED-08", "violation") in ids(CHECK.run(ev))


def test_redaction_must_keep_usage_and_ids_RED_02() -> None:
    ev = with_span_attrs(on(), 0, drop=("gen_ai.usage.input_tokens", "gen_ai.response.id"))
    assert ("RED-02", "violation") in ids(CHECK.run(ev))


def test_header_canary_with_the_switch_off_is_info_RED_09() -> None:
    ev = replace(evidence(1, capture_content=False), canaries=(HDR,), hits=(hit(HDR),))
    result = CHECK.run(ev)
    assert ("RED-09", "info") in ids(result) and result.outcome == "passed"


def test_positive_control_missing_content_is_inconclusive_RED_07() -> None:
    ev = replace(evidence(1), canaries=(USR, OUT))
    result = CHECK.run(ev)
    assert result.outcome == "inconclusive" and "RED-07" in result.reason


def test_positive_control_with_content_present_passes_RED_07() -> None:
    ev = with_span_attrs(evidence(1), 0, put={"gen_ai.input.messages": f'[{{"role":"user","parts":[{{"type":"text","content":"{USR.value}"}}]}}]',
                                              "gen_ai.output.messages": [{"role": "assistant", "content": OUT.value}]})
    result = CHECK.run(replace(ev, canaries=(USR, OUT)))
    assert result.outcome == "passed"


def test_switch_on_without_planted_canaries_is_inconclusive_RUN_03() -> None:
    result = CHECK.run(replace(on(), canaries=()))
    assert result.outcome == "inconclusive"


def test_records_are_plain_values() -> None:
    assert ClientRecord("x", 0, 0).ok is False
