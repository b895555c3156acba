"""Gateway overhead benchmark (SPEC LAT-01..LAT-06; issue targets: p50 overhead at most 1.25x a
bare pass-through proxy's, p99 overhead at most 2 ms, at 250 rps open loop with export on).

One run, one open-loop schedule whose slots alternate between three paths at the same rate:
``gateway`` (the reference gateway, exporting every span through NATS to the fake Middleware),
``direct`` (straight to the fake provider) and ``comparator`` (the same request through the bare
aiohttp proxy in ``testbed/runner/passthrough.py``). Latency runs from each request's intended start, so
queueing is counted (coordinated omission corrected). overhead_pX = pX(path) - pX(direct).

    python bench/gateway_overhead.py [--rate 250] [--duration 30] [--warmup 5]

Writes ``bench/results/gateway_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector

from testbed.checks.evidence import ClientRecord
from testbed.counters import INGEST_SPANS_ACCEPTED
from testbed.load.client import Request, drive
from testbed.load.histogram import LatencyHistogram
from testbed.load.schedule import build_schedule
from testbed.prometheus import scrape_sum
from testbed.runner.passthrough import start_comparator
from testbed.runner.stack import Stack, StackSettings
from testbed.waiting import wait_until
import testbed.loop

PATHS = ("gateway", "direct", "comparator")
MODEL = "gpt-4o-mini"
RESULTS = Path(__file__).parent / "results" / "gateway_overhead.json"


def payload(i: int) -> bytes:
    body = {"model": MODEL, "messages": [{"role": "user", "content": f"benchmark question {i % 50}"}], "max_tokens": 32}
    return json.dumps(body).encode()


def make_send(session: ClientSession, urls: dict[str, str], keys: dict[str, str]):  # type: ignore[no-untyped-def]
    async def send(req: Request) -> ClientRecord:
        path = req.arrival.path
        headers = {"authorization": f"Bearer {keys[path]}", "content-type": "application/json"}
        async with session.post(urls[path], data=payload(req.arrival.index // len(PATHS)), headers=headers) as resp:
            await resp.read()
            done = time.monotonic_ns()
            return ClientRecord(req.correlation_id, req.intended_ns, req.sent_ns, path=path,  # type: ignore[arg-type]
                                status=resp.status, complete_ns=done)

    return send


def summarise(records: list[ClientRecord], warmup_ns: int, start_ns: int) -> dict[str, Any]:
    hists = {p: LatencyHistogram() for p in PATHS}
    lags = LatencyHistogram()
    failed = 0
    for r in records:
        if r.intended_ns - start_ns < warmup_ns:
            continue
        lags.record_ns(max(r.send_lag_ns, 0))
        if not r.ok or r.latency_ns is None:
            failed += 1
            continue
        hists[r.path].record_ns(r.latency_ns)
    out: dict[str, Any] = {p: h.summary().to_json() for p, h in hists.items()}
    pct = ("p50", "p90", "p99", "p99.9")
    direct = out["direct"]
    out["overhead_us"] = {p: {k: out[p][k] - direct[k] for k in pct} for p in ("gateway", "comparator")}
    out["send_lag_us"] = lags.summary().to_json()
    # LAT-03: when the generator itself lags, the figures measure the machine, not the gateway.
    out["generator_healthy"] = out["send_lag_us"]["p99"] <= 1000 and out["send_lag_us"]["max"] <= 10_000
    out["failed"] = failed
    return out


async def run_load(stack: Stack, proxy_url: str, rate: float, duration: float) -> tuple[list[ClientRecord], int]:
    assert stack.gateway and stack.providers
    urls = {
        "gateway": f"{stack.gateway.url}/v1/chat/completions",
        "direct": f"{stack.providers.url}/v1/chat/completions",
        "comparator": f"{proxy_url}/v1/chat/completions",
    }
    keys = {"gateway": stack.settings.gateway_api_key, "direct": "sk-bench", "comparator": "sk-bench"}
    schedule = build_schedule(rate * len(PATHS), duration, paths=PATHS, seed=7)
    async with ClientSession(connector=TCPConnector(limit=0, force_close=False)) as session:
        start = time.monotonic_ns()
        result = await drive(schedule, make_send(session, urls, keys), run_id="bench", max_outstanding=2000)
    return list(result.records), start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=250.0, help="requests per second on each path")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    args = parser.parse_args(argv)
    stack = Stack.start(StackSettings())
    try:
        assert stack.providers is not None
        proxy = start_comparator(stack.providers.url)
        try:
            records, start = testbed.loop.run(run_load(stack, proxy.url, args.rate, args.duration))
        finally:
            proxy.stop()
        summary = summarise(records, int(args.warmup * 1e9), start)
        expected = sum(1 for r in records if r.path == "gateway") * 2
        exported_url = stack.ready_line()["metrics"]["middleware"]
        wait_until(lambda: scrape_sum(exported_url, INGEST_SPANS_ACCEPTED) >= expected, 60,
                   what="every gateway span at the ingest")
        summary["spans_ingested"] = scrape_sum(exported_url, INGEST_SPANS_ACCEPTED)
        summary["spans_expected"] = expected
    finally:
        stack.stop()
    over = summary["overhead_us"]
    summary["targets"] = {
        "p50_overhead_vs_comparator_ratio": round(over["gateway"]["p50"] / max(over["comparator"]["p50"], 1), 3),
        "p50_ratio_target": 1.25,
        "p99_overhead_ms": over["gateway"]["p99"] / 1000,
        "p99_target_ms": 2.0,
    }
    summary["settings"] = {"rate_per_path": args.rate, "duration_s": args.duration, "warmup_s": args.warmup}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
