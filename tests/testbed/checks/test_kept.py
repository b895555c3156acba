"""RED-02 without pairing: with Exclude Request Data on, a GenAI span stripped of its operation name
or finish reasons is a violation even when no span can be paired with an upstream request (a
gateway that sends no ``traceparent``), and kept values must agree with what the client saw."""

from __future__ import annotations

from dataclasses import replace

from testbed.checks.evidence import Canary, Evidence
from testbed.checks.kept import check_kept_fields, tie_spans_to_answers
from testbed.checks.redaction import RedactionCheck
from testbed.checks.result import FindingSink
from tests.testbed.checks.builders import evidence, ids, with_span_attrs

USR = Canary("CNRY-USR-0123456789abcdef0123", "USR", "req-0")


def on(ev: Evidence) -> Evidence:
    return replace(ev, canaries=(USR,))


def unpairable(ev: Evidence) -> Evidence:
    """No traceparent upstream and no journal at all: nothing can pair a span with a request."""
    return replace(ev, journal=())


def test_stripped_span_without_any_pairing_is_a_violation_RED_02() -> None:
    ev = on(unpairable(evidence(2, exclude_request_data=True)))
    ev = with_span_attrs(ev, 0, drop=("gen_ai.operation.name", "gen_ai.response.finish_reasons"))
    result = RedactionCheck().run(ev)
    assert result.outcome == "failed"
    assert {f.evidence["attribute"] for f in result.findings if f.spec_id == "RED-02"} == \
        {"gen_ai.operation.name", "gen_ai.response.finish_reasons"}


def test_intact_spans_pass_and_are_counted() -> None:
    result = RedactionCheck().run(on(unpairable(evidence(2, exclude_request_data=True))))
    assert result.outcome == "passed" and result.judged["kept_spans"] == 2 and result.judged["client_answers"] == 2


def test_kept_values_must_agree_with_what_the_client_saw_RED_02() -> None:
    ev = evidence(1)
    ev = replace(ev, client=tuple(replace(c, completion_tokens=99, finish_reasons=("length",)) for c in ev.client))
    sink = FindingSink("redaction")
    check_kept_fields(ev.spans, ev.client, sink)
    assert {f.evidence["attribute"] for f in sink.findings} == {"gen_ai.usage.output_tokens",
                                                                 "gen_ai.response.finish_reasons"}


def test_failed_calls_and_server_spans_are_not_held_to_the_kept_fields() -> None:
    ev = with_span_attrs(evidence(1), 0, drop=("gen_ai.usage.input_tokens",), put={"error.type": "timeout"})
    sink = FindingSink("redaction")
    assert check_kept_fields(ev.spans, ev.client, sink)["spans"] == 0 and sink.findings == []


def test_canaries_planted_but_zero_spans_is_inconclusive_RUN_03() -> None:
    result = RedactionCheck().run(on(replace(evidence(2, exclude_request_data=True), spans=())))
    assert result.outcome == "inconclusive" and "no span" in result.reason


def test_raw_and_normalized_span_finish_reasons_both_agree_with_the_client() -> None:
    ev = evidence(1, "anthropic")
    sink = FindingSink("redaction")
    check_kept_fields(ev.spans, ev.client, sink)
    assert sink.findings == []


def test_a_span_in_another_trace_is_tied_to_its_answer_through_its_upstream_request() -> None:
    """The gateway restarted the trace: the span is still tied to the client by the provider's
    response id (span -> upstream request) and the correlation header (upstream -> client)."""
    ev = evidence(1, exclude_request_data=True)
    spans = tuple(replace(s, trace_id="f" * 32) for s in ev.spans)
    ev = replace(ev, spans=spans, journal=tuple(replace(e, headers={"x-testbed-correlation-id": "req-0"})
                                                 for e in ev.journal))
    tied = tie_spans_to_answers(ev)
    assert [r.correlation_id for r in tied.values()] == ["req-0"]
    told_otherwise = replace(ev, client=tuple(replace(c, completion_tokens=99) for c in ev.client))
    result = RedactionCheck().run(on(told_otherwise))
    assert ("RED-02", "violation") in ids(result) and result.judged["client_answers"] == 1
