"""The exporter service: consume -> batch -> send -> ack (GW-10, EXP-01..06). Started and stopped explicitly.

Flow: a pull loop fetches from the shared durable consumer while fewer than ``max_queue_size`` spans
are pulled-but-unfinished (the bus is the queue: when full, the exporter stops pulling instead of
dropping). Each message is parsed and mapped (a message that is not a TraceEvent is terminated and
counted as ``malformed``); its spans join the batch buffer. A batch leaves when it holds
``max_export_batch_size`` spans or when its oldest span has waited ``schedule_delay``. At most
``max_concurrent_exports`` batches are in flight.

Every pulled message ends in exactly one way:

- **acked**: its spans were exported, or dropped with a counted reason (``permanent_<status>``,
  ``too_large``, ``partial_success``, ``response_too_large``, ``unencodable``); its event id is
  remembered, so a redelivery caused by a lost ack is acked again without a second export;
- **NAKed** with a delay: a transient failure outlived the batch deadline, or the exporter is
  stopping; the bus redelivers it later (to this or another exporter);
- **terminated**: malformed (counted in events), or NAK-worthy on its ``max_deliver``-th delivery
  (its unexported spans counted as ``retries_exhausted``), because the bus would not redeliver it.

``stop()`` (SIGTERM) stops pulling, lets in-flight exports finish within the export timeout, then
interrupts their backoff waits and NAKs whatever is left. ``abort()`` imitates SIGKILL: nothing is
acked or NAKed, and the bus redelivers after ``ack_wait``. While the exporter lives, a heartbeat
marks every message it holds as in progress every third of ``ack_wait``, so ``ack_wait`` can stay
short (10 s) although one export may take its whole 30 s deadline.

A redelivery can still reach the exporter while it holds the first copy: a fetch that ends on its
deadline leaves late messages in the client's buffer, where no heartbeat reaches them, and while the
queue is full (a long ingest outage) nothing fetches them before ``ack_wait`` runs out. Such a copy
joins the held item (same event id) and is settled with it, so its spans are never exported twice
(OTLP-05, LOSS-03).

The HTTP session has no tracing hooks: the exporter never traces its own OTLP requests (GW-07).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import nats.errors
from aiohttp import web
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from testbed.bus import connect, ensure_consumer, ensure_stream, fetch
from testbed.errors import TestbedError
from testbed.exporter.config import ExporterConfig
from testbed.defect_switches import announce
from testbed.exporter.defects import metric_instruments, retry_decider, span_mapper, wrap_sender
from testbed.exporter.encoder import check_spans
from testbed.exporter.mapping import map_event, spans_from_json
from testbed.exporter.metrics import ExporterMetrics
from testbed.exporter.metrics_export import GenAiMetricsExport
from testbed.exporter.sender import Clock, GroupOutcome, Sender
from testbed.exporter.server import create_app
from testbed.exporter.spans import SpanRecord
from testbed.serving import start_site
from testbed.trace_event import TraceEvent

log = logging.getLogger(__name__)

_DEFAULT_DRAIN_S = 10.0
_SETTLED_MEMORY = 100_000
"""Event ids whose outcome was final, remembered so a redelivery after a lost ack is only acked."""


@dataclass(eq=False)
class _Item:
    msg: Msg
    spans: list[SpanRecord]
    event_id: str
    copies: list[Msg] = field(default_factory=list)
    """Later deliveries of the same event that arrived while this one was held; settled with it."""
    unencodable: int = 0
    """Spans of this message left out because their text cannot be encoded, counted when it settles."""
    finished: bool = field(default=False)


def _all_exported(item: _Item, outcome: GroupOutcome) -> bool:
    return outcome.nak_delay_s is None and outcome.exported == len(item.spans) and not outcome.dropped


class ExporterService:
    """One exporter process's worth of work; several may share the durable consumer."""

    def __init__(
        self,
        config: ExporterConfig,
        *,
        serve_metrics: bool = True,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.metrics = ExporterMetrics()
        self.metrics_url: str | None = None
        self._serve_metrics = serve_metrics
        self._clock = clock
        self._rng = rng
        self._nc: NATS | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sender: Sender | None = None
        self._map_spans: Callable[[TraceEvent, str], list[SpanRecord]] = map_event
        self._runner: web.AppRunner | None = None
        self.genai_metrics: GenAiMetricsExport | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sends: set[asyncio.Task[None]] = set()
        self._buffer: list[_Item] = []
        self._buffered_spans = 0
        self._first_buffered_at = 0.0
        self._unfinished: set[_Item] = set()
        self._held: dict[str, _Item] = {}
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._queued_spans = 0
        self._stopping = False
        self._stopped = False

    @property
    def queued_spans(self) -> int:
        return self._queued_spans

    async def start(self) -> None:
        """Connect, create the stream and the shared durable consumer if needed, start the loops.

        Raises TestbedError when the bus cannot be reached; a failed start releases what it opened.
        """
        try:
            await self._start()
        except BaseException:
            self._stopped = True
            await self._close(flush=False)
            raise

    async def _start(self) -> None:
        """Open the bus, the HTTP session, the sender and the metrics site. The one place where
        seeded defects (selftest only) come in: each of ``span_mapper``, ``retry_decider``,
        ``wrap_sender`` and ``metric_instruments`` gives back the production object itself when no
        switch is on, and a substitute or wrapper otherwise."""
        from testbed import __version__

        self._version = __version__
        announce(self.config.defects, "exporter")
        self._map_spans = span_mapper(self.config.defects)
        self.metrics.spans_queued.set_function(lambda: self._queued_spans)
        self._room = asyncio.Event()
        self._room.set()
        self._has_items = asyncio.Event()
        self._batch_full = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._slots = asyncio.Semaphore(self.config.max_concurrent_exports)
        bus = self.config.bus
        try:
            # nats-py retries a failed first connection forever when reconnects are unlimited;
            # the start needs a bounded answer, reconnects after that stay unlimited.
            self._nc = await asyncio.wait_for(connect(bus.url, "testbed-exporter"), self.config.connect_timeout_s)
        except (OSError, asyncio.TimeoutError, nats.errors.Error) as exc:
            raise TestbedError(f"cannot reach the bus at {bus.url} ({type(exc).__name__})") from None
        js = self._nc.jetstream()
        await ensure_stream(js, bus)
        await ensure_consumer(js, bus)
        self._sub = await js.pull_subscribe_bind(bus.durable, stream=bus.stream)
        # No trace_configs: the exporter's own requests must never become spans (GW-07).
        self._session = aiohttp.ClientSession(auto_decompress=True)
        self._sender = wrap_sender(Sender(
            self._session, self.config.sender, self.config.retry, clock=self._clock, rng=self._rng,
            observer=self.metrics, decider=retry_decider(self.config.defects),
        ), self.config.defects)
        if self._serve_metrics:
            self._runner, self.metrics_url = await start_site(
                create_app(self.metrics), self.config.metrics.host, self.config.metrics.port
            )
        self.genai_metrics = GenAiMetricsExport(  # metrics derived from acked spans (SPEC 12)
            self.config.genai_metrics, self.config.sender, self.config.retry, registry=self.metrics.registry,
            clock=self._clock, instruments=metric_instruments(self.config.defects), version=__version__)
        self.genai_metrics.start(self._session)
        self._pull_task = asyncio.create_task(self._pull_loop())
        self._batch_task = asyncio.create_task(self._batch_loop())
        self._tasks = [self._pull_task, self._batch_task, asyncio.create_task(self._heartbeat_loop())]

    # ---- consuming -------------------------------------------------------------------------

    async def _pull_loop(self) -> None:
        assert self._sub is not None
        limit = self.config.batch.max_queue_size
        while not self._stopping:
            await self._room.wait()
            if self._stopping:
                return
            want = max(1, min(self.config.batch.max_export_batch_size, limit - self._queued_spans))
            try:
                msgs = await fetch(self._sub, want, self.config.fetch_wait_s)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.Error, OSError) as exc:
                log.warning("bus fetch failed (%s); retrying", type(exc).__name__)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), self.config.fetch_wait_s)
                continue
            self.metrics.events_consumed.inc(len(msgs))
            for msg in msgs:
                await self._accept(msg)

    async def _accept(self, msg: Msg) -> None:
        try:
            if self._map_spans is map_event:  # one pass from the JSON to the spans
                event_id, spans = spans_from_json(msg.data, self._version)
            else:  # a seeded defect's mapper wants the event itself
                event = TraceEvent.from_json(msg.data)
                event_id, spans = event.event_id, self._map_spans(event, self._version)
            if event_id in self._settled:
                # Its outcome was final but the ack was lost (the bus was down, or the ack came after
                # ack_wait): settle the redelivery without exporting the spans a second time.
                with contextlib.suppress(Exception):
                    await msg.ack()
                return
            held = self._held.get(event_id)
            if held is not None:  # redelivered while held: settle with the first copy, export once
                held.copies.append(msg)
                self.metrics.held_redeliveries.inc()
                return
            spans, unencodable = check_spans(spans)
        except Exception:  # any defect in a bus message makes it malformed, never a crash
            self.metrics.events_dropped.labels(reason="malformed").inc()
            with contextlib.suppress(Exception):
                await msg.term()
            return
        item = _Item(msg, spans, event_id, unencodable=unencodable)
        self._unfinished.add(item)
        self._held[item.event_id] = item
        if not spans:  # nothing left to export: settle now, the drop counted
            await self._finish(item, GroupOutcome())
            return
        self._queue_delta(len(spans))
        if not self._buffer:
            self._first_buffered_at = time.monotonic()
        self._buffer.append(item)
        self._buffered_spans += len(spans)
        self._has_items.set()
        if self._buffered_spans >= self.config.batch.max_export_batch_size:
            self._batch_full.set()

    async def _heartbeat_loop(self) -> None:
        """Keep every held message's ack timer running while it waits or is exported: the bus then
        redelivers only what a crashed exporter held, after a short ``ack_wait`` instead of a long
        one sized to outlast the export deadline (GW-10, EXP-05)."""
        period = self.config.bus.ack_wait_s / 3
        while True:
            await asyncio.sleep(period)
            for item in list(self._unfinished):
                for msg in (item.msg, *item.copies):
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

    def _queue_delta(self, delta: int) -> None:
        self._queued_spans += delta  # the spans_queued gauge reads it at scrape time
        if self._queued_spans < self.config.batch.max_queue_size:
            self._room.set()
        else:
            self._room.clear()

    # ---- batching and sending ----------------------------------------------------------------

    async def _batch_loop(self) -> None:
        batch = self.config.batch
        while True:
            await self._has_items.wait()
            if self._buffered_spans < batch.max_export_batch_size:
                left = batch.schedule_delay_s - (time.monotonic() - self._first_buffered_at)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._batch_full.wait(), max(left, 0.0))
            await self._slots.acquire()
            items = self._take_batch()
            if not items:
                self._slots.release()
                continue
            task = asyncio.create_task(self._export(items))
            self._sends.add(task)
            task.add_done_callback(self._send_done)

    def _send_done(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("export task failed: %s", type(task.exception()).__name__)  # no payload in logs

    def _take_batch(self) -> list[_Item]:
        limit = self.config.batch.max_export_batch_size
        items: list[_Item] = []
        spans = 0
        while self._buffer and (not items or spans + len(self._buffer[0].spans) <= limit):
            item = self._buffer.pop(0)
            items.append(item)
            spans += len(item.spans)
        self._buffered_spans -= spans
        if self._buffer:
            self._first_buffered_at = time.monotonic()
        else:
            self._has_items.clear()
        if self._buffered_spans < limit:
            self._batch_full.clear()
        return items

    async def _export(self, items: list[_Item]) -> None:
        assert self._sender is not None
        # No in-progress ping per message here: the heartbeat loop restarts every held message's ack
        # timer each ack_wait / 3, during the export too, and a ping per message cost a bus write each.
        started = time.monotonic()
        try:
            outcomes = await self._sender.export([item.spans for item in items])
        except Exception as exc:  # never leave a batch held: isolate the failing message, settle the rest
            log.error("export task failed: %s", type(exc).__name__)  # no payload in logs
            await self._after_failure(items, exc)
            return
        self.metrics.export_duration.observe(time.monotonic() - started)
        self.metrics.batch_spans.observe(sum(len(item.spans) for item in items))
        exported = [item for item, outcome in zip(items, outcomes) if _all_exported(item, outcome)]
        if exported:
            await self._finish_exported(exported)
        for item, outcome in zip(items, outcomes):
            await self._finish(item, outcome)  # what is left: drops, NAKs (a settled item is skipped)

    async def _finish_exported(self, items: list[_Item]) -> None:
        """``_finish`` for items whose every span was exported, with the counters, the queue size
        and the GenAI metrics updated once for all of them; each message is still acked on its own,
        after the ingest accepted its spans (EXP rules)."""
        spans = 0
        for item in items:
            item.finished = True
            self._unfinished.discard(item)
            self._held.pop(item.event_id, None)
            self._remember_settled(item.event_id)
            spans += len(item.spans)
        self._queue_delta(-spans)
        self.metrics.spans_exported.inc(spans)
        unencodable = sum(item.unencodable for item in items)
        if unencodable:
            self.metrics.spans_dropped.labels(reason="unencodable").inc(unencodable)
        if self.genai_metrics is not None:
            self.genai_metrics.record([span for item in items for span in item.spans])
        for item in items:
            try:
                for msg in (item.msg, *item.copies):
                    await msg.ack()
            except Exception as exc:  # the bus is down: the message will be redelivered after ack_wait
                log.warning("could not settle a bus message (%s)", type(exc).__name__)

    async def _after_failure(self, items: list[_Item], exc: Exception) -> None:
        """Settle a batch whose export raised: each message is retried alone, so only the one that
        fails alone is settled as failed. The encoder raises before the first request is sent, so
        retrying its neighbours cannot export anything twice."""
        if len(items) > 1:
            for item in items:
                await self._export([item])
            return
        item = items[0]
        if isinstance(exc, (ValueError, TypeError, OverflowError)):  # encoding: retrying cannot help
            await self._finish(item, GroupOutcome(dropped={"unencodable": len(item.spans)}))
        else:
            await self._finish(item, GroupOutcome(nak_delay_s=self.config.retry.initial_backoff_s,
                                                  nak_reason="export_error"))

    async def _finish(self, item: _Item, outcome: GroupOutcome) -> None:
        if item.finished:
            return
        item.finished = True
        self._unfinished.discard(item)
        self._held.pop(item.event_id, None)
        self._queue_delta(-len(item.spans))
        self.metrics.spans_exported.inc(outcome.exported)
        latest = item.copies[-1] if item.copies else item.msg  # the bus counts the newest delivery
        try:
            if outcome.nak_delay_s is None:
                outcome.drop("unencodable", item.unencodable)
                self._count_drops(outcome.dropped)
                self._remember_settled(item.event_id)
                if self.genai_metrics is not None and outcome.exported == len(item.spans):
                    self.genai_metrics.record(item.spans)
                for msg in (item.msg, *item.copies):
                    await msg.ack()
            elif latest.metadata.num_delivered >= self.config.bus.max_deliver:
                unexported = len(item.spans) - outcome.exported - sum(outcome.dropped.values())
                outcome.drop("unencodable", item.unencodable)
                self._count_drops({**outcome.dropped, "retries_exhausted": unexported})
                for msg in (item.msg, *item.copies):
                    await msg.term()
            else:
                self.metrics.events_nacked.labels(reason=outcome.nak_reason or "transient").inc()
                await latest.nak(delay=outcome.nak_delay_s or None)
        except Exception as exc:  # the bus is down: the message will be redelivered after ack_wait
            log.warning("could not settle a bus message (%s)", type(exc).__name__)

    def _remember_settled(self, event_id: str) -> None:
        self._settled[event_id] = None
        if len(self._settled) > _SETTLED_MEMORY:
            self._settled.popitem(last=False)

    def _count_drops(self, dropped: dict[str, int]) -> None:
        for reason, count in dropped.items():
            if count > 0:
                self.metrics.spans_dropped.labels(reason=reason).inc(count)

    # ---- stopping ----------------------------------------------------------------------------

    async def stop(self, drain_timeout_s: float | None = None) -> None:
        """Graceful stop (SIGTERM, EXP-05): stop pulling, finish in-flight exports, NAK the rest."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        if not hasattr(self, "_stop_event"):
            return
        self._stop_event.set()
        self._room.set()
        for task in self._tasks[1:]:
            task.cancel()  # the batch loop: buffered, unsent items are NAKed below
        await asyncio.gather(*self._tasks, return_exceptions=True)
        drain = drain_timeout_s if drain_timeout_s is not None else (self.config.sender.timeout_s or _DEFAULT_DRAIN_S)
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=drain)
        if self._sender is not None:
            self._sender.shutdown()
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=self.config.sender.timeout_s or _DEFAULT_DRAIN_S)
        for task in set(self._sends):
            task.cancel()
        await asyncio.gather(*self._sends, return_exceptions=True)
        for item in list(self._unfinished):
            await self._finish(item, GroupOutcome(nak_delay_s=0.0, nak_reason="shutdown"))
        if self.genai_metrics is not None:
            await self.genai_metrics.stop()
        await self._close(flush=True)

    async def abort(self) -> None:
        """Stop as a crash would (SIGKILL): nothing more is acked or NAKed."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping = True
        for task in [*self._tasks, *self._sends]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._sends, return_exceptions=True)
        if self.genai_metrics is not None:
            self.genai_metrics.abort()
        await self._close(flush=False)

    async def _close(self, flush: bool) -> None:
        if self._nc is not None:
            if flush:
                with contextlib.suppress(Exception):
                    await self._nc.flush(timeout=2)
            with contextlib.suppress(Exception):
                await self._nc.close()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
