"""Trace context propagation (PROP-01..PROP-07): what the client sent, the spans at the ingest and
the outbound traceparent/tracestate in the provider journal must agree with W3C Trace Context."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from testbed.checks.evidence import Evidence
from testbed.checks.propagation import PropagationCheck
from testbed.checks.tracecontext import parse_traceparent
from tests.testbed.checks.builders import evidence, ids, span_id, trace_id

CHECK = PropagationCheck()


def run(ev: Evidence, client: dict[str, Any] | None = None, headers: dict[str, str | None] | None = None,
        **settings: Any) -> set[tuple[str, str]]:
    if client:
        ev = replace(ev, client=(replace(ev.client[0], **client),) + ev.client[1:])
    if headers is not None:
        h = {k: v for k, v in {**ev.journal[0].headers, **headers}.items() if v is not None}
        ev = replace(ev, journal=(replace(ev.journal[0], headers=h),) + ev.journal[1:])
    if settings:
        ev = replace(ev, settings=replace(ev.settings, **settings))
    return ids(CHECK.run(ev))


def outbound(flags: str = "01", parent: str | None = None) -> str:
    return f"00-{trace_id(0)}-{parent or span_id(100)}-{flags}"


def test_conforming_propagation_passes() -> None:
    result = CHECK.run(evidence(2))
    assert result.outcome == "passed" and result.findings == ()


def test_span_outside_the_callers_trace_is_a_violation_PROP_01() -> None:
    ev = evidence(1)
    ev = replace(ev, spans=(replace(ev.spans[0], trace_id="f" * 32),) + ev.spans[1:])
    assert ("PROP-01", "violation") in run(ev, headers={"traceparent": f"00-{'f' * 32}-{span_id(100)}-01"})


def test_server_parent_must_be_the_inbound_parent_PROP_02() -> None:
    ev = evidence(1)
    ev = replace(ev, spans=(ev.spans[0], replace(ev.spans[1], parent_span_id=None)))
    assert ("PROP-02", "violation") in run(ev)


def test_restart_mode_skips_PROP_01_and_PROP_02() -> None:
    ev = evidence(1)
    ev = replace(ev, spans=(ev.spans[0], replace(ev.spans[1], parent_span_id=None)))
    assert ("PROP-02", "violation") not in run(ev, restart_inbound=True)


@pytest.mark.parametrize(("headers", "expected"), [
    ({"traceparent": None}, ("PROP-03", "violation")),
    ({"traceparent": "01-zz"}, ("PROP-03", "violation")),
    ({"traceparent": f"00-{'e' * 32}-{span_id(100)}-01"}, ("PROP-03", "violation")),
    ({"traceparent": outbound(parent="ab" * 8)}, ("PROP-03", "warning")),
    ({"traceparent": outbound("00")}, ("PROP-04", "warning")),
    ({"traceparent": outbound("05")}, ("PROP-04", "violation")),
], ids=["PROP-03-not-sent", "PROP-03-malformed", "PROP-03-other-trace", "PROP-03-parent-not-client-span",
        "PROP-04-sampled-changed", "PROP-04-undefined-bits"])
def test_outbound_traceparent_defects(headers: dict, expected: tuple[str, str]) -> None:
    assert expected in run(evidence(1), headers=headers)


def test_random_flag_must_be_kept_PROP_04() -> None:
    client = {"traceparent": f"00-{trace_id(0)}-{span_id(300)}-03"}
    assert ("PROP-04", "violation") in run(evidence(1), client=client, headers={"traceparent": outbound("01")})
    assert ("PROP-04", "violation") not in run(evidence(1), client=client, headers={"traceparent": outbound("03")})


def test_two_attempts_with_the_same_parent_id_are_a_violation_PROP_03() -> None:
    ev = evidence(1)
    ev = replace(ev, journal=ev.journal * 2)
    assert ("PROP-03", "violation") in ids(CHECK.run(ev))


@pytest.mark.parametrize(("sent", "got", "expected"), [
    ("a=1,b=2", None, ("PROP-05", "violation")),
    ("a=1,b=2,c=3", "a=1,c=3,b=2", ("PROP-05", "violation")),
    ("a=1", "a=1,a=2", ("PROP-05", "violation")),
], ids=["PROP-05-dropped", "PROP-05-reordered", "PROP-05-duplicate-key"])
def test_tracestate_defects(sent: str, got: str | None, expected: tuple[str, str]) -> None:
    assert expected in run(evidence(1), client={"tracestate": sent}, headers={"tracestate": got})


def test_tracestate_update_on_the_left_with_a_new_parent_is_allowed_PROP_05() -> None:
    found = run(evidence(1), client={"tracestate": "a=1,b=2"}, headers={"tracestate": "gw=9,a=1,b=2"})
    assert not {f for f in found if f[0] == "PROP-05"}


def test_invalid_inbound_traceparent_must_not_be_continued_PROP_06() -> None:
    bad = f"00-{trace_id(0)}-{span_id(300).upper()}-01"
    assert parse_traceparent(bad) is None
    assert ("PROP-06", "violation") in run(evidence(1), client={"traceparent": bad, "trace_id": None})


def test_tracestate_without_traceparent_must_be_discarded_PROP_07() -> None:
    client = {"traceparent": None, "trace_id": None, "tracestate": "a=1"}
    found = run(evidence(1), client=client, headers={"tracestate": "a=1"})
    assert ("PROP-07", "violation") in found


def test_no_outbound_traceparent_without_inbound_is_a_warning_PROP_07() -> None:
    found = run(evidence(1), client={"traceparent": None, "trace_id": None}, headers={"traceparent": None})
    assert ("PROP-07", "warning") in found and ("PROP-03", "violation") not in found


@pytest.mark.parametrize("header", [
    "ff-" + "1" * 32 + "-" + "1" * 16 + "-01", "00-" + "0" * 32 + "-" + "1" * 16 + "-01",
    "00-" + "1" * 32 + "-" + "0" * 16 + "-01", "00-" + "1" * 31 + "-" + "1" * 16 + "-01", "garbage",
    "00-" + "1" * 32 + "-" + "1" * 16 + "-01-extra",
], ids=["version-ff", "zero-trace", "zero-parent", "short-trace", "garbage", "v00-extra-field"])
def test_invalid_traceparents_are_rejected_PROP_06(header: str) -> None:
    assert parse_traceparent(header) is None


def test_higher_version_is_parsed_by_version_00_rules_PROP_06() -> None:
    tp = parse_traceparent("01-" + "1" * 32 + "-" + "2" * 16 + "-03-future")
    assert tp is not None and tp.random and tp.sampled


def _journal_headers(ev: Evidence, drop: tuple[str, ...]) -> Evidence:
    """The journal as a real gateway leaves it: it forwards no correlation header."""
    journal = tuple(replace(e, headers={k: v for k, v in e.headers.items() if k not in drop}) for e in ev.journal)
    return replace(ev, journal=journal)


def test_upstream_requests_tied_only_by_their_trace_id_pass() -> None:
    assert CHECK.run(_journal_headers(evidence(2), ("x-testbed-correlation-id",))).outcome == "passed"


def test_a_gateway_that_drops_traceparent_upstream_is_caught_even_when_untied_PROP_03() -> None:
    ev = _journal_headers(evidence(2), ("x-testbed-correlation-id", "traceparent"))
    assert ("PROP-03", "violation") in ids(CHECK.run(ev))


def test_journal_entries_without_any_span_are_inconclusive_not_passed_RUN_03() -> None:
    result = CHECK.run(replace(evidence(3), spans=()))
    assert result.outcome == "inconclusive" and result.judged["requests"] == 0
    assert result.judged["upstream"] == 3


def test_empty_evidence_is_inconclusive_RUN_03() -> None:
    assert CHECK.run(Evidence()).outcome == "inconclusive"
