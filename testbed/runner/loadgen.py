"""The HTTP side of the load generator, on top of the open-loop driver in ``testbed.load.client``.

For each scheduled arrival it builds an OpenAI-format chat request for its mix entry, with the
SPEC 4 canaries when enabled (``SYS``, ``USR`` first and last user message, ``AST``, ``TDF``,
``TCA``, ``TCR``, ``HDR``), a fresh ``traceparent`` (or none, or an invalid one, as the scenario
says) and ``x-testbed-correlation-id``. Gateway and direct-to-provider requests alternate slot by
slot with the same payload (LAT-04). Streams are read to ``data: [DONE]``; the first byte is the
first chunk that carries content (LAT-02). Times are wall-clock ns (``time.time_ns``), the clock
every hop stamps with.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import urlsplit

import httptools

from testbed.checks.evidence import Canary, ClientRecord
from testbed.load.alarm import Alarms, best_alarms
from testbed.load.client import Request, drive
from testbed.load.http1 import Exchange, Pool
from testbed.load.schedule import MixItem, Schedule, build_schedule
from testbed.runner.answer import Answer
from testbed.runner.scenario import MixEntry, Scenario

LEAD_NS: Final = 10_000_000
"""How long before its time a request is built and given a connection: well over the loop's timer
error (~1 ms), building a request and, now and then, a new connection's handshake with a busy
server, so the alarm, not the builder, decides the send."""
CORRELATION_HEADER = "x-testbed-correlation-id"
CANARY_HEADER = "x-testbed-canary"
_FILLER = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima".split()


def canary(slot: str) -> str:
    return f"CNRY-{slot}-{secrets.token_hex(10)}"


@dataclass(frozen=True, slots=True)
class BuiltRequest:
    body: dict[str, Any]
    headers: dict[str, str]
    canaries: tuple[Canary, ...]
    trace_id: str | None
    traceparent: str | None


def _filler(tokens: int) -> str:
    return " ".join(_FILLER[i % len(_FILLER)] for i in range(max(tokens - 4, 1)))


def build_request(entry: MixEntry, model: str, correlation_id: str, *, canaries: bool, traceparent: str,
                  tracestate: str | None) -> BuiltRequest:
    """One chat request (pure apart from drawing random canaries and trace ids)."""
    c = {slot: canary(slot) for slot in ("SYS", "USR", "AST", "TDF", "TCA", "TCR", "HDR")} if canaries else {}
    tag = (lambda slot: f" [{c[slot]}]") if canaries else (lambda slot: "")
    usr = f"Say something about {_filler(entry.prompt_tokens)}.{tag('USR')}"
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"You are terse.{tag('SYS')}"},
        {"role": "user", "content": usr},
        {"role": "assistant", "content": f"Noted.{tag('AST')}"},
    ]
    body: dict[str, Any] = {"model": model, "max_tokens": entry.max_tokens}
    if entry.tools:
        args = json.dumps({"city": "Paris", "note": c.get("TCA", "")})
        messages[2] = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": args}}]}
        messages.append({"role": "tool", "tool_call_id": "call_1", "content": f"Sunny.{tag('TCR')}"})
        body["tools"] = [{"type": "function", "function": {
            "name": "get_weather", "description": f"Weather for a city.{tag('TDF')}",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "note": {"type": "string"}}}}}]
    messages.append({"role": "user", "content": f"And once more.{tag('USR')}"})
    body["messages"] = messages
    if entry.n > 1:
        body["n"] = entry.n
    if entry.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    headers = {CORRELATION_HEADER: correlation_id, "content-type": "application/json"}
    if canaries:
        headers[CANARY_HEADER] = c["HDR"]
    trace_id, tp = _traceparent(traceparent)
    if tp is not None:
        headers["traceparent"] = tp
        if tracestate:
            headers["tracestate"] = tracestate
    tool_slots = ("TDF", "TCA", "TCR")
    planted = tuple(Canary(v, s, correlation_id) for s, v in c.items()  # type: ignore[arg-type]
                    if entry.tools or s not in tool_slots)
    return BuiltRequest(body, headers, planted, trace_id, tp)


def _traceparent(mode: str) -> tuple[str | None, str | None]:
    if mode == "none":
        return None, None
    if mode == "invalid":
        return None, f"00-{'0' * 32}-{secrets.token_hex(8)}-01"  # all-zero trace id (PROP-06)
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def schedule_for(sc: Scenario) -> Schedule:
    w = sc.workload
    mix = [MixItem(f"m{i}", e.weight, {"entry": e}) for i, e in enumerate(w.mix)]
    paths = ("gateway", "direct", "comparator") if w.comparator else ("gateway", "direct") if w.direct else ("gateway",)
    return build_schedule(w.rate_per_s, w.duration_s, process=w.process, seed=w.seed, mix=mix, paths=paths)


@dataclass
class Target:
    """Where requests go: the gateway (its URL may change on a restart), the direct path and the
    comparator (a bare pass-through proxy to the providers, LAT-04)."""

    gateway_url: Callable[[], str]
    gateway_key: Callable[[], str]
    providers_url: str
    provider_key: str
    comparator_url: str = ""


@dataclass
class LoadResult:
    records: tuple[ClientRecord, ...]
    canaries: tuple[Canary, ...]
    cap_hits: int
    start_ns: int = 0
    planted: dict[str, str] = field(default_factory=dict)
    priority: str = "none"


async def run_load(sc: Scenario, target: Target, run_id: str, *, on_start: Callable[[], None] | None = None) -> LoadResult:
    """Drive the scenario's workload; ``on_start`` fires when the schedule's clock starts.

    Each request is built and given a kept-alive connection ``LEAD_NS`` before its intended time
    and written by a kernel alarm at that time (LAT-03): see ``testbed.load.http1``."""
    schedule = schedule_for(sc)
    canaries: list[Canary] = []
    w = sc.workload
    started: list[int] = []
    pools: dict[str, Pool] = {}
    alarms = best_alarms(time.time_ns)

    def pool_for(base_url: str) -> Pool:
        pool = pools.get(base_url)
        if pool is None:
            parts = urlsplit(base_url)
            pool = pools[base_url] = Pool(parts.hostname or "127.0.0.1", parts.port or 80, clock=time.time_ns)
        return pool

    async def send(req: Request) -> ClientRecord:
        if not started:
            started.append(req.intended_ns - req.arrival.offset_ns)
        entry: MixEntry = req.arrival.item.params["entry"]
        path = req.arrival.path
        direct = path in ("direct", "comparator")  # the comparator forwards the direct request as is
        built = build_request(entry, (entry.direct_model or entry.model) if direct else entry.model,
                              req.correlation_id, canaries=w.canaries, traceparent=w.traceparent,
                              tracestate=w.tracestate)
        canaries.extend(built.canaries)
        offset_s = req.arrival.offset_ns / 1e9
        base = ClientRecord(req.correlation_id, req.intended_ns, req.sent_ns, path=path,  # type: ignore[arg-type]
                            phase="warmup" if offset_s < w.warmup_s else "measure",
                            mode=sc.modes.mode_at(offset_s) if sc.modes else "healthy",
                            trace_id=built.trace_id, traceparent=built.traceparent, tracestate=w.tracestate,
                            stream=entry.stream, model=entry.model)
        base_url = {"direct": target.providers_url, "comparator": target.comparator_url}.get(path) \
            or target.gateway_url()
        key = target.provider_key if direct else target.gateway_key()
        headers = {**built.headers, "authorization": f"Bearer {key}"}
        return await _exchange(pool_for(base_url), alarms, headers, built.body, base, w.timeout_s)

    paths = {a.path for a in schedule.arrivals}
    urls = [u for p, u in (("gateway", target.gateway_url()), ("direct", target.providers_url),
                           ("comparator", target.comparator_url)) if p in paths and u]
    await asyncio.gather(*(pool_for(u).warm(warm_connections(w.rate_per_s)) for u in urls))
    if on_start is not None:
        on_start()
    try:
        result = await drive(schedule, send, run_id=run_id, max_outstanding=w.max_outstanding, clock=time.time_ns,
                             lead_ns=LEAD_NS)
    finally:
        alarms.close()
        for pool in pools.values():
            pool.close()
    return LoadResult(result.records, tuple(canaries), result.cap_hits, started[0] if started else 0,
                      priority=result.priority)


async def _exchange(pool: Pool, alarms: Alarms, headers: dict[str, str], body: dict[str, Any],
                    base: ClientRecord, timeout_s: float) -> ClientRecord:
    stream = bool(body.get("stream"))
    ex: Exchange | None = None
    try:
        ex = await pool.prepare("POST", "/v1/chat/completions", headers, json.dumps(body).encode(),
                                stream=stream, on_line=_content_line)
        alarms.call_at(base.intended_ns, ex.fire)
        resp = await ex.wait(timeout_s + LEAD_NS / 1e9)
    except (OSError, TimeoutError, httptools.HttpParserError) as exc:
        return replace(base, sent_ns=(ex.sent_ns if ex else 0) or base.intended_ns, error=type(exc).__name__,
                       first_byte_ns=(ex.response.first_content_ns or None) if ex else None)
    answer = Answer()
    sse = resp.content_type.startswith("text/event-stream")
    common = {"sent_ns": ex.sent_ns, "status": resp.status, "complete_ns": resp.complete_ns}
    if not (stream and sse) or resp.status != 200:
        answer.feed_bytes(bytes(resp.body))
        return replace(base, first_byte_ns=resp.complete_ns, **common, **answer.fields(sse))
    done = False
    for line in resp.lines:
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if data == b"[DONE]":
            done = True
            break
        answer.feed_bytes(data)
    error = None if done else "stream ended without [DONE]"
    return replace(base, first_byte_ns=resp.first_content_ns or resp.complete_ns, error=error, **common,
                   **answer.fields(sse))


def warm_connections(rate_per_s: float) -> int:
    """Connections opened per target before the schedule starts: about the requests in flight
    over 100 ms at the full rate, so a burst of slow answers rarely makes a send wait on a new one."""
    return max(8, min(64, int(rate_per_s * 0.1)))


def _content_line(line: bytes) -> bool:
    return line.startswith(b"data:") and _has_content(line[5:].strip())


def _has_content(data: bytes) -> bool:
    try:
        chunk = json.loads(data)
    except ValueError:
        return False
    if "error" in chunk:
        return False
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls"):
            return True
    return False
