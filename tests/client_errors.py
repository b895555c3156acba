"""Hostile requests every server must answer with a 4xx in its own format (shared by the fuzz tests).

Two ways in: :func:`raw_exchange` writes bytes to a socket, for what an HTTP client library
refuses to send (a header with a control character, a 100 KB header, a bad Content-Length); and
:func:`body_cases` lists JSON-level cases (deep nesting, bad UTF-8, surrogates, corrupt gzip,
wrong types in each field). Format checkers say whether an error body is in a protocol's shape.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

T = TypeVar("T")

DEEP = 10_000
WRONG_VALUES: tuple[Any, ...] = (1, 1.5, True, None, "x", [], {}, [1], [[]], [{}], {"a": []}, -1)


@dataclass(frozen=True)
class Case:
    """One request: an id for the test report, the body bytes and extra headers."""

    id: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawReply:
    """What came back on the socket: the status (0 when the server closed without answering)."""

    status: int
    headers: dict[str, str]
    body: bytes


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _replace_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(doc))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def wrong_type_cases(valid: dict[str, Any]) -> list[Case]:
    """Every field of ``valid`` (nested ones too) replaced by each value of the wrong kind."""
    cases = []
    for path in _paths(valid):
        for n, value in enumerate(WRONG_VALUES):
            name = ".".join(str(p) for p in path)
            cases.append(Case(f"type:{name}={n}", _dumps(_replace_at(valid, path, value))))
    return cases


def body_cases(valid: dict[str, Any], text_path: tuple[Any, ...]) -> list[Case]:
    """The JSON-level categories; ``text_path`` leads to a string field of ``valid`` (the prompt)."""
    good = _dumps(valid)
    marker = json.dumps(_replace_at(valid, text_path, "@@")).encode()
    return [
        Case("deep-array", b"[" * DEEP + b"]" * DEEP),
        Case("deep-object", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
        Case("deep-field", _dumps(_replace_at(valid, text_path, "@@")).replace(b'"@@"', b"[" * 900 + b"]" * 900)),
        Case("escaped-surrogate", marker.replace(b"@@", b"\\ud800")),
        Case("escaped-low-surrogate", marker.replace(b"@@", b"x\\udfff")),
        Case("utf8-surrogate", marker.replace(b"@@", b"\xed\xa0\x80")),
        Case("invalid-utf8", marker.replace(b"@@", b"\xff\xfe")),
        Case("corrupt-gzip", b"\x1f\x8b\x08\x00garbage-not-deflate", {"Content-Encoding": "gzip"}),
        Case("truncated-gzip", gzip.compress(good)[:12], {"Content-Encoding": "gzip"}),
        Case("gzip-not-gzip", good, {"Content-Encoding": "gzip"}),
        Case("unknown-encoding", good, {"Content-Encoding": "zstd-nope"}),
        Case("empty", b""),
        Case("not-json", b"{"),
        Case("array", b"[]"),
        Case("number", b"1e999999"),
        Case("null", b"null"),
        *wrong_type_cases(valid),
    ]


def raw_request_cases(path: str, auth: str) -> dict[str, bytes]:
    """Requests only a socket can send: each must get a 4xx (or a closed connection, for framing)."""
    body = b"{}"
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
    return {
        "control-char-in-auth": head + b"Authorization: " + auth.encode() + b"\x01\r\nContent-Length: 2\r\n\r\n" + body,
        "huge-header": head + b"X-Big: " + b"a" * 100_000 + b"\r\nContent-Length: 2\r\n\r\n" + body,
        "bad-content-length": head + b"Content-Length: abc\r\n\r\n" + body,
        "negative-content-length": head + b"Content-Length: -5\r\n\r\n" + body,
        "two-content-lengths": head + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n" + body,
        "control-char-in-name": head + b"X-\x01: y\r\nContent-Length: 2\r\n\r\n" + body,
        "bad-request-line": b"POST  HTTP/1.1\r\nHost: x\r\n\r\n",
        "bad-version": f"POST {path} HTTP/9.9\r\nHost: x\r\n\r\n".encode(),
        "ff-user-agent": head + b"User-Agent: x\xff\r\nAuthorization: Bearer " + auth.encode()
        + b"\r\nContent-Length: 2\r\n\r\n" + body,
    }


async def raw_exchange(url: str, payload: bytes, *, half_close: bool = False, timeout: float = 10.0) -> RawReply:
    """Send ``payload`` on a fresh connection and read one response (or the close)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(payload)
        await writer.drain()
        if half_close:
            writer.write_eof()
        return _parse(await asyncio.wait_for(_read_response(reader), timeout))
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> bytes:
    head = b""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        return getattr(exc, "partial", b"")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    try:
        return head + await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return head


