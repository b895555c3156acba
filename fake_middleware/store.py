"""The in-memory span store: spans, per-request metadata, raw request bytes, counters, waits.

Contract:
- A span is keyed by (trace_id, span_id). A key seen again is not stored again; it is counted as a
  duplicate, and as a differing duplicate when its content is not identical (LOSS-03).
- Raw decoded request bodies are kept up to ``raw_bytes_limit`` in total; the oldest are dropped
  first and counted. Request metadata is kept for the last ``max_requests`` requests.
- A request whose decoded body hashes like an earlier one is marked as a retry of the latest such
  request, with the gap from that request's end to this arrival (SPEC 5, OTLP-08..11).
- ``wait_for`` wakes on arrival (no polling); every method runs on the event loop that serves the
  ingest. This module does not import aiohttp.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from testbed.errors import WaitTimeout

from fake_middleware import canary
from fake_middleware.model import RequestRecord, StoredSpan
from fake_middleware.notify import Notifier
from fake_middleware.query import SpanQuery

DEFAULT_RAW_BYTES_LIMIT: Final = 256 * 1024 * 1024
DEFAULT_MAX_REQUESTS: Final = 100_000


@dataclass(slots=True)
class _SpanWaiter:
    query: SpanQuery
    count: int
    seen: int
    done: asyncio.Future[None]


class SpanStore:
    """Spans and requests received by the ingest, with query methods and arrival-driven waits."""

    def __init__(self, raw_bytes_limit: int = DEFAULT_RAW_BYTES_LIMIT, max_requests: int = DEFAULT_MAX_REQUESTS) -> None:
        self.raw_bytes_limit = raw_bytes_limit
        self.max_requests = max_requests
        self._waiters: list[_SpanWaiter] = []
        self._notifier = Notifier()
        self.reset()

    def reset(self) -> None:
        """Forget every span, request and counter (waiters keep waiting, from zero)."""
        self._spans: dict[bytes, StoredSpan] = {}
        self._by_trace: dict[bytes, list[StoredSpan]] = {}
        self._requests: OrderedDict[int, RequestRecord] = OrderedDict()
        self._raw: deque[tuple[int, bytes]] = deque()
        self._raw_by_request: dict[int, bytes] = {}
        self._raw_total = 0
        self._last_by_hash: dict[str, int] = {}
        self._next_request_id = getattr(self, "_next_request_id", 1)
        self.counters: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_tenant: dict[str, Counter[str]] = {}
        for waiter in self._waiters:
            waiter.seen = 0
        self._notify()

    # -- writing -----------------------------------------------------------------------------

    def open_request(self, make: Callable[[int], RequestRecord]) -> RequestRecord:
        """Register a request as it arrives; ``make`` builds the record from its new id."""
        record = make(self._next_request_id)
        self._next_request_id += 1
        self._requests[record.id] = record
        while len(self._requests) > self.max_requests:
            self._requests.popitem(last=False)
        self.counters["requests"] += 1
        self._notify()
        return record

    def add_body(self, record: RequestRecord, body: bytes, wire_bytes: int) -> None:
        """Keep the decoded body of a request and detect a resend of an earlier identical body."""
        digest = hashlib.sha256(body).hexdigest()
        record.body_sha256, record.decoded_bytes, record.wire_bytes = digest, len(body), wire_bytes
        self.counters["bytes_wire"] += wire_bytes
        self.counters["bytes_decoded"] += len(body)
        previous = self._requests.get(self._last_by_hash.get(digest, -1))
        if previous is not None and body:
            record.retry_of = previous.id
            if previous.end_ns is not None:
                record.retry_gap_ns = record.arrival_ns - previous.end_ns
            self.counters["retries"] += 1
        self._last_by_hash[digest] = record.id
        self._raw.append((record.id, body))
        self._raw_by_request[record.id] = body
        self._raw_total += len(body)
        while self._raw_total > self.raw_bytes_limit and self._raw:
            old_id, old = self._raw.popleft()
            self._raw_total -= len(old)
            del self._raw_by_request[old_id]
            self.counters["raw_dropped"] += 1

    def add_spans(self, record: RequestRecord, spans: Iterable[StoredSpan], rejected: int = 0) -> tuple[int, int]:
        """Store a request's valid spans; returns (accepted, duplicates)."""
        store, by_trace = self._spans, self._by_trace
        fresh: list[StoredSpan] = []
        duplicates = 0
        last_trace, last_list = b"", fresh
        for span in spans:
            key = span.store_key
            earlier = store.setdefault(key, span)
            if earlier is not span:
                duplicates += 1
                if earlier.content() != span.content():
                    self.counters["spans_duplicate_differing"] += 1
                continue
            fresh.append(span)
            # Spans of one trace usually arrive together: skip the index lookup for a run of them.
            trace = key[:16]
            if trace != last_trace:
                last_trace = trace
                last_list = by_trace.get(trace) or by_trace.setdefault(trace, [])
            last_list.append(span)
        record.accepted, record.duplicates, record.rejected = len(fresh), duplicates, rejected
        record.span_count = len(fresh) + duplicates + rejected
        self.counters["spans_accepted"] += len(fresh)
        self.counters["spans_duplicate"] += duplicates
        self.counters["spans_rejected"] += rejected
        tenant = self._tenant(record.tenant)
        tenant["spans_accepted"] += len(fresh)
        tenant["spans_rejected"] += rejected
        tenant["spans_duplicate"] += duplicates
        self._wake(fresh)
        return len(fresh), duplicates

    def reject_spans(self, record: RequestRecord, count: int) -> None:
        """Count spans refused without storing them (a partial_success fault)."""
        record.rejected += count
        self.counters["spans_rejected"] += count
        self._tenant(record.tenant)["spans_rejected"] += count

    def finish_request(self, record: RequestRecord, status: int | None, outcome: str, end_ns: int) -> None:
        """Complete a request: its status (None when no response was sent) and outcome."""
        if record.end_ns is not None:
            return
        record.status, record.outcome, record.end_ns = status, outcome, end_ns
        self.by_status[str(status) if status is not None else outcome] += 1
        self._tenant(record.tenant)["requests"] += 1  # known only once auth ran; "" when refused
        if outcome == "rejected_auth":
            self.counters["requests_unauthorized"] += 1
        self._notify()

    def _tenant(self, tenant: str | None) -> Counter[str]:
        return self.by_tenant.setdefault(tenant or "", Counter())

    # -- waking ------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._notifier.changed()

    def _wake(self, fresh: list[StoredSpan]) -> None:
        for waiter in self._waiters:
            if waiter.done.done():
                continue
            waiter.seen += sum(1 for span in fresh if waiter.query.matches(span))
            if waiter.seen >= waiter.count:
                waiter.done.set_result(None)
        self._notify()

    async def wait_for(self, query: SpanQuery, count: int, timeout: float) -> list[StoredSpan]:
        """The matching spans once at least ``count`` are stored; WaitTimeout after ``timeout`` s."""
        seen = self.count(query)
        if seen < count:
            waiter = _SpanWaiter(query, count, seen, asyncio.get_running_loop().create_future())
            self._waiters.append(waiter)
            self._notify()  # so callers can wait until a waiter is in place (store.waiting)
            try:
                await asyncio.wait_for(asyncio.shield(waiter.done), timeout)
            except TimeoutError:
                raise WaitTimeout(f"{self.count(query)} of {count} spans matching {query} within {timeout:.1f}s") from None
            finally:
                self._waiters.remove(waiter)
                self._notify()
        return self.query(query)

    async def wait_until(self, condition: Callable[[SpanStore], Any], timeout: float, what: str = "condition") -> Any:
        """Wait until ``condition(store)`` is truthy, re-checked on every change (not on a timer)."""
        return await self._notifier.wait_until(lambda: condition(self), timeout, what)

    @property
    def waiting(self) -> int:
        """How many ``wait_for`` calls are waiting now."""
        return len(self._waiters)

    # -- reading -----------------------------------------------------------------------------

    def query(self, query: SpanQuery | None = None, limit: int | None = None) -> list[StoredSpan]:
        """Matching spans in arrival order, at most ``limit``."""
        query = query or SpanQuery()
        pool: Iterable[StoredSpan] = (self.trace(query.trace_id) if query.trace_id else self._spans.values())
        out: list[StoredSpan] = []
        for span in pool:
            if query.matches(span):
                out.append(span)
                if limit is not None and len(out) >= limit:
                    break
        return out

    def count(self, query: SpanQuery | None = None) -> int:
        if query is None or query == SpanQuery():
            return len(self._spans)
        return len(self.query(query))

    def trace(self, trace_id: str) -> list[StoredSpan]:
        """The spans of one trace (hex id, any case) in arrival order."""
        try:
            return list(self._by_trace.get(bytes.fromhex(trace_id), []))
        except ValueError:
            return []

    def requests(self, since_id: int = 0) -> list[RequestRecord]:
        return [r for r in self._requests.values() if r.id > since_id]

    def request(self, request_id: int) -> RequestRecord | None:
        return self._requests.get(request_id)

    def raw_body(self, request_id: int) -> bytes | None:
        return self._raw_by_request.get(request_id)

    def canary(self, needle: bytes) -> list[canary.Hit]:
        """Every hit of ``needle`` in the kept bodies and recorded headers (SPEC 4, RED-01/08)."""
        hits: list[canary.Hit] = []
        for record in self._requests.values():
            hits += canary.search(needle, record.id, self._raw_by_request.get(record.id), record.headers)
        return hits

    def stats(self) -> dict[str, Any]:
        c = self.counters
        return {
            "requests": c["requests"], "spans": len(self._spans), "spans_accepted": c["spans_accepted"],
            "spans_rejected": c["spans_rejected"], "spans_duplicate": c["spans_duplicate"],
            "spans_duplicate_differing": c["spans_duplicate_differing"], "retries": c["retries"],
            "bytes_wire": c["bytes_wire"], "bytes_decoded": c["bytes_decoded"],
            "raw_bodies_kept": len(self._raw), "raw_bytes_kept": self._raw_total,
            "raw_bodies_dropped": c["raw_dropped"], "traces": len(self._by_trace),
            "by_status": dict(self.by_status),
            "by_tenant": {t: dict(v) for t, v in self.by_tenant.items()},
        }
