"""Send-lag benchmark of the driver's timers (LAT-03): how late does each send leave?

For each timer in ``testbed.load.timer`` (loop, spin, timerfd, thread) the open-loop driver runs
the same schedule on uvloop (the runner's loop) while the loop also does other work, the way the
runner does while it reads responses: every send schedules ``--work-us`` of CPU on the loop a
moment later. ``--hogs N`` adds N busy processes, to stand in for the rest of the stack sharing
the cores. Send lag = sent - intended, stamped by the sender as it is handed the request.

    python bench/send_lag.py [--rate 250] [--duration 10] [--work-us 150] [--hogs 1]

Writes ``bench/results/send_lag.json``: per timer, lag p50/p90/p99/p99.9/max in µs and the
driver process's CPU seconds (a spinning timer pays in CPU what it gains in precision).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import testbed.loop
from testbed.checks.evidence import ClientRecord
from testbed.load.client import Request, drive
from testbed.load.schedule import build_schedule
from testbed.percentiles import percentile
from testbed.load.timer import TIMERS

RESULTS = Path(__file__).parent / "results" / "send_lag.json"


def _busy(us: float) -> None:
    end = time.perf_counter() + us / 1e6
    while time.perf_counter() < end:
        pass


async def one_timer(name: str, rate: float, duration: float, work_us: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()

    async def send(req: Request) -> ClientRecord:
        sent = time.monotonic_ns()
        loop.call_later(0.0005, _busy, work_us)  # the response arrives and is parsed a moment later
        return ClientRecord(req.correlation_id, req.intended_ns, sent, status=200, complete_ns=sent)

    timer = TIMERS[name](time.monotonic_ns)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    result = await drive(build_schedule(rate, duration), send, timer=timer)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    lags = [max(r.send_lag_ns, 0) / 1000 for r in result.records]
    out: dict[str, Any] = {f"p{p:g}_us": round(percentile(lags, p), 1) for p in (50, 90, 99, 99.9)}
    out["max_us"] = round(max(lags), 1)
    out["count"] = len(lags)
    out["cpu_s"] = round((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--work-us", type=float, default=150.0)
    parser.add_argument("--hogs", type=int, default=1)
    parser.add_argument("--timers", default=",".join(TIMERS))
    args = parser.parse_args(argv)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    try:
        figures = {name: testbed.loop.run(one_timer(name, args.rate, args.duration, args.work_us))
                   for name in args.timers.split(",")}
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    doc = {"rate_per_s": args.rate, "duration_s": args.duration, "work_us": args.work_us, "hogs": args.hogs,
           "timers": figures}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    for name, f in figures.items():
        print(f"{name:8} p50 {f['p50_us']:8.1f} µs  p99 {f['p99_us']:8.1f} µs  max {f['max_us']:9.1f} µs  "
              f"cpu {f['cpu_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
