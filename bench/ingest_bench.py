"""Ingest benchmark: gzip protobuf batches of 512 GenAI spans over loopback to ``python -m fake_middleware``.

The ingest runs as its own process (one event loop, so one core does the reading, inflating,
decoding and storing). The batches are built before the clock starts, each with fresh ids so
every span is really stored (none is a duplicate). The figure is spans stored per second of
wall time, read from the ingest's own counters; the target is at least 50,000 spans/s.

    python bench/ingest_bench.py [--batches 300] [--concurrency 4]

Writes ``bench/results/ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import secrets
import time
from pathlib import Path

import aiohttp
from google.protobuf.internal import api_implementation
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from testbed.process import python_module_argv, start_server
import testbed.loop

BATCH = 512
KEY = "bench-" + secrets.token_hex(8)
TARGET_SPANS_PER_S = 50_000
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        v = AnyValue(bool_value=value)
    elif isinstance(value, int):
        v = AnyValue(int_value=value)
    elif isinstance(value, float):
        v = AnyValue(double_value=value)
    elif isinstance(value, list):
        v = AnyValue()
        v.array_value.values.extend(AnyValue(string_value=x) for x in value)
    else:
        v = AnyValue(string_value=str(value))
    return KeyValue(key=key, value=v)


def template() -> ExportTraceServiceRequest:
    """One batch: 256 requests, each a SERVER span and a CLIENT span with GenAI attributes."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend(_kv(k, v) for k, v in {
        "service.name": "ai-gateway", "service.version": "1.4.2", "service.instance.id": secrets.token_hex(16),
        "host.name": "gw-7f9c", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.language": "python",
        "telemetry.sdk.version": "1.45.2"}.items())
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "testbed.gateway", "0.1.0"
    now = time.time_ns()
    for i in range(BATCH // 2):
        server = ss.spans.add(name="POST /v1/chat/completions", kind=2, start_time_unix_nano=now,
                              end_time_unix_nano=now + 850_000_000)
        server.attributes.extend(_kv(k, v) for k, v in {
            "http.request.method": "POST", "url.path": "/v1/chat/completions", "url.scheme": "http",
            "http.route": "/v1/chat/completions", "http.response.status_code": 200, "server.address": "gateway",
            "server.port": 8080, "user_agent.original": "OpenAI/Python 3.3.1", "gw.requested_model": "gpt-4o-mini",
            "gw.attempt_count": 1, "gw.correlation_id": secrets.token_hex(8)}.items())
        client = ss.spans.add(name="chat gpt-4o-mini", kind=3, start_time_unix_nano=now + 1_000_000,
                              end_time_unix_nano=now + 840_000_000)
        client.attributes.extend(_kv(k, v) for k, v in {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": f"chatcmpl-{i:08d}",
            "gen_ai.request.max_tokens": 512, "gen_ai.request.temperature": 0.7, "gen_ai.request.top_p": 1.0,
            "gen_ai.usage.input_tokens": 120 + i, "gen_ai.usage.output_tokens": 48,
            "gen_ai.response.finish_reasons": ["stop"], "server.address": "api.openai.com", "server.port": 443,
            "http.response.status_code": 200, "gw.attempt": 0, "gw.target": "openai-primary"}.items())
    return req


def batches(count: int) -> list[bytes]:
    req = template()
    spans = req.resource_spans[0].scope_spans[0].spans
    out = []
    for _ in range(count):
        for j in range(0, len(spans), 2):
            trace_id, server_id = os.urandom(16), os.urandom(8)
            spans[j].trace_id, spans[j].span_id = trace_id, server_id
            spans[j + 1].trace_id, spans[j + 1].span_id = trace_id, os.urandom(8)
            spans[j + 1].parent_span_id = server_id
        out.append(gzip.compress(req.SerializeToString(), compresslevel=6))
    return out


async def drive(url: str, bodies: list[bytes], concurrency: int) -> float:
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "Authorization": KEY}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            async with session.post(url + "/v1/traces", data=body, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"ingest answered {resp.status}")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        await worker_warmup(session, url, headers, bodies[0])
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return time.perf_counter() - started


async def worker_warmup(session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes) -> None:
    async with session.post(url + "/v1/traces", data=body, headers=headers) as resp:
        await resp.read()
    async with session.post(url + "/api/v1/reset") as resp:
        await resp.read()


async def stats(url: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.get(url + "/api/v1/stats") as resp:
        return await resp.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    bodies = batches(args.batches)
    proc = start_server(python_module_argv("fake_middleware", "--host", "127.0.0.1", "--port", "0"),
                        env={"FAKE_MIDDLEWARE_API_KEYS": KEY})
    try:
        elapsed = testbed.loop.run(drive(proc.url, bodies, args.concurrency))
        counters = testbed.loop.run(stats(proc.url))
    finally:
        proc.stop()
    stored = int(counters["spans_accepted"])  # type: ignore[arg-type]
    result = {
        "benchmark": "ingest", "batch_spans": BATCH, "batches": args.batches, "concurrency": args.concurrency,
        "encoding": "protobuf+gzip", "spans_stored": stored, "seconds": round(elapsed, 3),
        "spans_per_s": round(stored / elapsed), "target_spans_per_s": TARGET_SPANS_PER_S,
        "meets_target": stored / elapsed >= TARGET_SPANS_PER_S,
        "wire_bytes_per_batch": round(sum(map(len, bodies)) / len(bodies)),
        "protobuf_backend": api_implementation.Type(), "python": platform.python_version(),
        "machine": platform.machine(), "cpus": os.cpu_count(),
    }
    if stored != BATCH * args.batches:
        raise SystemExit(f"stored {stored} spans, expected {BATCH * args.batches}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
