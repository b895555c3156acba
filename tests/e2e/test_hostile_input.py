"""No input can stall export, on the real stack (nats-server, gateway, exporter, fake ingest): 60
requests whose User-Agent holds the byte 0xFF (put on the wire by a raw socket, refused with 401)
are interleaved with 3,000 normal requests. Every normal span arrives, each poison request's SERVER
span arrives with U+FFFD for the byte, nothing is dropped as unencodable and nothing stays queued.
Before the fix, the first poison event made the exporter's export task raise, its batch was held
forever by in-progress heartbeats, and the spans queued behind it never left."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import urlsplit

import aiohttp
import pytest

from testbed.load import hostile
from testbed.waiting import wait_until
from tests.e2e.helpers import StackClient, attr

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NORMAL = 3000
POISON = 60
EVERY = NORMAL // POISON
MODELS = ["gpt-4o-mini", "claude-sonnet-4", "gemini-2.0-flash"]


async def _normal(session: aiohttp.ClientSession, url: str, key: str, i: int) -> tuple[str, int]:
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01", "authorization": f"Bearer {key}"}
    body = {"model": MODELS[i % 3], "messages": [{"role": "user", "content": f"question {i}"}], "max_tokens": 8}
    async with session.post(f"{url}/v1/chat/completions", json=body, headers=headers) as resp:
        await resp.read()
        return trace_id, resp.status


async def _drive(client: StackClient) -> tuple[list[str], list[hostile.Sent]]:
    """Normal requests 10 at a time, one poison request after every ``EVERY`` normal ones."""
    url, key = client.gateway, client.stack.settings.gateway_api_key
    parts = urlsplit(url)
    normal: list[str] = []
    poison: list[hostile.Sent] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        for start in range(0, NORMAL, 10):
            results = await asyncio.gather(*(_normal(session, url, key, i) for i in range(start, start + 10)))
            assert all(status == 200 for _, status in results), results
            normal += [t for t, _ in results]
            if start % EVERY == 0:
                request = hostile.build("bad_utf8_header", start // EVERY, host=parts.netloc, api_key=key, run_id="e2e")
                poison += await hostile.drive(parts.hostname or "127.0.0.1", parts.port or 80, [request], 0, 10.0)
    return normal, poison


def test_poison_user_agents_never_stall_export_and_every_span_arrives(client: StackClient) -> None:
    normal, poison = asyncio.run(_drive(client))
    assert len(poison) == POISON and all(s.answer.status == 401 for s in poison)
    spans = client.spans(wait_count=2 * NORMAL + POISON, timeout=60)
    by_trace: dict[str, list[dict]] = {}
    for span in spans:
        by_trace.setdefault(span["trace_id"], []).append(span)
    missing = [t for t in normal if len(by_trace.get(t, [])) < 2]
    assert not missing, f"{len(missing)} of {NORMAL} normal requests lack spans"
    agents = [attr(s, "user_agent.original") for p in poison for s in by_trace.get(p.request.trace_id, [])]
    assert len(agents) == POISON and all(a == "hostile/1 x\ufffd" for a in agents)
    assert client.metric("exporter", "testbed_exporter_spans_dropped_total", reason="unencodable") == 0
    wait_until(lambda: client.metric("exporter", "testbed_exporter_spans_queued") == 0, 30,
               what="exporter queue empty")
