"""Retry decisions (OTLP-08..13, EXP-01..04) as a table: every status class, transport errors,
Retry-After in seconds, as an HTTP-date, garbage and over the cap, and the batch deadline."""

from __future__ import annotations

import random
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest

from testbed.exporter.retry import Action, AttemptResult, RetryPolicy, backoff_delay, decide, parse_retry_after

NOW = 1_700_000_000.0
POLICY = RetryPolicy()


def http_date(offset_s: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + offset_s, tz=timezone.utc), usegmt=True)


@pytest.mark.parametrize(
    ("result", "action", "reason"),
    [
        (AttemptResult(status=200), Action.EXPORTED, ""),
        (AttemptResult(status=202), Action.EXPORTED, ""),
        (AttemptResult(status=429), Action.RETRY, "status_429"),
        (AttemptResult(status=502), Action.RETRY, "status_502"),
        (AttemptResult(status=503), Action.RETRY, "status_503"),
        (AttemptResult(status=504), Action.RETRY, "status_504"),
        (AttemptResult(error="connection_error"), Action.RETRY, "connection_error"),
        (AttemptResult(error="timeout"), Action.RETRY, "timeout"),
        (AttemptResult(error="disconnected"), Action.RETRY, "disconnected"),
        (AttemptResult(status=400), Action.DROP, "permanent_400"),
        (AttemptResult(status=401), Action.DROP, "permanent_401"),
        (AttemptResult(status=403), Action.DROP, "permanent_403"),
        (AttemptResult(status=404), Action.DROP, "permanent_404"),
        (AttemptResult(status=415), Action.DROP, "permanent_415"),
        (AttemptResult(status=500), Action.DROP, "permanent_500"),
        (AttemptResult(status=501), Action.DROP, "permanent_501"),
        (AttemptResult(status=408), Action.DROP, "permanent_408"),
        (AttemptResult(status=413), Action.SPLIT, "too_large"),
        (AttemptResult(status=200, response_too_large=True), Action.DROP, "response_too_large"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_each_result_gets_the_decision_the_spec_gives_otlp_08(result: AttemptResult, action: Action, reason: str) -> None:
    decision = decide(result, 0, 30.0, POLICY, random.Random(1), NOW)
    assert decision.action is action
    assert decision.reason == reason


def test_backoff_doubles_from_half_a_second_and_caps_at_sixteen_exp_01() -> None:
    no_jitter = RetryPolicy(jitter=0.0)
    delays = [backoff_delay(n, no_jitter, random.Random(0)) for n in range(8)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]


def test_jitter_is_uniform_within_twenty_percent_and_varies_otlp_10() -> None:
    rng = random.Random(42)
    samples = [backoff_delay(2, POLICY, rng) for _ in range(500)]
    assert min(samples) >= 2.0 * 0.8 and max(samples) <= 2.0 * 1.2
    assert max(samples) - min(samples) > 0.5  # spread: not a constant delay


@pytest.mark.parametrize(
    ("header", "expected", "clamped"),
    [
        ("3", 3.0, False),
        ("0", 0.0, False),
        ("120", 60.0, True),
        ("-5", 0.0, True),
        (http_date(7), 7.0, False),
        (http_date(-30), 0.0, False),
        (http_date(3600), 60.0, True),
        ("soon", None, False),
        ("", None, False),
        (None, None, False),
    ],
)
def test_retry_after_seconds_or_http_date_is_clamped_to_sixty_seconds_exp_02(
    header: str | None, expected: float | None, clamped: bool
) -> None:
    seconds, was_clamped = parse_retry_after(header, NOW, 60.0)
    if expected is None:
        assert seconds is None
    else:
        assert seconds == pytest.approx(expected, abs=1.0)
    assert was_clamped is clamped


def test_retry_after_is_used_as_the_delay_and_a_clamp_is_reported() -> None:
    decision = decide(AttemptResult(status=429, retry_after="4"), 0, 30.0, POLICY, random.Random(1), NOW)
    assert (decision.action, decision.delay_s, decision.retry_after_clamped) == (Action.RETRY, 4.0, False)
    decision = decide(AttemptResult(status=503, retry_after="999"), 0, 90.0, POLICY, random.Random(1), NOW)
    assert (decision.action, decision.delay_s, decision.retry_after_clamped) == (Action.RETRY, 60.0, True)


def test_garbage_retry_after_falls_back_to_backoff() -> None:
    decision = decide(AttemptResult(status=503, retry_after="later"), 1, 30.0, POLICY, random.Random(1), NOW)
    assert decision.action is Action.RETRY and 0.8 <= decision.delay_s <= 1.2


def test_retry_after_beyond_the_remaining_deadline_naks_with_that_delay_exp_02() -> None:
    decision = decide(AttemptResult(status=429, retry_after="20"), 0, 5.0, POLICY, random.Random(1), NOW)
    assert (decision.action, decision.delay_s, decision.reason) == (Action.NAK, 20.0, "status_429")


def test_backoff_past_the_deadline_naks_exp_01() -> None:
    decision = decide(AttemptResult(error="connection_error"), 5, 3.0, POLICY, random.Random(1), NOW)
    assert decision.action is Action.NAK and decision.delay_s >= 16.0 * 0.8


def test_permanent_statuses_are_dropped_even_with_a_retry_after() -> None:
    decision = decide(AttemptResult(status=500, retry_after="1"), 0, 30.0, POLICY, random.Random(1), NOW)
    assert decision.action is Action.DROP and decision.reason == "permanent_500"
