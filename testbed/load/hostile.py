"""Hostile requests mixed into normal load: pure builders of raw HTTP/1.1 bytes and one raw sender.

Each builder gives the exact bytes a client puts on the wire, so input that an HTTP library would
refuse or repair (a byte 0xFF in a header, a Content-Length longer than the body) still reaches the
gateway under test. The kinds cover what once made a gateway answer 500 or stalled its export:

==========================  ======================================================  ===============
kind                        what is sent                                            allowed answers
==========================  ======================================================  ===============
bad_utf8_header             ``User-Agent: x\\xff``, no key (the poison of a stall)   4xx
lone_surrogate              a ``\\ud800`` escape in a message's content              2xx or 4xx
encoded_surrogate           the bytes ED A0 80 (UTF-8 of a surrogate) in the body    4xx
deep_json                   JSON nested 10,000 deep                                  4xx
wrong_type_anthropic        numeric ``content`` to an Anthropic-routed model         4xx
wrong_type_gemini           numeric ``content`` to a Gemini-routed model             4xx
corrupt_gzip                ``Content-Encoding: gzip`` over bytes that are not gzip  4xx
oversize_body               a valid body past the request size limit                4xx, 2xx, closed
short_body                  Content-Length longer than the body, then EOF            4xx or closed
==========================  ======================================================  ===============

A 5xx, an answer past the deadline (a hang) or an error body outside the OpenAI format (OAI-08) is
what the ``hostile`` check reports. Every request carries a fresh ``traceparent`` and the
correlation id ``<run>-hostile-<kind>-<n>``, so its SERVER span can be found at the ingest.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal

Outcome = Literal["2xx", "4xx", "closed"]

KINDS: Final = (
    "bad_utf8_header", "lone_surrogate", "encoded_surrogate", "deep_json", "wrong_type_anthropic",
    "wrong_type_gemini", "corrupt_gzip", "oversize_body", "short_body",
)
ALLOWED: Final[dict[str, frozenset[Outcome]]] = {
    "lone_surrogate": frozenset({"2xx", "4xx"}),
    "oversize_body": frozenset({"2xx", "4xx", "closed"}),  # a server may close once past its limit
    "short_body": frozenset({"4xx", "closed"}),
}
"""Kinds whose answer may be other than a 4xx; every other kind must get a 4xx."""
CYCLE: Final = (
    "bad_utf8_header", "deep_json", "wrong_type_anthropic", "bad_utf8_header", "corrupt_gzip", "lone_surrogate",
    "bad_utf8_header", "wrong_type_gemini", "encoded_surrogate", "bad_utf8_header", "short_body", "oversize_body",
)
"""The order hostile requests are sent in: every kind, the header poison most often."""
DEEP: Final = 10_000
OVERSIZE_BYTES: Final = 33 * 1024 * 1024
"""Past the reference gateway's 32 MiB request limit."""
CHAT_PATH: Final = "/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class Models:
    """Model names the gateway under test routes to each provider format."""

    openai: str = "gpt-4o-mini"
    anthropic: str = "claude-sonnet-4"
    gemini: str = "gemini-2.0-flash"


@dataclass(frozen=True, slots=True)
class HostileRequest:
    kind: str
    raw: bytes
    correlation_id: str
    trace_id: str
    half_close: bool = False
    """Shut the write side after sending: the body is shorter than announced."""


@dataclass(frozen=True, slots=True)
class RawAnswer:
    status: int | None
    body: bytes
    error: str | None
    """``timeout`` (a hang past the deadline), ``closed`` (no answer) or a connection error name."""


def kind_of(correlation_id: str) -> str | None:
    """The hostile kind named in a correlation id, or None for a normal request."""
    _, sep, rest = correlation_id.rpartition("-hostile-")
    if not sep:
        return None
    kind = rest.rsplit("-", 1)[0]
    return kind if kind in KINDS else None


def _chat(model: str, content: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 8}


def _body(kind: str, models: Models) -> tuple[bytes, dict[str, str]]:
    """Body bytes and extra headers of one kind (pure)."""
    if kind in ("lone_surrogate", "encoded_surrogate"):
        text = b"a \\ud800 b" if kind == "lone_surrogate" else b"a \xed\xa0\x80 b"  # JSON escape / raw bytes
        return b'{"model": "%s", "messages": [{"role": "user", "content": "%s"}]}' % (models.openai.encode(), text), {}
    if kind == "deep_json":
        return b"[" * DEEP + b"]" * DEEP, {}
    if kind == "wrong_type_anthropic":
        return json.dumps(_chat(models.anthropic, 5)).encode(), {}
    if kind == "wrong_type_gemini":
        return json.dumps(_chat(models.gemini, 5)).encode(), {}
    if kind == "corrupt_gzip":
        return b"\x1f\x8b\x08\x00not gzip at all", {"Content-Encoding": "gzip"}
    if kind == "oversize_body":
        pad = OVERSIZE_BYTES - 100
        return json.dumps(_chat(models.openai, "")).encode()[:-2] + b', "pad": "' + b"a" * pad + b'"}', {}
    return json.dumps(_chat(models.openai, "hello")).encode(), {}