def _parse(data: bytes) -> RawReply:
    if not data:
        return RawReply(0, {}, b"")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return RawReply(int(lines[0].split()[1]), headers, body)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def is_openai_error(body: bytes) -> bool:
    doc = _json(body)
    error = doc.get("error") if isinstance(doc, dict) else None
    return isinstance(error, dict) and isinstance(error.get("message"), str) and isinstance(error.get("type"), str)


def is_anthropic_error(body: bytes) -> bool:
    doc = _json(body)
    if not isinstance(doc, dict) or doc.get("type") != "error" or not isinstance(doc.get("error"), dict):
        return False
    return isinstance(doc["error"].get("type"), str) and isinstance(doc["error"].get("message"), str)


def is_gemini_error(body: bytes) -> bool:
    doc = _json(body)
    error = doc.get("error") if isinstance(doc, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(error.get("status"), str)


def is_admin_error(body: bytes) -> bool:
    """The ingest's and the providers' admin routes: ``{"error": "..."}`` or ``{"error": {"message"}}``."""
    doc = _json(body)
    error = doc.get("error") if isinstance(doc, dict) else None
    return isinstance(error, str) or (isinstance(error, dict) and isinstance(error.get("message"), str))


Checker = Callable[[bytes], bool]


def problem(status: int, body: bytes, is_format: Checker, *, closed_ok: bool = False) -> str | None:
    """Why a reply to a client error is wrong, or None: a 5xx, a 2xx/3xx, a body outside the format."""
    if status == 0:
        return None if closed_ok else "connection closed without an answer"
    if status >= 500:
        return f"{status} for a client error"
    if status < 400:
        return None  # a lenient server may accept odd input; the fuzz tests only forbid failures
    if not is_format(body):
        return f"{status} body outside the protocol's format: {body[:200]!r}"
    return None


class LoopThread:
    """An event loop in a daemon thread, so synchronous (Hypothesis) tests can drive servers on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self._thread.start()

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
        async def call() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


async def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> tuple[int, bytes]:
    """POST raw bytes (no automatic compression or encoding) and return status and body; a hang
    past ``timeout`` raises ``TimeoutError``."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.post(url, data=body, headers={"Content-Type": "application/json", **headers},
                                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.read()


async def sweep(url: str, cases: list[Case], headers: dict[str, str], is_format: Checker) -> list[str]:
    """Every case posted to ``url``; the problems found, each named by its case id."""
    found = []
    for case in cases:
        status, body = await post(url, case.body, {**headers, **case.headers})
        why = problem(status, body, is_format)
        if why is not None:
            found.append(f"{case.id}: {why}")
    return found


async def sweep_raw(url: str, cases: dict[str, bytes], is_format: Checker) -> list[str]:
    """Every raw request sent on its own connection; the problems found, by case name."""
    found = []
    for name, payload in cases.items():
        reply = await raw_exchange(url, payload)
        why = problem(reply.status, reply.body, is_format)
        if why is not None:
            found.append(f"{name}: {why}")
    return found


async def short_body(url: str, path: str, header: str, is_format: Checker) -> str | None:
    """A body shorter than its Content-Length, the client then half-closing: a 4xx or a closed
    connection are both fine, a 5xx or a hang are not."""
    payload = (f"POST {path} HTTP/1.1\r\nHost: x\r\n{header}\r\nContent-Type: application/json\r\n"
               "Content-Length: 100\r\n\r\n{\"model\":").encode()
    reply = await raw_exchange(url, payload, half_close=True)
    return problem(reply.status, reply.body, is_format, closed_ok=True)


async def odd_header(url: str, path: str, header: str, value: bytes, is_format: Checker) -> str | None:
    """One request with an arbitrary header value (any bytes, CR and LF included): never a 5xx."""
    payload = (f"POST {path} HTTP/1.1\r\nHost: x\r\n{header}\r\nContent-Type: application/json\r\n"
               "Content-Length: 2\r\nX-Fuzz: ").encode() + value + b"\r\n\r\n{}"
    reply = await raw_exchange(url, payload)
    return problem(reply.status, reply.body, is_format, closed_ok=True)


BAD_QUERY_VALUES: tuple[str, ...] = ("nan", "-inf", "inf", "1e309", "-1", "99999999999999999999999", "\u00b2", "%ff",
                                     "\udcff", "", "a" * 2000, "[", "*", "\x00")


async def get_status(url: str, params: dict[str, str], timeout: float = 10.0) -> tuple[int, bytes]:
    """GET with query parameters; a hang past ``timeout`` raises ``TimeoutError``."""
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            return resp.status, await resp.read()
