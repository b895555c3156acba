"""Exporter behaviour seen from the ingest (OTLP-02/04/05/08/09/10/11/14/15/16, MW-02/03/04):
headers, which answers are retried, Retry-After, exponential backoff and jitter detection."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest

from testbed.checks.evidence import Evidence, IngestRequest
from testbed.checks.exporter import ExporterCheck
from tests.testbed.checks.builders import evidence, ids

CHECK = ExporterCheck()
S = 1_000_000_000
UA = "testbed-exporter/0.1 (python)"


def req(seq: int, status: int | None = 200, **kw: Any) -> IngestRequest:
    base = dict(seq=seq, arrival_ns=seq * S, status=status, response_ns=seq * S + 1000, user_agent=UA,
                body_hash=f"h{seq}", span_count=2)
    base.update(kw)
    return IngestRequest(**base)


def retry(seq: int, of: int, gap_s: float, status: int | None = 200, **kw: Any) -> IngestRequest:
    return req(seq, status, retry_of=of, gap_ns=int(gap_s * S), body_hash=f"h{of}", **kw)


def run(*reqs: IngestRequest, ev: Evidence | None = None) -> object:
    return CHECK.run(replace(ev or evidence(1), ingest=reqs))


def test_clean_exports_pass() -> None:
    result = run(req(1), req(2), req(3))
    assert result.outcome == "passed" and result.findings == ()
    assert result.judged == {"requests": 3, "retry_chains": 0}


def test_too_few_retry_chains_for_jitter_is_inconclusive_OTLP_10() -> None:
    result = run(req(1), req(2), retry(4, 3, 0.6), req(3, 503))
    assert result.outcome == "inconclusive" and "OTLP-10" in result.reason
    assert result.judged["retry_chains"] == 1


def test_no_ingest_request_is_inconclusive_RUN_03() -> None:
    result = run()
    assert result.outcome == "inconclusive" and result.judged == {"requests": 0}


@pytest.mark.parametrize(("reqs", "expected"), [
    ((req(1, content_type="text/plain"),), ("OTLP-02", "violation")),
    ((req(1, content_type="application/json"),), ("MW-04", "info")),
    ((req(1, content_encoding="deflate"),), ("OTLP-04", "info")),
    ((req(1, content_encoding="br"),), ("OTLP-04", "violation")),
    ((req(1, user_agent=""),), ("OTLP-15", "warning")),
    ((req(1, auth_form="missing"),), ("MW-02", "violation")),
    ((req(1, auth_form="bearer"),), ("MW-03", "warning")),
    ((req(1, 400), retry(2, 1, 1.0)), ("OTLP-08", "violation")),
    ((req(1, 500), retry(2, 1, 1.0)), ("OTLP-08", "violation")),
    ((req(1, 401), retry(2, 1, 1.0)), ("OTLP-14", "violation")),
    ((req(1, 200), retry(2, 1, 1.0)), ("OTLP-05", "violation")),
    ((req(1, 429),), ("OTLP-08", "warning")),
    ((req(1, 429, retry_after_s=2.0), retry(2, 1, 0.5)), ("OTLP-09", "warning")),
    ((req(1, None),), ("OTLP-11", "warning")),
    ((req(1, connection_id="a"), req(2, connection_id="b")), ("OTLP-15", "info")),
], ids=["OTLP-02-content-type", "MW-04-json", "OTLP-04-deflate", "OTLP-04-brotli", "OTLP-15-no-user-agent",
        "MW-02-no-auth", "MW-03-bearer", "OTLP-08-retry-on-400", "OTLP-08-retry-on-500", "OTLP-14-retry-on-401",
        "OTLP-05-resend-after-success", "OTLP-08-429-not-retried", "OTLP-09-ignore-retry-after",
        "OTLP-11-close-not-resent", "OTLP-15-no-connection-reuse"])
def test_seeded_exporter_defect_is_reported(reqs: tuple[IngestRequest, ...], expected: tuple[str, str]) -> None:
    assert expected in ids(run(*reqs))


def test_retry_after_honoured_within_slack_is_fine_OTLP_09() -> None:
    assert ("OTLP-09", "warning") not in ids(run(req(1, 429, retry_after_s=2.0), retry(2, 1, 1.95)))


def chain(start: int, gaps: list[float]) -> list[IngestRequest]:
    """A 503 chain: the original and one retry per gap, each answered 503 but the last."""
    out = [req(start, 503, body_hash=f"c{start}")]
    for i, g in enumerate(gaps):
        last = i == len(gaps) - 1
        out.append(req(start + i + 1, 200 if last else 503, retry_of=start + i, gap_ns=int(g * S), body_hash=f"c{start}"))
    return out


def test_constant_retry_gaps_are_no_backoff_OTLP_10() -> None:
    assert ("OTLP-10", "violation") in ids(run(*chain(1, [1.0, 1.0, 1.0, 1.0])))


def test_growing_jittered_gaps_are_backoff_OTLP_10() -> None:
    rng = random.Random(3)
    reqs = [r for k in range(6) for r in chain(100 * k, [0.5 * 2**i * rng.uniform(0.8, 1.2) for i in range(4)])]
    assert ("OTLP-10", "violation") not in ids(run(*reqs))


def test_identical_first_gaps_over_five_chains_are_no_jitter_OTLP_10() -> None:
    reqs = [r for k in range(5) for r in chain(100 * k, [0.5, 1.0, 2.0])]
    assert ("OTLP-10", "violation") in ids(run(*reqs))


def test_empty_scope_name_is_a_warning_OTLP_16() -> None:
    ev = evidence(1)
    ev = replace(ev, spans=(replace(ev.spans[0], scope_name=""),) + ev.spans[1:])
    assert ("OTLP-16", "warning") in ids(run(req(1), ev=ev))


def test_no_ingest_request_is_inconclusive() -> None:
    assert CHECK.run(evidence(1)).outcome == "inconclusive"
