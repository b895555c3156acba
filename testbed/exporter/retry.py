"""Retry policy of the reference exporter (SPEC 5, OTLP-08..13, EXP-01..04). Pure.

``decide`` turns the result of one export request into one decision:

==================================  ==========================================================
result                              decision
==================================  ==========================================================
2xx                                 ``exported`` (a partial success is counted by the caller)
429, 502, 503, 504                  ``retry`` after backoff or ``Retry-After`` (reason
                                    ``status_<code>``)
connection error / timeout /        ``retry`` after backoff (reason ``connection_error``,
closed without response             ``timeout``, ``disconnected``)
413                                 ``split`` the batch in halves (new requests, not retries)
response body over 4 MiB            ``drop`` as ``response_too_large`` (OTLP-13)
any other status (400, 401, 403,    ``drop`` as ``permanent_<code>`` (OTLP-08, EXP-03)
404, 415, 500, ...)
a delay past the batch deadline     ``nak`` with that delay: the messages stay on the bus
==================================  ==========================================================

Backoff is ``initial × 2^n`` capped at ``max``, times a uniform factor in [1 − jitter, 1 + jitter]
drawn from the injected RNG. ``Retry-After`` is integer seconds or an HTTP-date, clamped to
[0, 60 s]; a clamp is reported so it can be counted (EXP-02).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Final, Literal

RETRYABLE_STATUSES: Final = frozenset({429, 502, 503, 504})
MAX_RESPONSE_BYTES: Final = 4 * 1024 * 1024
TransportError = Literal["connection_error", "timeout", "disconnected"]


class Action(enum.Enum):
    EXPORTED = "exported"
    RETRY = "retry"
    SPLIT = "split"
    DROP = "drop"
    NAK = "nak"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 16.0
    jitter: float = 0.2
    deadline_s: float = 30.0
    """Deadline of one batch, every attempt and wait included (EXP-01)."""
    retry_after_cap_s: float = 60.0
    max_response_bytes: int = MAX_RESPONSE_BYTES


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one request gave: a status (and its Retry-After), or a transport error."""

    status: int | None = None
    retry_after: str | None = None
    error: TransportError | None = None
    response_too_large: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    delay_s: float = 0.0
    reason: str = ""
    """Retry or NAK reason (``status_503``, ``connection_error``...) or drop reason."""
    retry_after_clamped: bool = False


def backoff_delay(retry_index: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Delay before retry number ``retry_index`` (0 for the first retry), jittered."""
    base = min(policy.initial_backoff_s * (2.0**retry_index), policy.max_backoff_s)
    return base * rng.uniform(1.0 - policy.jitter, 1.0 + policy.jitter)


def parse_retry_after(value: str | None, now_epoch_s: float, cap_s: float) -> tuple[float | None, bool]:
    """Seconds to wait from a ``Retry-After`` value, and whether it was clamped to [0, cap].

    Garbage gives ``(None, False)``: the caller falls back to backoff.
    """
    if value is None or not value.strip():
        return None, False
    text = value.strip()
    seconds: float
    if text.lstrip("-").isdigit():
        seconds = float(int(text))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None, False
        if when is None or when.tzinfo is None:
            return None, False
        seconds = when.timestamp() - now_epoch_s
    clamped = min(max(seconds, 0.0), cap_s)
    # A past HTTP-date is just "retry now", not a misbehaving server: only out-of-range numbers count.
    was_clamped = seconds > cap_s or (seconds < 0 and text.lstrip("-").isdigit())
    return clamped, was_clamped


def decide(
    result: AttemptResult,
    retry_index: int,
    remaining_s: float,
    policy: RetryPolicy,
    rng: random.Random,
    now_epoch_s: float,
) -> Decision:
    """The decision after one request; ``retry_index`` counts the retries already made."""
    if result.error is not None:
        return _retry_or_nak(result.error, backoff_delay(retry_index, policy, rng), remaining_s)
    status = result.status if result.status is not None else 0
    if result.response_too_large:
        return Decision(Action.DROP, reason="response_too_large")
    if 200 <= status < 300:
        return Decision(Action.EXPORTED)
    if status == 413:
        return Decision(Action.SPLIT, reason="too_large")
    if status in RETRYABLE_STATUSES:
        return retry_status(status, result.retry_after, retry_index, remaining_s, policy, rng, now_epoch_s)
    return Decision(Action.DROP, reason=f"permanent_{status}")


Decide = Callable[[AttemptResult, int, float, RetryPolicy, random.Random, float], Decision]
"""The shape of :func:`decide`: the sender takes any such function, chosen once when it is built."""


def retry_status(
    status: int,
    retry_after: str | None,
    retry_index: int,
    remaining_s: float,
    policy: RetryPolicy,
    rng: random.Random,
    now_epoch_s: float,
) -> Decision:
    """Retry a retryable status after its ``Retry-After``, or after the backoff when it has none
    (or garbage); a NAK when that delay outlives the batch deadline."""
    hinted, clamped = parse_retry_after(retry_after, now_epoch_s, policy.retry_after_cap_s)
    delay = hinted if hinted is not None else backoff_delay(retry_index, policy, rng)
    decision = _retry_or_nak(f"status_{status}", delay, remaining_s)
    return Decision(decision.action, decision.delay_s, decision.reason, clamped)


def _retry_or_nak(reason: str, delay_s: float, remaining_s: float) -> Decision:
    if delay_s >= remaining_s:
        return Decision(Action.NAK, delay_s=delay_s, reason=reason)
    return Decision(Action.RETRY, delay_s=delay_s, reason=reason)
