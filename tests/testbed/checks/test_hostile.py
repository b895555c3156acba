"""The ``hostile`` check (OAI-08, LOSS-01, GW-01): each hostile request gets an answer its kind
allows (never a 5xx, never a hang, a 4xx in the OpenAI error format), every answered normal request
keeps its spans, the SERVER spans of requests with undecodable header bytes arrive, and nothing is
left queued. Each rule is shown passing on clean evidence and failing on evidence that breaks it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks.evidence import ClientRecord, Counters, Evidence, ScenarioSettings
from testbed.checks.hostile import HostileCheck
from tests.testbed.checks.builders import T0, ids, span, trace_id

CHECK = HostileCheck()
RUN = "r1-hostile-input"


def hostile(n: int, kind: str, status: int | None = 400, error: str | None = None) -> ClientRecord:
    return ClientRecord(f"{RUN}-hostile-{kind}-{n}", T0 + n, T0 + n, path="hostile", trace_id=trace_id(500 + n),
                        status=status, error=error)


def normal(n: int) -> ClientRecord:
    return ClientRecord(f"{RUN}-{n}", T0 + 10 + n, T0 + 10 + n, trace_id=trace_id(n), status=200)


def clean(expects_server: bool = True) -> Evidence:
    client = (hostile(0, "bad_utf8_header", 401), hostile(1, "deep_json"), hostile(2, "lone_surrogate", 200),
              hostile(3, "short_body", None, "closed"), hostile(4, "oversize_body", 413),
              *(normal(i) for i in range(4)))
    spans = (*(span(i) for i in range(4)), span(500, kind=2, parent_span_id=None))
    settings = ScenarioSettings(name="hostile-input", expects_server_span=expects_server)
    return Evidence(settings=settings, client=client, spans=spans)


def with_client(ev: Evidence, *records: ClientRecord) -> Evidence:
    return replace(ev, client=(*ev.client, *records))


def test_clean_evidence_passes_with_its_judged_counts() -> None:
    result = CHECK.run(clean())
    assert result.outcome == "passed", result.findings
    assert result.judged == {"hostile_requests": 5, "normal_requests": 4}
    assert result.details["poison_server_spans"] == 1


def test_a_run_without_hostile_requests_is_inconclusive() -> None:
    ev = clean()
    ev = replace(ev, client=tuple(r for r in ev.client if r.path == "gateway"))
    assert CHECK.run(ev).outcome == "inconclusive"


@pytest.mark.parametrize("record", [
    hostile(9, "deep_json", 500),
    hostile(9, "wrong_type_gemini", 502),
    hostile(9, "corrupt_gzip", None, "timeout"),
    hostile(9, "encoded_surrogate", 200),
    hostile(9, "short_body", 200),
    hostile(9, "wrong_type_anthropic", 400, "error body: no 'error' object"),
], ids=["5xx", "bad-gateway", "hang", "2xx-where-4xx-is-due", "short-body-accepted", "plain-text-400"])
def test_a_wrong_answer_to_a_hostile_request_is_a_violation_OAI_08(record: ClientRecord) -> None:
    assert ("OAI-08", "violation") in ids(CHECK.run(with_client(clean(), record)))


def test_a_normal_request_without_spans_is_a_violation_LOSS_01() -> None:
    ev = with_client(clean(), replace(normal(7), sent_ns=T0 + 100))  # its spans never arrived
    result = CHECK.run(ev)
    assert ("LOSS-01", "violation") in ids(result)
    assert result.details["normal_missing"] == 1


def test_a_missing_server_span_of_a_header_poison_request_is_a_violation_GW_01() -> None:
    ev = with_client(clean(), hostile(20, "bad_utf8_header", 401))
    assert ("GW-01", "violation") in ids(CHECK.run(ev))


def test_a_gateway_without_server_spans_is_not_asked_for_them_GW_01() -> None:
    ev = with_client(clean(expects_server=False), hostile(20, "bad_utf8_header", 401))
    assert ("GW-01", "violation") not in ids(CHECK.run(ev))


def test_spans_left_queued_after_the_drain_are_a_violation_LOSS_01() -> None:
    ev = replace(clean(), counters=Counters({"testbed_exporter_spans_queued": 282}))
    assert ("LOSS-01", "violation") in ids(CHECK.run(ev))
