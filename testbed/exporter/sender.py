"""OTLP/HTTP sending with the retry policy of :mod:`testbed.exporter.retry` (EXP-01..04).

The only HTTP code of the exporter. The aiohttp session, the clock (``monotonic``, ``time``,
interruptible ``sleep``) and the RNG are injected, so retry tests run on a fake clock against a
real local server. :meth:`Sender.shutdown` interrupts every backoff wait: the batch then ends as a
NAK, so its messages are redelivered instead of waiting out the backoff. The retry decision is a
function chosen when the sender is built (``decider``, :func:`~testbed.exporter.retry.decide` unless
told otherwise), so the loop below never looks at anything but the decision it gets.

:meth:`Sender.export` sends a batch made of *groups* (one group = the spans of one bus message) and
returns one :class:`GroupOutcome` per group, so the caller can ack or NAK each message. A 413 (or a
body over the client's own request limit, OTLP-12) splits the batch in halves: first between groups,
then, for a single group, between its spans; a single span still too large is dropped as
``too_large``. Split requests are new requests, not retries, and share the batch deadline.

Requests carry ``User-Agent: testbed-exporter/<version> (Python)``, the content type, ``Content-
Encoding: gzip`` when compressing, the configured headers and, when an API key is configured,
``Authorization: <raw key>`` (MW-02). Nothing here logs a header value.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from testbed.exporter import encoder
from testbed.exporter.retry import Action, AttemptResult, Decide, Decision, RetryPolicy, TransportError, decide
from testbed.exporter.spans import SpanRecord

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""Client-side request limit before compression (OTLP-12)."""


def user_agent() -> str:
    from testbed import __version__

    return f"testbed-exporter/{__version__} (Python)"


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    async def sleep(self, seconds: float, interrupt: asyncio.Event) -> bool:
        """Wait ``seconds``; return True if ``interrupt`` was set first."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float, interrupt: asyncio.Event) -> bool:
        try:
            await asyncio.wait_for(interrupt.wait(), timeout=max(seconds, 0.0))
        except asyncio.TimeoutError:
            return False
        return True


class SendObserver(Protocol):
    def request_done(self, status: str, seconds: float) -> None: ...

    def retry(self, reason: str) -> None: ...

    def retry_after_clamped(self) -> None: ...

    def partial_success(self, rejected: int) -> None: ...


class NullObserver:
    def request_done(self, status: str, seconds: float) -> None:
        return None

    def retry(self, reason: str) -> None:
        return None

    def retry_after_clamped(self) -> None:
        return None

    def partial_success(self, rejected: int) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SenderSettings:
    endpoint: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float | None = 10.0
    compression: str = "gzip"
    protocol: str = "http/protobuf"
    max_request_bytes: int = MAX_REQUEST_BYTES


@dataclass(slots=True)
class GroupOutcome:
    """What happened to one group's spans: exported, dropped by reason, or to be NAKed."""

    exported: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    nak_delay_s: float | None = None
    nak_reason: str = ""

    def drop(self, reason: str, count: int) -> None:
        if count > 0:
            self.dropped[reason] = self.dropped.get(reason, 0) + count

    def merge(self, other: GroupOutcome) -> None:
        self.exported += other.exported
        for reason, count in other.dropped.items():
            self.drop(reason, count)
        if other.nak_delay_s is not None:
            self.nak_delay_s = max(self.nak_delay_s or 0.0, other.nak_delay_s)
            self.nak_reason = self.nak_reason or other.nak_reason


@dataclass(frozen=True, slots=True)
class _Final:
    decision: Decision
    rejected: int = 0


