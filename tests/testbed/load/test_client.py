"""The open-loop driver (LAT-01..LAT-03): requests go out at their intended times even while
earlier responses are still pending, latency counts from the intended time (queueing included),
the outstanding cap is reported, and a failing send becomes a failed record."""

from __future__ import annotations

import asyncio
import time

from testbed.checks.evidence import ClientRecord
from testbed.load.client import Request, drive
from testbed.load.schedule import Arrival, build_schedule


async def test_driver_does_not_wait_for_slow_responses_LAT_01() -> None:
    release = asyncio.Event()
    sent: list[int] = []
    all_sent = asyncio.Event()
    schedule = build_schedule(200, 0.05)  # 10 arrivals, 5 ms apart

    async def send(req: Request) -> ClientRecord:
        sent.append(req.arrival.index)
        if len(sent) == len(schedule):
            all_sent.set()
        if req.arrival.index == 0:
            await release.wait()  # the first response stays pending until every request is out
        return ClientRecord(req.correlation_id, 0, 0, complete_ns=time.monotonic_ns(), status=200)

    task = asyncio.create_task(drive(schedule, send, run_id="t"))
    await asyncio.wait_for(all_sent.wait(), timeout=10)
    release.set()
    result = await asyncio.wait_for(task, timeout=10)
    first, last = result.records[0], result.records[-1]
    assert sent == list(range(10)) and result.cap_hits == 0
    assert first.complete_ns >= last.sent_ns  # the slow first answer came after the last send
    assert first.latency_ns >= last.intended_ns - first.intended_ns  # latency counts from intended start
    assert [r.correlation_id for r in result.records] == [f"t-{i}" for i in range(10)]
    assert all(r.sent_ns >= r.intended_ns for r in result.records)


async def test_outstanding_cap_delays_and_marks_requests_LAT_03() -> None:
    release = asyncio.Event()
    schedule = build_schedule(1000, 0.004)  # 4 arrivals

    async def send(req: Request) -> ClientRecord:
        if req.arrival.index == 0:
            await release.wait()
        return ClientRecord(req.correlation_id, 0, 0, complete_ns=time.monotonic_ns(), status=200)

    capped: list[int] = []

    def on_cap(arrival: Arrival) -> None:
        capped.append(arrival.index)
        release.set()  # the driver is now waiting for a free slot: let the first response finish

    result = await asyncio.wait_for(drive(schedule, send, max_outstanding=1, on_cap=on_cap), timeout=10)
    assert capped and capped[0] == 1
    assert result.cap_hits >= 1 and result.records[1].cap_hit


async def test_a_failing_send_becomes_a_failed_record() -> None:
    async def send(req: Request) -> ClientRecord:
        raise ConnectionResetError("peer")

    result = await drive(build_schedule(1000, 0.002), send)
    assert all(r.error == "ConnectionResetError" and not r.ok for r in result.records)
