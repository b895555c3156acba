"""The TraceEvent publisher: a bounded in-memory queue drained by one task into JetStream (GW-08, GW-09).

Data flows gateway -> NATS. A handler only calls :meth:`Publisher.offer` (``put_nowait``): it
never waits on the bus, and a full queue is a drop counted as ``queue_full``. The drain task
builds each event (so event building costs the request nothing), connects to NATS in the
background (retrying while it is down, the first connection included), publishes with
``Nats-Msg-Id`` = event id and awaits the JetStream ack. While NATS is unavailable it holds the
current event and retries it, the queue absorbing new ones; it resumes on its own when NATS is
back. Permanent outcomes are counted drops: ``stream_full`` (discard-new stream at its limit),
``bus_rejected`` (another JetStream refusal), ``too_large`` (over ``max_payload`` even after
content truncation), ``shutdown`` (still queued when the gateway stops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError

from testbed.bus import BusSettings, connect
from testbed.bus.client import stream_config
from testbed.bus.subjects import MSG_ID_HEADER
from testbed.gateway.events import encode_within
from testbed.gateway.metrics import GatewayMetrics
from testbed.trace_event import TraceEvent

log = logging.getLogger(__name__)

HEADER_ALLOWANCE: Final = 512
"""Bytes kept free under ``max_payload`` for the protocol line and the Msg-Id header."""
_STREAM_FULL_CODES: Final = frozenset({10047, 10054, 10077, 10078})
_BACKOFF_FIRST_S: Final = 0.05
_BACKOFF_MAX_S: Final = 1.0
PUBLISH_CHUNK: Final = 16
"""Events whose publishes start in one loop turn, so their messages share one write to the bus."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued event: built lazily by the drain task, ``spans`` known up front for drop counts."""

    build: Callable[[], TraceEvent]
    spans: int


@dataclass(frozen=True, slots=True)
class PublisherSettings:
    url: str
    queue_size: int = 10_000
    max_payload: int | None = None
    publish_timeout_s: float = 5.0
    create_stream: bool = True
    bus: BusSettings = BusSettings()
    connect_name: str = "testbed-gateway"
    max_in_flight: int = 64
    """Events published at once: their publishes leave in one write and their acks return in one
    read, instead of one round trip per event."""
    linger_s: float = 0.05
    """How long the drain task lets a lone event wait for company before publishing: fewer, larger
    writes to the bus take less of the request loop's time (the event is already off the request path)."""


class _Dropped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_stream_full(error: APIError) -> bool:
    text = (error.description or "").lower()
    return error.err_code in _STREAM_FULL_CODES or ("maximum" in text and "exceeded" in text)


