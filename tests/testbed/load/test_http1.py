"""The driver's HTTP/1.1 client (LAT-02, LAT-03): a request made ready early is not written
before ``fire``; the send stamp is taken at the write; plain and streamed (chunked SSE) answers
are read whole, with the first content line's time; a kept-alive connection is reused, one the
server closes is not; a server that never answers ends in a timeout that closes the connection.
Real aiohttp servers on loopback."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestServer

from testbed.load.http1 import Pool


async def _server(handler) -> TestServer:  # type: ignore[no-untyped-def]
    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_a_prepared_request_is_written_only_when_fired_and_stamped_then() -> None:
    arrived: list[int] = []
    ticks = iter(range(1_000, 10_000_000, 1_000))

    async def handler(request: web.Request) -> web.Response:
        arrived.append(1)
        return web.json_response({"echo": await request.json()})

    server = await _server(handler)
    pool = Pool("127.0.0.1", server.port, clock=lambda: next(ticks))  # type: ignore[arg-type]
    try:
        ex = await pool.prepare("POST", "/v1/chat/completions", {"content-type": "application/json"},
                                json.dumps({"a": 1}).encode(), stream=False)
        await asyncio.sleep(0.05)  # only to give a premature write the chance to arrive
        assert arrived == []
        ex.fire()
        resp = await ex.wait(5)
        assert resp.status == 200 and json.loads(resp.body) == {"echo": {"a": 1}}
        assert 0 < ex.sent_ns < resp.complete_ns
    finally:
        pool.close()
        await server.close()


async def test_a_chunked_event_stream_is_read_line_by_line_with_its_first_content_time() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        await resp.write(b'data: {"role": 1}\n\n')
        await resp.write(b'data: {"content": "hi"}\n\ndata: [DO')
        await resp.write(b"NE]\n\n")
        await resp.write_eof()
        return resp

    server = await _server(handler)
    pool = Pool("127.0.0.1", server.port)
    try:
        ex = await pool.prepare("POST", "/v1/chat/completions", {}, b"{}", stream=True,
                                on_line=lambda line: b"content" in line)
        ex.fire()
        resp = await ex.wait(5)
        data = [line for line in resp.lines if line]
        assert data == [b'data: {"role": 1}', b'data: {"content": "hi"}', b"data: [DONE]"]
        assert ex.sent_ns < resp.first_content_ns <= resp.complete_ns
    finally:
        pool.close()
        await server.close()


async def test_an_error_answer_to_a_stream_request_is_kept_as_a_body() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "no"}}, status=429)

    server = await _server(handler)
    pool = Pool("127.0.0.1", server.port)
    try:
        ex = await pool.prepare("POST", "/v1/chat/completions", {}, b"{}", stream=True)
        ex.fire()
        resp = await ex.wait(5)
        assert resp.status == 429 and json.loads(resp.body)["error"]["message"] == "no"
        assert resp.lines == []
    finally:
        pool.close()
        await server.close()


async def test_a_kept_alive_connection_is_reused_and_a_closed_one_is_not() -> None:
    peers: list[object] = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport)
        close = request.headers.get("x-close") == "1"
        return web.json_response({}, headers={"connection": "close"} if close else {})

    server = await _server(handler)
    pool = Pool("127.0.0.1", server.port)
    try:
        for headers in ({}, {}, {"x-close": "1"}, {}):
            ex = await pool.prepare("POST", "/v1/chat/completions", headers, b"{}", stream=False)
            ex.fire()
            assert (await ex.wait(5)).status == 200
        assert peers[0] is peers[1] is peers[2]
        assert peers[3] is not peers[2]
    finally:
        pool.close()
        await server.close()


async def test_a_server_that_never_answers_times_out_and_its_connection_is_not_reused() -> None:
    hold = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("x-hold") == "1":
            await hold.wait()
        return web.json_response({})

    server = await _server(handler)
    pool = Pool("127.0.0.1", server.port)
    try:
        ex = await pool.prepare("POST", "/v1/chat/completions", {"x-hold": "1"}, b"{}", stream=False)
        ex.fire()
        try:
            await ex.wait(0.2)
        except TimeoutError:
            pass
        else:
            raise AssertionError("no timeout")
        nxt = await pool.prepare("POST", "/v1/chat/completions", {}, b"{}", stream=False)
        nxt.fire()
        assert (await nxt.wait(5)).status == 200
    finally:
        hold.set()
        pool.close()
        await server.close()
