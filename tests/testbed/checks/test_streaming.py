"""Streaming rules (SEM-14..SEM-18) against the provider journal: stream flag, usage on streams,
time to first chunk bounds, span end after the last chunk, spans for streams cut by errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks.evidence import Evidence
from testbed.checks.streaming import StreamingCheck
from tests.testbed.checks.builders import evidence, ids, with_span_attrs

CHECK = StreamingCheck()


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_conforming_streams_pass(provider: str) -> None:
    result = CHECK.run(evidence(2, provider, stream=True))
    assert result.outcome == "passed" and result.findings == ()


DEFECTS = [
    pytest.param({}, ("gen_ai.request.stream",), {}, ("SEM-14", "violation"), id="SEM-14-flag-missing"),
    pytest.param({"gen_ai.request.stream": "true"}, (), {}, ("SEM-14", "violation"), id="SEM-14-flag-as-string"),
    pytest.param({}, ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"), {}, ("SEM-15", "warning"),
                 id="SEM-15-usage-dropped-on-stream"),
    pytest.param({}, ("gen_ai.response.time_to_first_chunk",), {}, ("SEM-16", "warning"), id="SEM-16-ttfc-missing"),
    pytest.param({"gen_ai.response.time_to_first_chunk": 0.005}, (), {}, ("SEM-16", "violation"),
                 id="SEM-16-ttfc-below-configured-ttft"),
    pytest.param({"gen_ai.response.time_to_first_chunk": 5.0}, (), {}, ("SEM-16", "violation"),
                 id="SEM-16-ttfc-beyond-duration"),
    pytest.param({"gen_ai.response.time_to_first_chunk": 0.0}, (), {}, ("SEM-16", "violation"), id="SEM-16-ttfc-zero"),
]


@pytest.mark.parametrize(("put", "drop", "fields", "expected"), DEFECTS)
def test_seeded_stream_defect_is_reported(put: dict, drop: tuple, fields: dict, expected: tuple[str, str]) -> None:
    ev = with_span_attrs(evidence(1, stream=True), 0, drop=drop, put=put, **fields)
    assert expected in ids(CHECK.run(ev))


def test_dropped_stream_usage_is_a_violation_for_the_reference_gateway_SEM_15() -> None:
    ev = with_span_attrs(evidence(1, stream=True, reference_gateway=True), 0, drop=("gen_ai.usage.output_tokens",))
    assert ("SEM-15", "violation") in ids(CHECK.run(ev))


def test_span_ending_at_response_headers_is_a_violation_SEM_17() -> None:
    ev = evidence(1, stream=True)
    short = replace(ev.spans[0], end_ns=ev.spans[0].start_ns + 30_000_000)
    ev = replace(ev, spans=(short,) + ev.spans[1:])
    ev = with_span_attrs(ev, 0, put={"gen_ai.response.time_to_first_chunk": 0.025})
    assert ("SEM-17", "violation") in ids(CHECK.run(ev))


def test_mid_stream_error_needs_error_type_and_status_SEM_18() -> None:
    ev = evidence(1, stream=True)
    ev = replace(ev, journal=(replace(ev.journal[0], mid_stream_error=True, error_type="server_error"),))
    found = ids(CHECK.run(ev))
    assert ("SEM-18", "violation") in found
    fixed = with_span_attrs(ev, 0, put={"error.type": "server_error"}, status_code=2)
    assert CHECK.run(fixed).outcome == "passed"


def test_stream_cut_by_error_without_any_span_is_a_violation_SEM_18() -> None:
    ev = evidence(1, stream=True)
    ev = replace(ev, spans=ev.spans[1:], journal=(replace(ev.journal[0], mid_stream_error=True),))
    assert ("SEM-18", "violation") in ids(CHECK.run(ev))


def test_stream_flag_false_on_a_plain_call_is_info_SEM_14() -> None:
    ev = with_span_attrs(evidence(1), 0, put={"gen_ai.request.stream": False})
    result = CHECK.run(ev)
    assert ("SEM-14", "info") in ids(result) and result.outcome == "not_applicable"


def test_a_scenario_without_a_streamed_request_is_not_applicable_RUN_03() -> None:
    result = CHECK.run(evidence(2))
    assert result.outcome == "not_applicable" and result.judged == {"streams": 0}


def test_empty_evidence_is_not_applicable_RUN_03() -> None:
    assert CHECK.run(Evidence()).outcome == "not_applicable"


def test_streams_with_zero_spans_are_inconclusive_not_passed_RUN_03() -> None:
    result = CHECK.run(replace(evidence(3, stream=True), spans=()))
    assert result.outcome == "inconclusive" and result.judged == {"streams": 0}


def test_streams_whose_traceparent_the_gateway_dropped_are_still_judged_or_inconclusive_RUN_03() -> None:
    ev = evidence(3, stream=True)
    dropped = tuple(replace(e, headers={k: v for k, v in e.headers.items() if k != "traceparent"}) for e in ev.journal)
    assert CHECK.run(replace(ev, journal=dropped)).judged == {"streams": 3}  # paired by response id
    unpairable = tuple(replace(s, attributes={}) for s in ev.spans)
    result = CHECK.run(replace(ev, journal=dropped, spans=unpairable))
    assert result.outcome == "inconclusive" and "paired" in result.reason


def test_streamed_client_requests_with_an_empty_journal_are_inconclusive() -> None:
    assert CHECK.run(replace(evidence(1, stream=True), journal=())).outcome == "inconclusive"


def test_judged_counts_name_the_streams() -> None:
    assert CHECK.run(evidence(2, stream=True)).judged == {"streams": 2}
