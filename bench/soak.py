"""Soak: a long ingest outage under steady load through the real stack, with bounded memory.

The whole stack runs as real processes (``Stack``: nats-server, fake providers, fake ingest,
gateway, exporter). The ingest goes ``down`` (FLT-03, listener closed) for ``--outage-s`` while an
open-loop client sends ``--rate`` chat requests per second to the gateway; it reopens on its own
when the outage ends. Every ``--sample-s`` the script samples the resident memory (VmRSS) of
every process and the bus backlog (JetStream stream bytes and messages, the consumer's pending
events). After the outage it waits, with a deadline, until the ingest holds every span of every
answered request (one SERVER and one CLIENT span each) and nothing is queued anywhere.

Three verdicts, each stated in the results:

- ``rss``: every process stays under ``--rss-bound-mb`` while the ingest is down (the ingest's own
  store holds every delivered span by design, so the drain phase is reported, not judged);
- ``bus``: the stream never holds more than its ``max_bytes``;
- ``delivered``: after healing, unique spans at the ingest = expected, with no counted drop.

    python bench/soak.py                                      # the full soak: 10 min at 200 rps
    python bench/soak.py --outage-s 30 --rate 50 --sample-s 5  # a quick check that it works

Writes ``bench/results/soak.json``. Figures from a machine that other work shares are noisy;
the memory bounds are what the run judges, not speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from testbed.bus.client import connect
from testbed.bus.subjects import CONSUMER_DURABLE, STREAM_NAME
from testbed.counters import EXPORTER_SPANS_DROPPED, EXPORTER_SPANS_QUEUED, GATEWAY_QUEUE_DEPTH, GATEWAY_SPANS_DROPPED
from testbed.prometheus import sample_sum
from testbed.runner.stack import Stack, StackSettings
from testbed.waiting import wait_until_async

RESULTS = Path(__file__).resolve().parent / "results" / "soak.json"
FAULT = "soak-outage"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "soak"}]}
MAX_OUTSTANDING = 512


@dataclass
class Load:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    cap_hit: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB from ``/proc`` (None once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def pids(stack: Stack) -> dict[str, int]:
    out = stack.pids()
    nats_pid = getattr(stack.nats, "pid", None)  # None: an external NATS, or no embedded server running
    if nats_pid is not None:
        out["nats"] = int(nats_pid)
    out["load"] = os.getpid()
    return out


async def bus_state(nc: Any) -> dict[str, Any]:
    js = nc.jetstream()
    info = await js.stream_info(STREAM_NAME)
    consumer = await js.consumer_info(STREAM_NAME, CONSUMER_DURABLE)
    return {"bytes": int(info.state.bytes), "messages": int(info.state.messages),
            "max_bytes": int(info.config.max_bytes or 0),
            "pending_events": int(consumer.num_pending + consumer.num_ack_pending)}


async def sampler(stack: Stack, nc: Any, period_s: float, phase: list[str], out: list[dict[str, Any]],
                  stop: asyncio.Event) -> None:
    """One sample now and every ``period_s`` until ``stop`` (a periodic sampler, not a wait)."""
    t0 = time.monotonic()
    while True:
        sample: dict[str, Any] = {"t_s": round(time.monotonic() - t0, 1), "phase": phase[0],
                                  "rss_mb": {name: rss_mb(pid) for name, pid in pids(stack).items()}}
        try:
            sample["bus"] = await bus_state(nc)
        except Exception as exc:  # noqa: BLE001 - a failed read is recorded, the soak goes on
            sample["bus"] = {"error": type(exc).__name__}
        out.append(sample)
        print(json.dumps(sample), flush=True)
        try:
            await asyncio.wait_for(stop.wait(), period_s)
            return
        except TimeoutError:
            continue


async def one_request(http: aiohttp.ClientSession, url: str, key: str, load: Load) -> None:
    try:
        async with http.post(url, json=BODY, headers={"Authorization": f"Bearer {key}"}) as resp:
            await resp.read()
            if resp.status == 200:
                load.ok += 1
            else:
                load.failed += 1
    except (aiohttp.ClientError, TimeoutError):
        load.failed += 1


async def drive(http: aiohttp.ClientSession, url: str, key: str, rate: float, duration_s: float) -> Load:
    """Open loop: request i starts at t0 + i/rate whatever is outstanding (up to a cap, counted)."""
    load = Load()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(int(rate * duration_s)):
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the schedule's next start time, not a wait for a condition
        if len(load.tasks) >= MAX_OUTSTANDING:
            load.cap_hit += 1
            continue
        load.sent += 1
        task = asyncio.create_task(one_request(http, url, key, load))
        load.tasks.add(task)
        task.add_done_callback(load.tasks.discard)
    if load.tasks:
        await asyncio.gather(*load.tasks)
    return load


async def counters(http: aiohttp.ClientSession, stack: Stack) -> dict[str, float]:
    """Unique spans at the ingest, counted drops and whatever is still queued at each hop."""
    assert stack.gateway is not None and stack.exporter is not None
    async with http.get(f"{stack.middleware_admin_url}/api/v1/stats") as r:
        stats = await r.json()
    pages = {}
    for name, proc in (("gateway", stack.gateway), ("exporter", stack.exporter)):
        async with http.get(str(proc.ready.get("metrics", f"{proc.url}/metrics"))) as r:
            pages[name] = await r.text()
    return {
        "ingested_unique": float(stats["spans"]), "duplicates": float(stats.get("spans_duplicate", 0)),
        "gateway_dropped": sample_sum(pages["gateway"], GATEWAY_SPANS_DROPPED),
        "exporter_dropped": sample_sum(pages["exporter"], EXPORTER_SPANS_DROPPED),
        "gateway_queued": sample_sum(pages["gateway"], GATEWAY_QUEUE_DEPTH),
        "exporter_queued": sample_sum(pages["exporter"], EXPORTER_SPANS_QUEUED),
    }


async def await_delivery(http: aiohttp.ClientSession, stack: Stack, nc: Any, expected: int,
                         timeout_s: float) -> tuple[bool, dict[str, float], float]:
    """Wait (deadline ``timeout_s``) until the ingest holds ``expected`` unique spans and nothing is
    queued at the gateway, on the bus or in the exporter; (drained, last counters, seconds)."""
    last: dict[str, float] = {}

    async def delivered() -> bool:
        try:
            last.update(await counters(http, stack))
            pending = (await bus_state(nc))["pending_events"]
        except (aiohttp.ClientError, TimeoutError, KeyError):
            return False  # the ingest reopens on its own at the end of the outage
        queued = last["gateway_queued"] + last["exporter_queued"] + pending
        return last["ingested_unique"] >= expected and queued == 0

    healed_at = time.monotonic()
    try:
        await wait_until_async(delivered, timeout_s, what="delivery after the outage")
        drained = True
    except Exception:  # noqa: BLE001 - the verdict says what was missing
        drained = False
    return drained, last, time.monotonic() - healed_at


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    stack = await asyncio.to_thread(Stack.start, StackSettings())
    samples: list[dict[str, Any]] = []
    phase = ["outage"]
    stop = asyncio.Event()
    try:
        assert stack.gateway is not None
        nc = await connect(stack.nats_url, "testbed-soak", allow_reconnect_forever=False)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=MAX_OUTSTANDING)) as http:
            fault = {"name": FAULT, "kind": "down", "duration_ms": int(args.outage_s * 1000)}
            async with http.post(f"{stack.middleware_admin_url}/_faults", json=fault) as r:
                r.raise_for_status()
            sampling = asyncio.create_task(sampler(stack, nc, args.sample_s, phase, samples, stop))
            started = time.monotonic()
            load = await drive(http, f"{stack.gateway.url}/v1/chat/completions", stack.settings.gateway_api_key,
                               args.rate, args.outage_s)
            phase[0] = "drain"
            expected = 2 * load.ok
            drained, last, drain_s = await await_delivery(http, stack, nc, expected, args.drain_timeout_s)
            stop.set()
            await sampling
        await nc.close()
    finally:
        stop.set()
        await asyncio.to_thread(stack.stop)
    return judge(args, samples, load, expected, last, drained, drain_s, time.monotonic() - started)


def judge(args: argparse.Namespace, samples: list[dict[str, Any]], load: Load, expected: int,
          last: dict[str, float], drained: bool, drain_s: float, total_s: float) -> dict[str, Any]:
    """The three verdicts (pure) from the samples and the final counters."""
    peak_outage: dict[str, float] = {}
    peak_all: dict[str, float] = {}
    for s in samples:
        for name, mb in s["rss_mb"].items():
            if mb is None:
                continue
            peak_all[name] = max(peak_all.get(name, 0.0), mb)
            if s["phase"] == "outage":
                peak_outage[name] = max(peak_outage.get(name, 0.0), mb)
    bus = [s["bus"] for s in samples if "bytes" in s["bus"]]
    max_bus = max((b["bytes"] for b in bus), default=0)
    max_bytes = max((b["max_bytes"] for b in bus), default=0)
    drops = last.get("gateway_dropped", 0) + last.get("exporter_dropped", 0)
    over = {n: mb for n, mb in peak_outage.items() if mb > args.rss_bound_mb and n != "load"}
    verdicts = {
        "rss": {"pass": not over, "bound_mb": args.rss_bound_mb, "over": over,
                "rule": "every stack process under the bound while the ingest is down"},
        "bus": {"pass": bool(bus) and max_bus <= max_bytes, "max_stream_bytes": max_bus, "max_bytes": max_bytes,
                "max_messages": max((b["messages"] for b in bus), default=0)},
        "delivered": {"pass": drained and drops == 0 and last.get("ingested_unique", -1) >= expected,
                      "expected_spans": expected, "ingested_unique": last.get("ingested_unique"),
                      "duplicates": last.get("duplicates"), "dropped": drops, "drain_s": round(drain_s, 1),
                      "drain_timeout_s": args.drain_timeout_s},
    }
    return {
        "benchmark": "soak", "outage_s": args.outage_s, "rate_per_s": args.rate, "sample_s": args.sample_s,
        "requests": {"sent": load.sent, "ok": load.ok, "failed": load.failed, "cap_hit": load.cap_hit},
        "peak_rss_mb_outage": peak_outage, "peak_rss_mb_overall": peak_all, "verdicts": verdicts,
        "pass": all(v["pass"] for v in verdicts.values()), "total_s": round(total_s, 1), "samples": samples,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "note": "figures are from one run; a machine shared with other work makes them noisy"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-s", type=float, default=600.0, help="how long the ingest is down (default 600)")
    parser.add_argument("--rate", type=float, default=200.0, help="chat requests per second (default 200)")
    parser.add_argument("--sample-s", type=float, default=5.0, help="sampling period (default 5)")
    parser.add_argument("--rss-bound-mb", type=float, default=400.0, help="per-process RSS bound (default 400)")
    parser.add_argument("--drain-timeout-s", type=float, default=600.0, help="deadline for delivery after healing")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = asyncio.run(soak(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    summary = {k: v["pass"] for k, v in result["verdicts"].items()}
    print(json.dumps({"pass": result["pass"], "verdicts": summary, "requests": result["requests"],
                      "peak_rss_mb_outage": result["peak_rss_mb_outage"], "out": str(args.out)}))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
