"""The gateway's upstream client for non-streamed requests, against real servers on loopback:
kept-alive reuse, one resend when a kept-alive connection was closed under it, and the failures
an attempt falls back on (timeouts, refused connections, replies that are not HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httptools
import pytest

from testbed.gateway.config import UpstreamConfig
from testbed.gateway.providers import UpstreamRequest
from testbed.gateway.upstream import CONNECTION_ERRORS, UpstreamClient

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
Serve = Callable[[int, int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A TCP server whose ``serve(connection_no, request_no, reader, writer)`` decides each answer."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self.connections = 0
        self.eofs = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            for request_no in range(1, 100):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                await self._serve(number, request_no, reader, writer)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eofs += 1
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1/chat/completions"


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Serve], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def start(serve: Serve) -> RawServer:
        raw = RawServer(serve)
        raw.server = await asyncio.start_server(raw._handle, "127.0.0.1", 0)
        servers.append(raw)
        return raw

    yield start
    for raw in servers:
        assert raw.server is not None
        raw.server.close()


@pytest.fixture
async def client() -> AsyncIterator[UpstreamClient]:
    upstream = UpstreamClient(UpstreamConfig(max_connections=8, keepalive_s=30.0))
    await upstream.start()
    yield upstream
    await upstream.close()


async def _post(client: UpstreamClient, url: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    request = UpstreamRequest(url, {"Content-Type": "application/json"}, b'{"model": "m"}')
    async with client.open(request, dict(request.headers), timeout_s, stream=False) as resp:
        return resp.status, await resp.read()


async def test_requests_share_one_kept_alive_connection(raw_server, client) -> None:
    async def serve(conn: int, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(OK)

    server = await raw_server(serve)
    assert [await _post(client, server.url) for _ in range(3)] == [(200, b"{}")] * 3
    assert server.connections == 1


async def test_a_kept_alive_connection_closed_by_the_provider_is_retried_once_on_a_fresh_one(raw_server, client) -> None:
    async def serve(conn: int, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if n == 2:  # the provider drops the idle connection just as the next request arrives
            writer.transport.abort()
            return
        writer.write(OK)

    server = await raw_server(serve)
    assert await _post(client, server.url) == (200, b"{}")
    assert await _post(client, server.url) == (200, b"{}")
    assert server.connections == 2


async def test_a_fresh_connection_that_breaks_is_not_resent(raw_server, client) -> None:
    async def serve(conn: int, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()

    server = await raw_server(serve)
    with pytest.raises(CONNECTION_ERRORS):
        await _post(client, server.url)
    assert server.connections == 1


async def test_a_provider_that_never_answers_times_out_and_its_connection_is_closed(raw_server, client) -> None:
    async def serve(conn: int, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes

    server = await raw_server(serve)
    with pytest.raises(asyncio.TimeoutError):
        await _post(client, server.url, timeout_s=0.2)
    # Closed, so that a late answer can never be read as the next request's.
    async with asyncio.timeout(5):
        while not server.eofs:
            await asyncio.sleep(0.01)
    assert server.connections == 1


async def test_a_refused_connection_and_a_reply_that_is_not_http_are_connection_errors(raw_server, client) -> None:
    async def garbage(conn: int, n: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    server = await raw_server(garbage)
    with pytest.raises(httptools.HttpParserError):
        await _post(client, server.url)
    closed = await raw_server(garbage)
    url = closed.url
    assert closed.server is not None
    closed.server.close()
    await closed.server.wait_closed()
    with pytest.raises(OSError):
        await _post(client, url)
