"""The ``duplicates`` check (OTLP-05, LOSS-03): in a scenario that lists it, a span that arrives
twice (stored twice, or counted as a duplicate by the ingest) is a violation; unique spans pass; no span at all is inconclusive (RUN-03)."""

from __future__ import annotations

from testbed.checks.duplicates import DuplicatesCheck
from testbed.checks.evidence import Counters, Evidence
from tests.testbed.checks.builders import ids, span

CHECK = DuplicatesCheck()


def test_unique_spans_pass_with_their_count() -> None:
    result = CHECK.run(Evidence(spans=tuple(span(i) for i in range(3))))
    assert result.outcome == "passed" and result.judged == {"spans": 3}


def test_a_span_that_arrives_twice_is_a_violation_OTLP_05() -> None:
    result = CHECK.run(Evidence(spans=(span(0), span(1), span(1))))
    assert ("OTLP-05", "violation") in ids(result)
    assert result.details == {"unique": 2, "extra_copies": 1}


def test_copies_the_ingest_counted_but_did_not_store_are_a_violation_OTLP_05() -> None:
    ev = Evidence(spans=(span(0),), counters=Counters({"fake_middleware_spans_duplicate_total": 44}))
    result = CHECK.run(ev)
    assert ("OTLP-05", "violation") in ids(result) and result.details["extra_copies"] == 44


def test_no_span_at_all_is_inconclusive() -> None:
    assert CHECK.run(Evidence()).outcome == "inconclusive"
