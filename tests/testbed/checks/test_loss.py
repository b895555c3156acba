"""Loss accounting (LOSS-01..LOSS-05): expected spans against ingested, counted drops and still
queued; drops under transient faults; duplicates; unattributed loss without counters; delivery lag."""

from __future__ import annotations

from dataclasses import replace

from testbed.checks.evidence import Counters, Evidence
from testbed.checks.loss import LossCheck
from tests.testbed.checks.builders import evidence, ids

CHECK = LossCheck()


def with_counters(ev: Evidence, values: dict[str, float]) -> Evidence:
    return replace(ev, counters=Counters(values))


def test_complete_delivery_with_counters_passes_LOSS_01() -> None:
    result = CHECK.run(with_counters(evidence(3), {}))
    assert result.outcome == "passed" and result.details["expected"] == 6
    assert result.details["unaccounted"] == 0


def test_the_account_is_numbers_whole_where_spans_are_whole() -> None:
    clean = CHECK.run(with_counters(evidence(3), {"testbed_exporter_spans_queued": 0.0})).details
    assert (clean["dropped"], clean["still_queued"], clean["unaccounted"]) == (0, 0, 0)
    assert all(type(clean[k]) is int for k in ("dropped", "still_queued", "unaccounted"))
    assert "dropped_by_reason" not in clean
    ev = evidence(3)
    dropped = CHECK.run(with_counters(replace(ev, spans=ev.spans[1:]),
                                      {'testbed_exporter_spans_dropped_total{reason="timeout"}': 1.0})).details
    assert dropped["dropped"] == 1 and dropped["dropped_by_reason"] == {"timeout": 1}
    assert type(dropped["dropped_by_reason"]["timeout"]) is int


def test_a_span_lost_without_a_counted_reason_is_a_violation_LOSS_01() -> None:
    ev = evidence(3)
    result = CHECK.run(with_counters(replace(ev, spans=ev.spans[1:]), {}))
    assert ("LOSS-01", "violation") in ids(result)


def test_a_counted_drop_balances_but_is_illegal_under_transient_faults_LOSS_02() -> None:
    ev = evidence(3)
    ev = with_counters(replace(ev, spans=ev.spans[1:]), {'testbed_exporter_spans_dropped_total{reason="timeout"}': 1})
    found = ids(CHECK.run(ev))
    assert ("LOSS-01", "violation") not in found and ("LOSS-02", "violation") in found


def test_a_permanent_drop_reason_is_legitimate_LOSS_02() -> None:
    ev = evidence(3, permanent_drop_reasons=("permanent_400",))
    ev = with_counters(replace(ev, spans=ev.spans[1:]),
                       {'testbed_exporter_spans_dropped_total{reason="permanent_400"}': 1})
    ev = replace(ev, settings=replace(ev.settings, faulted_modes_transient=False))
    assert CHECK.run(ev).outcome == "passed"


def _partial_success(counters: dict[str, float]) -> Evidence:
    ev = evidence(3, permanent_drop_reasons=("partial_success",))
    ev = with_counters(replace(ev, spans=ev.spans[2:]), counters)
    return replace(ev, settings=replace(ev.settings, faulted_modes_transient=False))


def test_spans_refused_by_the_ingest_are_counted_once_across_the_hop_LOSS_01() -> None:
    both_ends = {'testbed_exporter_spans_dropped_total{reason="partial_success"}': 2,
                 "fake_middleware_spans_rejected_total": 2}
    result = CHECK.run(_partial_success(both_ends))
    assert result.outcome == "passed", result.findings
    assert result.details["unaccounted"] == 0


def test_ingest_rejections_count_for_an_exporter_without_counters_LOSS_01() -> None:
    assert CHECK.run(_partial_success({"fake_middleware_spans_rejected_total": 2})).outcome == "passed"
    assert ("LOSS-01", "violation") in ids(CHECK.run(_partial_success({"fake_middleware_spans_rejected_total": 1})))


def test_still_queued_events_are_converted_to_spans_LOSS_01() -> None:
    ev = evidence(3)
    ev = with_counters(replace(ev, spans=ev.spans[2:]), {"testbed_gateway_event_queue_depth": 1})
    ev = replace(ev, settings=replace(ev.settings, faulted_modes_transient=False))
    result = CHECK.run(ev)
    assert result.outcome == "passed", result.findings


def test_duplicates_are_info_and_differing_duplicates_a_violation_LOSS_03() -> None:
    ev = evidence(2)
    same = CHECK.run(with_counters(replace(ev, spans=ev.spans + ev.spans[:1]), {}))
    assert ("LOSS-03", "info") in ids(same) and ("LOSS-03", "violation") not in ids(same)
    changed = replace(ev.spans[0], name="something else")
    differ = CHECK.run(with_counters(replace(ev, spans=ev.spans + (changed,)), {}))
    assert ("LOSS-03", "violation") in ids(differ)


def test_unattributed_loss_without_counters_LOSS_04() -> None:
    ev = evidence(2)
    ev = replace(ev, spans=ev.spans[1:], client=(ev.client[0], replace(ev.client[1], mode="down")))
    assert ("LOSS-04", "violation") in ids(CHECK.run(ev))
    ev2 = evidence(2)
    ev2 = replace(ev2, spans=ev2.spans[:2], client=(ev2.client[0], replace(ev2.client[1], mode="down")))
    found = ids(CHECK.run(ev2))
    assert ("LOSS-04", "warning") in found and ("LOSS-04", "violation") not in found


def test_delivery_lag_is_reported_as_info_LOSS_05() -> None:
    ev = evidence(1)
    late = tuple(replace(s, received_ns=ev.client[0].complete_ns + 40_000_000) for s in ev.spans)
    result = CHECK.run(with_counters(replace(ev, spans=late), {}))
    assert ("LOSS-05", "info") in ids(result)
    assert result.details["delivery_lag_ms"]["p99"] == 40.0


def test_no_gateway_request_is_inconclusive() -> None:
    assert CHECK.run(Evidence()).outcome == "inconclusive"
