"""Hostile request builders and the raw sender (``testbed.load.hostile``): the bytes on the wire are
exactly the hostile ones (0xFF in a header, a Content-Length longer than the body, nesting 10,000
deep), every kind appears in a short run, answers are parsed from raw HTTP, the OpenAI error shape
is told apart from others, and the sender never hangs past its deadline."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from testbed.load import hostile


def build(kind: str) -> hostile.HostileRequest:
    return hostile.build(kind, 3, host="gw:1", api_key="sk-test", run_id="run-hostile-input")


def split(raw: bytes) -> tuple[dict[bytes, bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")[1:]
    return {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}, body


def test_the_header_poison_puts_byte_ff_on_the_wire_and_carries_no_key() -> None:
    headers, _ = split(build("bad_utf8_header").raw)
    assert b"\xff" in headers[b"user-agent"]
    assert b"authorization" not in headers


@pytest.mark.parametrize("kind", [k for k in hostile.KINDS if k != "short_body"])
def test_every_other_kind_announces_its_true_length(kind: str) -> None:
    headers, body = split(build(kind).raw)
    assert int(headers[b"content-length"]) == len(body)


def test_the_short_body_announces_more_than_it_sends_and_half_closes() -> None:
    request = build("short_body")
    headers, body = split(request.raw)
    assert int(headers[b"content-length"]) > len(body) and request.half_close


def test_bodies_hold_the_hostile_payloads() -> None:
    assert split(build("deep_json").raw)[1].startswith(b"[" * hostile.DEEP)
    assert b"\xed\xa0\x80" in split(build("encoded_surrogate").raw)[1]
    assert b"\\ud800" in split(build("lone_surrogate").raw)[1]
    assert json.loads(split(build("wrong_type_gemini").raw)[1])["messages"][0]["content"] == 5
    assert len(split(build("oversize_body").raw)[1]) > 32 * 1024 * 1024


def test_the_kind_is_read_back_from_the_correlation_id_even_when_the_run_id_says_hostile() -> None:
    assert hostile.kind_of(build("corrupt_gzip").correlation_id) == "corrupt_gzip"
    assert hostile.kind_of("run-hostile-input-17") is None


def test_a_short_run_sends_every_kind() -> None:
    assert set(hostile.sequence(len(hostile.CYCLE))) == set(hostile.KINDS)


@pytest.mark.parametrize(("body", "problem"), [
    (b'{"error": {"message": "bad", "type": "invalid_request_error", "param": null, "code": null}}', None),
    (b"400: Bad Request", "not JSON"),
    (b'{"detail": "bad"}', "no 'error' object"),
    (b'{"error": "bad"}', "no 'error' object"),
    (b'{"error": {"message": 1, "type": "x"}}', "'error' lacks a string 'message' and 'type'"),
])
def test_the_openai_error_shape_is_told_apart_oai_08(body: bytes, problem: str | None) -> None:
    assert hostile.error_format_problem(body) == problem


def test_answers_are_parsed_from_raw_http_chunked_or_not() -> None:
    assert hostile.parse_answer(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}") == (401, b"{}")
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
    assert hostile.parse_answer(chunked) == (200, b"abc")
    assert hostile.parse_answer(b"garbage") == (None, b"")


@pytest.mark.parametrize(("status", "error", "outcome"), [
    (401, None, "4xx"), (200, None, "2xx"), (500, None, None), (None, "closed", "closed"), (None, "timeout", None),
])
def test_outcomes_count_5xx_and_hangs_as_never_allowed(status: int | None, error: str | None,
                                                       outcome: str | None) -> None:
    assert hostile.outcome_of(status, error) == outcome


async def test_the_sender_reads_a_real_answer_and_stops_at_its_deadline() -> None:
    hold = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("User-Agent", "").startswith("hostile/1 x"):
            return web.json_response({"error": {"message": "no key", "type": "invalid_request_error"}}, status=401)
        await hold.wait()  # never answers: the sender must give up on its own
        return web.Response()

    app = web.Application()
    app.router.add_post(hostile.CHAT_PATH, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        answer = await hostile.send("127.0.0.1", server.port, build("bad_utf8_header"), 5.0)
        assert answer.status == 401 and hostile.error_format_problem(answer.body) is None
        stuck = await hostile.send("127.0.0.1", server.port, build("corrupt_gzip"), 0.3)
        assert stuck.status is None and stuck.error == "timeout"
    finally:
        hold.set()
        await server.close()
