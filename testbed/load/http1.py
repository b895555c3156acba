"""A small HTTP/1.1 client for the open-loop driver: requests written at their intended time (LAT-03).

A general client (aiohttp) builds and writes a request inside a task that the event loop runs
when its turn comes, behind every response callback already queued: on a busy 2-core machine
that puts sends milliseconds late, by amounts that differ from one group of requests to the
next. Here the request's bytes and its kept-alive connection are made ready ahead of time, and
``Exchange.fire`` writes them with one ``transport.write`` from a timer callback, stamping the
send time just before. What is left of the lag is the loop's wake-up.

Responses are parsed by ``httptools`` (llhttp, the parser behind uvloop's servers): status,
content type, body with chunked transfer decoded, and the time of the first SSE line that
carries content (TTFT, LAT-02). The pool keeps one request per connection at a time and never
reuses a connection the server did not keep alive; with ``idle_s`` it drops connections idle for
longer than that, and with ``tls`` it speaks HTTPS. The reference gateway sends its non-streamed
upstream requests through it too (testbed/gateway/upstream.py), for its CPU cost per request.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import httptools

Clock = Callable[[], int]
CONTENT_LINE: Final = b"data:"


@dataclass(slots=True)
class Response:
    """What came back: ``first_content_ns`` is set by ``on_line`` for streams (0 otherwise)."""

    status: int = 0
    content_type: str = ""
    body: bytearray = field(default_factory=bytearray)
    lines: list[bytes] = field(default_factory=list)
    first_content_ns: int = 0
    complete_ns: int = 0
    keep_alive: bool = False


class _Connection(asyncio.Protocol):
    """One TCP connection; one exchange at a time."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._parser = httptools.HttpResponseParser(self)
        self._exchange: Exchange | None = None
        self._header: bytes = b""
        self._partial = b""
        self.idle_since_ns = 0
        self.exchanges = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._pool.forget(self)
        ex, self._exchange = self._exchange, None
        if ex is not None:
            ex.fail(ConnectionResetError("connection closed before the response ended"))

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._abort(exc)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._partial = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-type" and self._exchange is not None:
            self._exchange.response.content_type = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        ex = self._exchange
        if ex is not None:
            ex.response.status = self._parser.get_status_code()
            ex.stream = ex.stream and ex.response.content_type.startswith("text/event-stream")

    def on_body(self, body: bytes) -> None:
        ex = self._exchange
        if ex is None:
            return
        if not ex.stream:
            ex.response.body += body
            return
        data = self._partial + body
        *complete, self._partial = data.split(b"\n")
        for line in complete:
            ex.on_line(line.strip())

    def on_message_complete(self) -> None:
        ex, self._exchange = self._exchange, None
        if ex is None:
            return
        if ex.stream and self._partial.strip():
            ex.on_line(self._partial.strip())
        ex.response.keep_alive = self._parser.should_keep_alive()
        ex.finish()
        if ex.response.keep_alive and not self.lost:
            self._pool.release(self)
        else:
            self.close()

    def _abort(self, exc: Exception) -> None:
        ex, self._exchange = self._exchange, None
        if ex is not None:
            ex.fail(exc)
        self.close()

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    def start(self, exchange: Exchange) -> None:
        self.exchanges += 1
        self._exchange = exchange
        self._parser = httptools.HttpResponseParser(self)


class Exchange:
    """One request, made ready before its time; ``fire`` writes it, ``wait`` gives the response."""

    __slots__ = ("_conn", "_raw", "stream", "response", "_done", "sent_ns", "_clock", "_on_line")

    def __init__(self, conn: _Connection, raw: bytes, *, stream: bool, clock: Clock,
                 on_line: Callable[[bytes], bool] | None) -> None:
        self._conn = conn
        self._raw = raw
        self.stream = stream
        self.response = Response()
        self._done: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.sent_ns = 0
        self._clock = clock
        self._on_line = on_line

    @property
    def reused(self) -> bool:
        """Whether the request went out on a kept-alive connection that had served another one
        (which the server may have closed in the meantime, so a caller can send it once more)."""
        return self._conn.exchanges > 1

    def fire(self) -> None:
        """Write the request now (a plain callback: no await between the stamp and the write)."""
        if self._conn.lost or self._conn.transport is None:
            self.fail(ConnectionResetError("connection closed before the request was written"))
            return
        self._conn.start(self)
        self.sent_ns = self._clock()
        self._conn.transport.write(self._raw)

    def on_line(self, line: bytes) -> None:
        self.response.lines.append(line)
        if not self.response.first_content_ns and self._on_line is not None and self._on_line(line):
            self.response.first_content_ns = self._clock()

    def finish(self) -> None:
        self.response.complete_ns = self._clock()
        if not self._done.done():
            self._done.set_result(self.response)

    def fail(self, exc: Exception) -> None:
        if not self._done.done():
            self._done.set_exception(exc)

    async def wait(self, timeout_s: float) -> Response:
        try:
            return await asyncio.wait_for(asyncio.shield(self._done), timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            self._conn.close()  # a late answer must not land in the next exchange on this connection
            raise


class Pool:
    """Kept-alive connections to one host and port."""

    def __init__(self, host: str, port: int, *, clock: Clock = time.time_ns, tls: ssl.SSLContext | None = None,
                 idle_s: float | None = None) -> None:
        self.host = host
        self.port = port
        self._idle: deque[_Connection] = deque()
        self._all: set[_Connection] = set()
        self._clock = clock
        self._tls = tls
        self._idle_ns = None if idle_s is None else int(idle_s * 1e9)

    async def _connection(self) -> _Connection:
        now = time.monotonic_ns()
        while self._idle:
            conn = self._idle.pop()
            if self._idle_ns is not None and now - conn.idle_since_ns > self._idle_ns:
                conn.close()  # idle past the keep-alive: the server may be closing it right now
                continue
            if not conn.lost:
                return conn
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: _Connection(self), self.host, self.port, ssl=self._tls)
        self._all.add(proto)
        return proto

    async def warm(self, count: int) -> None:
        """Open ``count`` idle connections now, so the schedule does not wait on a handshake."""
        loop = asyncio.get_running_loop()
        made = await asyncio.gather(*(loop.create_connection(lambda: _Connection(self), self.host, self.port)
                                      for _ in range(count)))
        for _, proto in made:
            self._all.add(proto)
            self._idle.append(proto)

    def release(self, conn: _Connection) -> None:
        conn.idle_since_ns = time.monotonic_ns()
        self._idle.append(conn)

    async def prepare(self, method: str, path: str, headers: dict[str, str], body: bytes, *, stream: bool,
                      on_line: Callable[[bytes], bool] | None = None) -> Exchange:
        """Take (or open) a connection and build the request's bytes; nothing is written yet."""
        conn = await self._connection()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        return Exchange(conn, raw, stream=stream, clock=self._clock, on_line=on_line)

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()

    def forget(self, conn: _Connection) -> None:
        """Drop a closed connection from the pool's books (a long-lived pool would grow otherwise)."""
        self._all.discard(conn)