class Sender:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: SenderSettings,
        policy: RetryPolicy = RetryPolicy(),
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        observer: SendObserver | None = None,
        decider: Decide = decide,
    ) -> None:
        self._session = session
        self._settings = settings
        self._policy = policy
        self._decide = decider
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._observer = observer or NullObserver()
        self._shutdown = asyncio.Event()
        self._headers = self._build_headers()

    def _build_headers(self) -> dict[str, str]:
        headers = {k: v for k, v in self._settings.headers}
        if self._settings.api_key:
            for name in [k for k in headers if k.lower() == "authorization"]:
                del headers[name]
            headers["Authorization"] = self._settings.api_key
        headers["User-Agent"] = user_agent()
        if self._settings.compression == "gzip":
            headers["Content-Encoding"] = "gzip"
        return headers

    def shutdown(self) -> None:
        """Interrupt every backoff wait; batches still waiting end as NAKs."""
        self._shutdown.set()

    async def export(self, groups: Sequence[Sequence[SpanRecord]]) -> list[GroupOutcome]:
        """Send ``groups`` as one batch (split on 413) and return one outcome per group."""
        outcomes = [GroupOutcome() for _ in groups]
        deadline = self._clock.monotonic() + self._policy.deadline_s
        await self._export_groups(list(range(len(groups))), groups, outcomes, deadline)
        return outcomes

    async def _export_groups(
        self, ids: list[int], groups: Sequence[Sequence[SpanRecord]], outcomes: list[GroupOutcome], deadline: float
    ) -> None:
        spans = [s for i in ids for s in groups[i]]
        if not spans:
            return
        final = await self._send_with_retries(spans, deadline)
        action = final.decision.action
        if action is Action.SPLIT and len(ids) > 1:
            half = len(ids) // 2
            await self._export_groups(ids[:half], groups, outcomes, deadline)
            await self._export_groups(ids[half:], groups, outcomes, deadline)
            return
        if action is Action.SPLIT:
            outcomes[ids[0]].merge(await self._split_spans(list(groups[ids[0]]), deadline))
            return
        self._apply(final, [(i, len(groups[i])) for i in ids], outcomes)

    async def _split_spans(self, spans: list[SpanRecord], deadline: float) -> GroupOutcome:
        outcome = GroupOutcome()
        if len(spans) == 1:
            outcome.drop("too_large", 1)
            return outcome
        half = len(spans) // 2
        for part in (spans[:half], spans[half:]):
            result = [GroupOutcome()]
            await self._export_groups([0], [part], result, deadline)
            outcome.merge(result[0])
        return outcome

    @staticmethod
    def _apply(final: _Final, sizes: list[tuple[int, int]], outcomes: list[GroupOutcome]) -> None:
        decision = final.decision
        rejected = final.rejected
        for index, size in sizes:
            outcome = outcomes[index]
            if decision.action is Action.EXPORTED:
                # partial_success gives a count, not span ids: attribute it to groups in order.
                taken = min(rejected, size)
                rejected -= taken
                outcome.exported += size - taken
                outcome.drop("partial_success", taken)
            elif decision.action is Action.DROP:
                outcome.drop(decision.reason, size)
            else:
                outcome.merge(GroupOutcome(nak_delay_s=decision.delay_s, nak_reason=decision.reason))

    async def _send_with_retries(self, spans: list[SpanRecord], deadline: float) -> _Final:
        body, content_type = encoder.encode(spans, self._settings.protocol)
        if len(body) > self._settings.max_request_bytes:
            return _Final(Decision(Action.SPLIT, reason="too_large"))
        if self._settings.compression == "gzip":
            # Level 1: a batch of spans repeats itself so much that it compresses nearly as well as
            # at level 5 (about 4 % larger), at under half the CPU per span.
            body = gzip.compress(body, compresslevel=1)
        retries = 0
        while True:
            if self._shutdown.is_set():
                return _Final(Decision(Action.NAK, reason="shutdown"))
            result, rejected = await self._post(body, content_type)
            remaining = deadline - self._clock.monotonic()
            decision = self._decide(result, retries, remaining, self._policy, self._rng, self._clock.time())
            if decision.retry_after_clamped:
                self._observer.retry_after_clamped()
            if decision.action is not Action.RETRY:
                return _Final(decision, rejected)
            self._observer.retry(decision.reason)
            retries += 1
            if await self._clock.sleep(decision.delay_s, self._shutdown):
                return _Final(Decision(Action.NAK, reason="shutdown"))

    async def _post(self, body: bytes, content_type: str) -> tuple[AttemptResult, int]:
        headers = {**self._headers, "Content-Type": content_type}
        timeout = self._settings.timeout_s
        started = time.monotonic()
        try:
            async with self._session.post(
                self._settings.endpoint,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                raw, too_large = await self._read_limited(response)
                status = response.status
                retry_after = response.headers.get("Retry-After")
                response_type = response.headers.get("Content-Type", content_type)
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            return self._transport_failure("timeout", started)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError):
            return self._transport_failure("disconnected", started)
        except (aiohttp.ClientError, OSError):
            return self._transport_failure("connection_error", started)
        self._observer.request_done(str(status), time.monotonic() - started)
        rejected = 0
        if 200 <= status < 300 and not too_large:
            partial = encoder.decode_partial_success(raw, response_type)
            if partial is not None:
                rejected = partial.rejected_spans
                self._observer.partial_success(rejected)
                log.warning("partial success: %d spans rejected: %.200s", rejected, partial.error_message)
        return AttemptResult(status=status, retry_after=retry_after, response_too_large=too_large), rejected

    def _transport_failure(self, kind: TransportError, started: float) -> tuple[AttemptResult, int]:
        self._observer.request_done(kind, time.monotonic() - started)
        return AttemptResult(error=kind), 0

    async def _read_limited(self, response: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """The body, or ``(b"", True)`` once it exceeds the response limit (OTLP-13)."""
        limit = self._policy.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                return b"", True
            chunks.append(chunk)
        return b"".join(chunks), False
