"""CPU cost per request of every hop, and of a bare aiohttp pass-through proxy, in one run.

CPU seconds (utime + stime from ``/proc/<pid>/stat``) are read for each process before and after a
fixed number of chat requests, sent closed-loop at a fixed concurrency; wall time plays no part,
so other work on a shared machine changes the figures far less than it changes latencies. For
each of non-streamed and streamed chat, two phases run back to back on one stack:

- ``gateway``: N requests through the reference gateway, then a wait until the ingest has
  accepted the 2N spans (SERVER + CLIENT), so the exporter's and the ingest's work is inside the
  window; gateway, exporter, fake providers, nats-server and ingest are read;
- ``bare hop``: the same N requests through ``testbed/runner/passthrough.py`` to the same fake
  providers; the proxy is read.

Targets (from the scale-out work): gateway at most 1.2x the bare hop per request, exporter at most
50 µs per span, ingest at most 15 µs per span. The idle work of each process during the window
(the exporter's 250 ms metric flush, pull loops) is included: it is part of what a pod costs.

    python bench/cpu_cost.py [--requests 6000] [--concurrency 16]

Writes ``bench/results/cpu_cost.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector

from testbed.counters import INGEST_SPANS_ACCEPTED
from testbed.prometheus import scrape_sum
from testbed.runner.passthrough import start_comparator
from testbed.runner.stack import Stack, StackSettings
from testbed.waiting import wait_until
import testbed.loop

RESULTS = Path(__file__).parent / "results" / "cpu_cost.json"
MODEL = "gpt-4o-mini"
SPANS_PER_REQUEST = 2
TICK = os.sysconf("SC_CLK_TCK")
TARGETS = {"gateway_vs_bare_hop": 1.2, "exporter_us_per_span": 50.0, "ingest_us_per_span": 15.0}


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def body(i: int, stream: bool) -> bytes:
    doc = {"model": MODEL, "messages": [{"role": "user", "content": f"cost question {i % 50}"}], "max_tokens": 32,
           "stream": stream}
    return json.dumps(doc).encode()


async def send_all(url: str, key: str, count: int, concurrency: int, stream: bool) -> int:
    """``count`` requests, closed loop over ``concurrency`` workers; returns how many got a 200."""
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    ok = 0
    next_index = iter(range(count))

    async def worker(session: ClientSession) -> None:
        nonlocal ok
        for i in next_index:
            async with session.post(f"{url}/v1/chat/completions", data=body(i, stream), headers=headers) as resp:
                await resp.read()
                ok += resp.status == 200

    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return ok


def per_request_us(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    return {name: round((after[name] - before[name]) / count * 1e6, 1) for name in before}


def measure_mode(stack: Stack, proxy_url: str, pids: dict[str, int], args: argparse.Namespace,
                 stream: bool) -> dict[str, Any]:
    key = stack.settings.gateway_api_key
    accepted = f"{stack.middleware_admin_url}/metrics"
    spans_before = scrape_sum(accepted, INGEST_SPANS_ACCEPTED)
    hop_pids = {k: v for k, v in pids.items() if k != "bare_hop"}
    before = snapshot(hop_pids)
    ok = testbed.loop.run(send_all(str(stack.gateway.url), key, args.requests, args.concurrency, stream))  # type: ignore[union-attr]
    expected = spans_before + SPANS_PER_REQUEST * ok
    wait_until(lambda: scrape_sum(accepted, INGEST_SPANS_ACCEPTED) >= expected, 600,
               what="every span at the ingest")
    gateway_phase = per_request_us(before, snapshot(hop_pids), args.requests)
    bare_pids = {"bare_hop": pids["bare_hop"], "providers": pids["providers"]}
    before = snapshot(bare_pids)
    bare_ok = testbed.loop.run(send_all(proxy_url, stack.settings.provider_api_key, args.requests, args.concurrency,
                                        stream))
    bare_phase = per_request_us(before, snapshot(bare_pids), args.requests)
    exporter_span = gateway_phase["exporter"] / SPANS_PER_REQUEST
    ingest_span = gateway_phase["ingest"] / SPANS_PER_REQUEST
    ratio = gateway_phase["gateway"] / bare_phase["bare_hop"] if bare_phase["bare_hop"] else None
    return {
        "ok": {"gateway": ok, "bare_hop": bare_ok},
        "cpu_us_per_request": {**gateway_phase, "bare_hop": bare_phase["bare_hop"],
                               "providers_via_bare_hop": bare_phase["providers"]},
        "exporter_us_per_span": round(exporter_span, 1),
        "ingest_us_per_span": round(ingest_span, 1),
        "gateway_vs_bare_hop": round(ratio, 3) if ratio else None,
        "requests_per_core_s": {name: round(1e6 / us) for name, us in
                                {**gateway_phase, "bare_hop": bare_phase["bare_hop"]}.items() if us > 0},
        "met": {"gateway_vs_bare_hop": ratio is not None and ratio <= TARGETS["gateway_vs_bare_hop"],
                "exporter_us_per_span": exporter_span <= TARGETS["exporter_us_per_span"],
                "ingest_us_per_span": ingest_span <= TARGETS["ingest_us_per_span"]},
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    # The background parts are measured here, not judged against the request path: equal shares.
    stack = Stack.start(StackSettings(background="none"), log=None)
    proxy = None
    try:
        assert stack.providers is not None and stack.nats is not None and stack.nats.pid is not None
        proxy = start_comparator(stack.providers.url)
        parts = stack.pids()
        pids = {"gateway": parts["gateway"], "exporter": parts["exporter"], "providers": parts["providers"],
                "ingest": parts["middleware"], "nats": stack.nats.pid, "bare_hop": proxy.pid}
        testbed.loop.run(send_all(str(stack.gateway.url), stack.settings.gateway_api_key, 50, 4, False))  # warm-up  # type: ignore[union-attr]
        modes = {name: measure_mode(stack, proxy.url, pids, args, stream)
                 for name, stream in (("non_stream", False), ("stream", True))}
    finally:
        if proxy is not None:
            proxy.stop()
        stack.stop()
    return {"requests": args.requests, "concurrency": args.concurrency, "targets": TARGETS,
            "spans_per_request": SPANS_PER_REQUEST, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "machine_note": "CPU seconds per request from /proc; other load on the machine inflates them little",
            "modes": modes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["modes"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
