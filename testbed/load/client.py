"""The asyncio open-loop driver (LAT-01..LAT-03): fires each request at its intended time and
never waits for a response before sending the next.

``drive`` takes a schedule and an async ``send(request) -> ClientRecord`` callable (the HTTP side
lives with the runner). Each request carries its intended time, so the record's latency runs
from the schedule, not from when the request actually left: queueing behind a slow server is
counted (coordinated omission corrected).

LAT-03: the driver waits on a precise timer (``testbed.load.timer``), not on the loop's
millisecond timer alone. A sender stamps ``sent_ns`` just before it writes the request (after
building it); the record's stamp wins, and the driver's own stamp at hand-over is the fallback
for a sender that leaves it at 0. An outstanding cap bounds memory; hitting it delays a send and
marks the record (``cap_hit``), which makes the run inconclusive.

The cyclic garbage collector is paused while the schedule runs (and the collection made after):
a full collection stops the loop for milliseconds at a random send, which would show as lag in
one group and not another (LAT-03 c). A load of a few thousand requests leaves little garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from testbed.checks.evidence import ClientRecord
from testbed.load.schedule import Arrival, Schedule
from testbed.priority import raised_priority
from testbed.load.timer import Timer, coarse_timer, precise_timer


@dataclass(frozen=True, slots=True)
class Request:
    """What ``send`` receives: the arrival, its correlation id and intended/sent times (ns)."""

    arrival: Arrival
    correlation_id: str
    intended_ns: int
    sent_ns: int


Send = Callable[[Request], Awaitable[ClientRecord]]
Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class DriveResult:
    records: tuple[ClientRecord, ...]
    cap_hits: int
    priority: str = "none"
    """How the sending thread was raised for the load: ``realtime``, ``nice`` or ``none``."""


async def drive(
    schedule: Schedule,
    send: Send,
    *,
    run_id: str = "run",
    max_outstanding: int = 10_000,
    clock: Clock = time.monotonic_ns,
    on_cap: Callable[[Arrival], None] | None = None,
    timer: Timer | None = None,
    lead_ns: int = 0,
) -> DriveResult:
    """Send every arrival at start + offset; return one record per arrival, in schedule order.
    ``on_cap`` is called when an arrival finds the outstanding cap reached, before it waits.
    ``timer`` defaults to the most precise one available on ``clock``; the driver closes it.

    With ``lead_ns`` the driver hands each request to ``send`` that long before its intended
    time, and ``send`` must not write it before ``Request.intended_ns`` (it makes the request
    ready, then writes it from an alarm: ``testbed.load.alarm``); the driver's own wake-ups then
    need no precision."""
    wait = timer or (coarse_timer(clock) if lead_ns else precise_timer(clock))
    slots = asyncio.Semaphore(max_outstanding)
    tasks: list[asyncio.Task[ClientRecord]] = []
    cap_hits = 0
    with _gc_paused(), raised_priority() as priority:
        start = clock()
        try:
            for arrival in schedule.arrivals:
                intended = start + arrival.offset_ns
                await wait.sleep_until(intended - lead_ns)
                capped = slots.locked()
                if capped:
                    cap_hits += 1
                    if on_cap is not None:
                        on_cap(arrival)
                await slots.acquire()
                req = Request(arrival, f"{run_id}-{arrival.index}", intended, 0 if lead_ns else clock())
                tasks.append(asyncio.create_task(_one(send, req, capped, slots)))
        finally:
            wait.close()
        records = await asyncio.gather(*tasks)
    return DriveResult(tuple(records), cap_hits, priority)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector for the load; restore it as found and collect once after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()


async def _one(send: Send, req: Request, capped: bool, slots: asyncio.Semaphore) -> ClientRecord:
    try:
        rec = await send(req)
    except Exception as exc:  # a transport error is a failed request, not a failed run
        rec = ClientRecord(req.correlation_id, req.intended_ns, req.sent_ns, path=_path(req),
                           error=type(exc).__name__)
    finally:
        slots.release()
    return replace(rec, correlation_id=req.correlation_id, intended_ns=req.intended_ns,
                   sent_ns=rec.sent_ns or req.sent_ns or req.intended_ns, cap_hit=capped or rec.cap_hit)


def _path(req: Request) -> str:
    return req.arrival.path if req.arrival.path in ("gateway", "direct", "comparator") else "gateway"
