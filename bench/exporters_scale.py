"""Exporter scale-out: the same backlog drained by 1 exporter, then by 3, on a JetStream cluster.

Stack: a three-node NATS cluster (stream with 3 replicas), two gateways, three exporters on the
one durable consumer. Each phase stops every exporter (asked for, so the supervisor leaves them
down), puts a backlog of N chat requests (2N spans) on the bus through the gateways, waits until
the gateways have published every event, then starts M exporters. The drain rate is measured
from the moment the M-th exporter is ready to the moment the ingest holds the whole backlog:
spans accepted in that window over its length, so start-up time is not counted. The ratio of the
3-exporter rate to the 1-exporter rate is the scale-out figure (target at least 2.2x).

On a 2-core machine three exporters and the ingest compete for two cores, so the ratio is bounded
by the cores, not by the consumer; the figure is reported as measured, with the CPU count.

    python bench/exporters_scale.py [--requests 4000] [--concurrency 16]

Writes ``bench/results/exporters_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from testbed.counters import GATEWAY_EVENTS_PUBLISHED, INGEST_SPANS_ACCEPTED
from testbed.prometheus import scrape_sum
from testbed.runner.stack import Stack, StackSettings
from testbed.waiting import wait_until
import testbed.loop

sys.path.insert(0, str(Path(__file__).parent))
from cpu_cost import send_all  # noqa: E402 - the same closed-loop client

RESULTS = Path(__file__).parent / "results" / "exporters_scale.json"
TARGET_RATIO = 2.2


def _accepted(stack: Stack) -> float:
    return scrape_sum(f"{stack.middleware_admin_url}/metrics", INGEST_SPANS_ACCEPTED)


def _published(stack: Stack) -> float:
    return sum(scrape_sum(str(g.ready.get("metrics", f"{g.url}/metrics")), GATEWAY_EVENTS_PUBLISHED)
               for g in stack.gateways if g is not None)


def drain_rate(stack: Stack, exporters: int, args: argparse.Namespace) -> dict[str, Any]:
    """Backlog with no exporter running, then ``exporters`` of them; spans per second drained."""
    for proc in stack.exporters:
        if proc is not None:
            proc.stop(reason="backlog phase")
    start_accepted, start_published = _accepted(stack), _published(stack)
    half = args.requests // 2
    ok = sum(testbed.loop.run(send_all(url, stack.settings.gateway_api_key, half, args.concurrency, False))
             for url in [g.url for g in stack.gateways if g is not None])
    wait_until(lambda: _published(stack) >= start_published + ok, 120, what="the backlog on the bus")
    target = start_accepted + 2 * ok
    with ThreadPoolExecutor(exporters) as pool:  # all at once, so they join the consumer together
        list(pool.map(lambda index: stack.start_exporter(index=index), range(exporters)))
    t0, at_t0 = time.monotonic(), _accepted(stack)
    wait_until(lambda: _accepted(stack) >= target, 600, what=f"the backlog drained by {exporters}")
    elapsed = time.monotonic() - t0
    drained = target - at_t0
    if drained < ok:  # most of the backlog went before the last exporter was ready: no valid figure
        return {"exporters": exporters, "backlog_spans": 2 * ok, "measured_spans": drained, "window_s": round(elapsed, 3),
                "spans_per_s": None, "why": "backlog drained before every exporter was ready; raise --requests"}
    return {"exporters": exporters, "backlog_spans": 2 * ok, "measured_spans": drained,
            "window_s": round(elapsed, 3), "spans_per_s": round(drained / elapsed, 1)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    # The exporters' own throughput is measured: they share the cores equally (no idle class).
    stack = Stack.start(StackSettings(nats_cluster=3, gateways=2, exporters=3, background="none"), log=None)
    try:
        one = drain_rate(stack, 1, args)
        three = drain_rate(stack, 3, args)
    finally:
        stack.stop()
    ratio = three["spans_per_s"] / one["spans_per_s"] if one["spans_per_s"] and three["spans_per_s"] else None
    return {"requests_per_phase": args.requests, "phases": [one, three], "ratio_3_to_1": round(ratio, 3) if ratio else None,
            "target_ratio": TARGET_RATIO, "met": bool(ratio and ratio >= TARGET_RATIO), "cpu_count": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