class Publisher:
    """Start with :meth:`start`, stop with :meth:`stop` (idempotent); :meth:`offer` never blocks."""

    def __init__(self, settings: PublisherSettings, metrics: GatewayMetrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._queue: asyncio.Queue[Pending] = asyncio.Queue(maxsize=settings.queue_size)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._in_flight: list[Pending] = []
        self._connecting = asyncio.Lock()  # concurrent publishes share one connection attempt
        metrics.track_queue(lambda: self.depth)

    @property
    def depth(self) -> int:
        """Events not yet published: queued, plus the one the drain task holds (loss accounting, SPEC 7)."""
        return self._queue.qsize() + len(self._in_flight)

    def offer(self, pending: Pending) -> bool:
        """Queue an event without waiting; False (and a ``queue_full`` drop) when the queue is full."""
        try:
            self._queue.put_nowait(pending)
        except asyncio.QueueFull:
            self._metrics.dropped("queue_full", pending.spans)
            return False
        return True

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="trace-event-publisher")

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Publish what is queued within ``drain_timeout_s``; count the rest as ``shutdown`` drops."""
        if self._task is None:
            return
        self._stopping.set()
        if self._nc is not None and self._nc.is_connected:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), drain_timeout_s)
        await _cancel(self._task)
        self._task = None
        self._drop_rest()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._nc = self._js = None
        self._metrics.bus_connected.set(0)

    def _drop_rest(self) -> None:
        for pending in self._in_flight:
            self._metrics.dropped("shutdown", pending.spans)
        self._in_flight = []
        while not self._queue.empty():
            self._metrics.dropped("shutdown", self._queue.get_nowait().spans)

    async def _run(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            if self._queue.empty() and not self._stopping.is_set():
                getter = asyncio.ensure_future(self._queue.get())
                stopper = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not getter.done():
                    getter.cancel()
                    continue
                self._in_flight = [getter.result()]
            else:
                self._in_flight = [self._queue.get_nowait()]
            if self._queue.qsize() + 1 < self._settings.max_in_flight and not self._stopping.is_set():
                await self._pause(self._settings.linger_s)
            while len(self._in_flight) < self._settings.max_in_flight and not self._queue.empty():
                self._in_flight.append(self._queue.get_nowait())
            await asyncio.gather(*await self._start_each(self._in_flight))
            self._in_flight = []

    async def _start_each(self, batch: list[Pending]) -> list[asyncio.Future[None]]:
        """Build one event per loop turn, publish them by chunks (ISO-01, ISO-04).

        Building an event is synchronous work. Built all at once, a full batch (a backlog after
        the bus comes back) would run back to back without the loop polling its sockets, and
        requests arriving meanwhile would wait for all of it; built one per loop turn, a request
        waits for at most one build. The publishes of a chunk then start in the same turn, so their
        messages leave in one write to the bus: one write per event made the bus, the exporter and
        the gateway itself each pay per message (the gateway's CPU per request went from 468 to
        590 µs in ``bench/cpu_cost.py``, the bus's from 43 to 193). The publishes overlap, each awaiting its ack after the write."""
        started: list[asyncio.Future[None]] = []
        for first in range(0, len(batch), PUBLISH_CHUNK):
            chunk = batch[first:first + PUBLISH_CHUNK]
            built: list[tuple[Pending, TraceEvent | None]] = []
            for pending in chunk:
                built.append((pending, self._build(pending)))
                await asyncio.sleep(0)
            started += [asyncio.ensure_future(self._handle_safely(pending, event))
                        for pending, event in built if event is not None]
        return started

    def _build(self, pending: Pending) -> TraceEvent | None:
        try:
            return pending.build()
        except Exception as exc:  # a bug in event building must not kill the drain task
            log.error("could not build a trace event: %s", type(exc).__name__)
            self._metrics.dropped("bus_rejected", pending.spans)
            return None

    async def _handle_safely(self, pending: Pending, event: TraceEvent) -> None:
        try:
            await self._handle(pending, event)
        except Exception as exc:  # the drain task must outlive any single event
            log.error("unexpected %s while publishing a trace event", type(exc).__name__)
            self._metrics.dropped("bus_rejected", pending.spans)

    async def _handle(self, pending: Pending, event: TraceEvent) -> None:
        try:
            await self._publish(event)
        except _Dropped as drop:
            self._metrics.dropped(drop.reason, pending.spans)
            return
        self._metrics.events_published.inc()

    async def _publish(self, event: TraceEvent) -> None:
        delay = _BACKOFF_FIRST_S
        while True:
            js, max_payload = await self._connected()
            encoded = encode_within(event, max_payload - HEADER_ALLOWANCE)
            if encoded is None:
                raise _Dropped("too_large")
            raw, sent = encoded
            if sent.truncated and not event.truncated:
                self._metrics.events_truncated.inc()
            if not self._nc_connected():
                if self._stopping.is_set():
                    raise _Dropped("shutdown")
                await self._pause(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
                continue
            try:
                await js.publish(self._settings.bus.subject, raw, timeout=self._settings.publish_timeout_s,
                                 headers={MSG_ID_HEADER: event.event_id})
                return
            except NoStreamResponseError:
                await self._ensure_stream(js)
            except APIError as exc:
                raise _Dropped("stream_full" if is_stream_full(exc) else "bus_rejected") from None
            except nats.errors.MaxPayloadError:
                raise _Dropped("too_large") from None
            except (nats.errors.Error, asyncio.TimeoutError, OSError):
                pass  # the bus is down or slow: hold the event and retry it (Msg-Id makes that safe)
            if self._stopping.is_set():
                raise _Dropped("shutdown")
            await self._pause(delay)
            delay = min(delay * 2, _BACKOFF_MAX_S)

    async def _connected(self) -> tuple[JetStreamContext, int]:
        async with self._connecting:
            return await self._connect_once()

    async def _connect_once(self) -> tuple[JetStreamContext, int]:
        delay = _BACKOFF_FIRST_S
        while self._js is None or self._nc is None or self._nc.is_closed:
            if self._stopping.is_set():
                raise _Dropped("shutdown")
            try:
                self._nc = await connect(self._settings.url, self._settings.connect_name,
                                         on_disconnect=self._on_disconnect, on_reconnect=self._on_reconnect)
                self._js = self._nc.jetstream()
                self._metrics.bus_connected.set(1)
                if self._settings.create_stream:
                    await self._ensure_stream(self._js)
            except (nats.errors.Error, asyncio.TimeoutError, OSError):
                await self._pause(delay)
                delay = min(delay * 2, _BACKOFF_MAX_S)
        limit = self._nc.max_payload
        if self._settings.max_payload is not None:
            limit = min(limit, self._settings.max_payload)
        return self._js, limit

    def _nc_connected(self) -> bool:
        # While nats-py reconnects it would buffer every retry; waiting keeps one copy in flight.
        return self._nc is not None and self._nc.is_connected

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        """Create the stream if it is missing; an existing stream is never reshaped here."""
        if not self._settings.create_stream:
            return
        with contextlib.suppress(nats.errors.Error, asyncio.TimeoutError):
            try:
                await js.stream_info(self._settings.bus.stream)
            except NotFoundError:
                await js.add_stream(stream_config(self._settings.bus))

    async def _on_disconnect(self) -> None:
        self._metrics.bus_connected.set(0)

    async def _on_reconnect(self) -> None:
        self._metrics.bus_connected.set(1)

    async def _pause(self, seconds: float) -> None:
        """Back off, but wake at once when the gateway stops."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel until the task ends: on Python 3.11 ``asyncio.wait_for`` inside nats-py's connect loop
    can swallow a cancellation, so one ``cancel()`` is not always enough."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()