def build(kind: str, n: int, *, host: str, api_key: str, run_id: str, models: Models = Models()) -> HostileRequest:
    """The raw request of hostile kind ``kind`` (random only in its trace id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown hostile kind {kind!r}")
    body, extra = _body(kind, models)
    trace_id = secrets.token_hex(16)
    correlation_id = f"{run_id}-hostile-{kind}-{n}"
    headers: list[tuple[bytes, bytes]] = [
        (b"Host", host.encode()), (b"Content-Type", b"application/json"), (b"Connection", b"close"),
        (b"traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01".encode()),
        (b"x-testbed-correlation-id", correlation_id.encode()),
    ]
    if kind == "bad_utf8_header":
        headers.append((b"User-Agent", b"hostile/1 x\xff"))  # and no key: refused with 401, still published
    else:
        headers += [(b"User-Agent", b"hostile/1"), (b"Authorization", f"Bearer {api_key}".encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    length = len(body) + 100 if kind == "short_body" else len(body)
    headers.append((b"Content-Length", str(length).encode()))
    head = b"POST " + CHAT_PATH.encode() + b" HTTP/1.1\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return HostileRequest(kind, head + b"\r\n" + body, correlation_id, trace_id, half_close=kind == "short_body")


def parse_answer(raw: bytes) -> tuple[int | None, bytes]:
    """Status and body of an HTTP/1.1 answer read to EOF (``Connection: close``); chunked bodies joined."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return None, b""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None, b""
    chunked = any(line.lower().replace(b" ", b"") == b"transfer-encoding:chunked" for line in lines[1:])
    return int(parts[1]), _unchunk(body) if chunked else body


def _unchunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if not sep or size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


def error_format_problem(body: bytes) -> str | None:
    """None when ``body`` is an OpenAI error body (OAI-08: ``{"error": {"message", "type", ...}}``)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "not JSON"
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "no 'error' object"
    if not isinstance(error.get("message"), str) or not isinstance(error.get("type"), str):
        return "'error' lacks a string 'message' and 'type'"
    return None


async def send(host: str, port: int, request: HostileRequest, timeout_s: float) -> RawAnswer:
    """Write the raw bytes, read the answer to EOF within ``timeout_s``; never raises."""
    try:
        return await asyncio.wait_for(_exchange(host, port, request), timeout_s)
    except asyncio.TimeoutError:
        return RawAnswer(None, b"", "timeout")
    except OSError as exc:
        return RawAnswer(None, b"", type(exc).__name__)


async def _exchange(host: str, port: int, request: HostileRequest) -> RawAnswer:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        try:
            writer.write(request.raw)
            if request.half_close:
                writer.write_eof()
            await writer.drain()
        except OSError:
            pass  # the server may answer (413) and close before the whole body is written
        raw = await reader.read()
    finally:
        writer.close()
    status, body = parse_answer(raw)
    return RawAnswer(status, body, None if status is not None else "closed")


def sequence(count: int) -> list[str]:
    """The kinds of ``count`` hostile requests, in :data:`CYCLE` order."""
    return [CYCLE[i % len(CYCLE)] for i in range(count)]


def outcome_of(status: int | None, error: str | None) -> Outcome | None:
    """How an answer counts against :data:`ALLOWED`; None for a 5xx, a hang or another status."""
    if status is not None:
        return "2xx" if 200 <= status < 300 else "4xx" if 400 <= status < 500 else None
    return None if error == "timeout" else "closed"


def allowed(kind: str) -> frozenset[Outcome]:
    return ALLOWED.get(kind, frozenset({"4xx"}))


@dataclass(frozen=True, slots=True)
class Sent:
    request: HostileRequest
    answer: RawAnswer
    sent_ns: int
    done_ns: int


async def drive(host: str, port: int, requests: list[HostileRequest], duration_s: float,
                timeout_s: float) -> list[Sent]:
    """Send ``requests`` spread evenly over ``duration_s`` (open loop: a slow answer delays no other)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    gap = duration_s / max(len(requests), 1)

    async def one(i: int, request: HostileRequest) -> Sent:
        delay = start + i * gap - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing to the schedule, not a wait for a condition
        sent = time.time_ns()
        answer = await send(host, port, request, timeout_s)
        return Sent(request, answer, sent, time.time_ns())

    return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(requests))))
