"""Pairing spans with upstream requests without trusting the gateway under test: each honest means
(outbound parent-id, provider response id, client trace id, canary in the upstream body and in the
span, model plus time window flagged weak), the order they are tried in, and the summary that
results.json and the report show."""

from __future__ import annotations

from dataclasses import replace

from testbed.checks.correlate import genai_call_spans, pair
from testbed.checks.evidence import Canary, Evidence
from tests.testbed.checks.builders import evidence, span_id, tv

CANARY = "CNRY-USR-{:020x}"


def _bare(ev: Evidence, keep_trace: bool = False) -> Evidence:
    """The gateway forwards neither traceparent nor correlation header upstream."""
    journal = []
    for e in ev.journal:
        headers = {"traceparent": f"00-{'f' * 32}-{'e' * 16}-01"} if keep_trace else {}
        journal.append(replace(e, headers=headers))
    return replace(ev, journal=tuple(journal))


def _no_response_id(ev: Evidence) -> Evidence:
    spans = tuple(replace(s, attributes={k: v for k, v in s.attributes.items() if k != "gen_ai.response.id"})
                  for s in ev.spans)
    return replace(ev, spans=spans)


def _new_traces(ev: Evidence) -> Evidence:
    """The gateway starts its own trace instead of continuing the caller's."""
    spans = tuple(replace(s, trace_id=f"{0xabc000 + i:032x}") for i, s in enumerate(ev.spans))
    return replace(ev, spans=spans)


def _means(ev: Evidence) -> dict[str, int]:
    return pair(ev).summary()["by_means"]


def test_outbound_parent_id_pairs_first() -> None:
    assert _means(evidence(3)) == {"traceparent": 3}


def test_provider_response_id_pairs_when_no_traceparent_goes_upstream() -> None:
    assert _means(_bare(evidence(3))) == {"response_id": 3}


def test_client_trace_id_pairs_when_the_gateway_continues_the_callers_context() -> None:
    ev = evidence(3)
    journal = tuple(replace(e, headers={}, body={**e.body, "messages": [CANARY.format(i)]})
                    for i, e in enumerate(ev.journal))
    canaries = tuple(Canary(CANARY.format(i), "USR", f"req-{i}") for i in range(3))
    got = _means(replace(_no_response_id(ev), journal=journal, canaries=canaries))
    assert got == {"trace_id": 3}


def test_canary_in_body_and_span_content_pairs_across_new_traces() -> None:
    ev = _new_traces(_no_response_id(evidence(3)))
    journal = tuple(replace(e, headers={}, body={**e.body, "messages": [{"content": f"hi {CANARY.format(i)}"}]})
                    for i, e in enumerate(ev.journal))
    spans = tuple(replace(s, attributes={**s.attributes, "gen_ai.input.messages": tv(f"[{CANARY.format(i // 2)}]")})
                  for i, s in enumerate(ev.spans))
    canaries = tuple(Canary(CANARY.format(i), "USR", f"req-{i}") for i in range(3))
    got = pair(replace(ev, journal=journal, spans=spans, canaries=canaries))
    assert got.summary()["by_means"] == {"canary": 3}
    assert all(m.entry is not None and m.entry.body["messages"][0]["content"].endswith(CANARY.format(i))
               for i, m in enumerate(sorted(got.pairs, key=lambda m: m.span.start_ns)))


def test_model_and_time_window_is_the_weak_last_resort() -> None:
    result = pair(_new_traces(_no_response_id(_bare(evidence(3)))))
    assert result.summary()["by_means"] == {"model_time": 3}
    assert result.summary()["weak"] == 3 and all(m.weak for m in result.pairs)


def test_weak_pairing_never_pairs_an_entry_outside_the_span_window() -> None:
    ev = _new_traces(_no_response_id(_bare(evidence(1))))
    late = replace(ev.journal[0], time_ns=ev.journal[0].time_ns + 10**9)
    summary = pair(replace(ev, journal=(late,))).summary()
    assert summary["paired"] == 0 and summary["unpaired_spans"] == 1 and summary["unpaired_requests"] == 1


def test_weak_pairing_needs_the_same_model() -> None:
    ev = _new_traces(_no_response_id(_bare(evidence(1))))
    other = replace(ev.journal[0], model="claude-sonnet-4", response_model=None)
    assert pair(replace(ev, journal=(other,))).summary()["paired"] == 0


def test_summary_reports_rate_and_unpaired_sides() -> None:
    ev = evidence(3)
    extra = replace(ev.journal[0], headers={}, response_id="lonely", time_ns=ev.journal[0].time_ns + 5 * 10**9)
    summary = pair(replace(ev, journal=(*ev.journal, extra))).summary()
    assert summary["paired"] == 3 and summary["upstream_requests"] == 4 and summary["rate"] == 0.75
    assert summary["unpaired_requests"] == 1 and summary["unpaired_spans"] == 0


def test_non_client_genai_spans_count_only_at_the_innermost_level() -> None:
    ev = evidence(1)
    inner = replace(ev.spans[0], kind=1)
    outer = replace(inner, span_id=span_id(900), parent_span_id=None)
    inner = replace(inner, parent_span_id=outer.span_id)
    assert [s.span_id for s in genai_call_spans((outer, inner))] == [inner.span_id]



def test_upstream_requests_are_tied_to_client_requests_by_a_canary_when_nothing_is_forwarded() -> None:
    from testbed.checks.correlate import entries_by_request, gateway_entries

    ev = _new_traces(evidence(2))
    journal = tuple(replace(e, headers={}, body={**e.body, "messages": [CANARY.format(i)]})
                    for i, e in enumerate(ev.journal))
    canaries = tuple(Canary(CANARY.format(i), "USR", f"req-{i}") for i in range(2))
    ev = replace(ev, journal=journal, canaries=canaries)
    tied = entries_by_request(ev, gateway_entries(ev))
    assert {k: [e.response_id for e in v] for k, v in tied.items()} == {"req-0": ["resp-0"], "req-1": ["resp-1"]}
