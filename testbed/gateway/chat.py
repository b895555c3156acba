"""``POST /v1/chat/completions``: non-streamed and streamed, any provider format upstream.

Streams: each upstream SSE event is translated and written to the client as it arrives (no
buffering beyond one upstream read: the frames of the events that arrived together go out in one
write, as a bare proxy would pass that read on, instead of one socket write per frame), ending
with ``data: [DONE]``. The attempt records the first upstream chunk
(``time_to_first_chunk``, SEM-16) and ends after the last one (SEM-17). A mid-stream upstream
error, a cut stream or a read timeout sends an OAI-07 error frame and closes without ``[DONE]``;
the attempt and the SERVER span get the ``error.type`` (SEM-18). A client that disconnects gets
``cancelled``. In every case the event is still published.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong

from testbed.gateway.attempts import BadUpstreamBody, run_attempts
from testbed.gateway.config import TargetConfig
from testbed.gateway.content import StreamAccumulator
from testbed.gateway.events import AttemptRecord, RequestRecord
from testbed.gateway.front import JSON_TYPE, FrontError
from testbed.gateway.providers import RequestNotSupported, StreamTranslator, UpstreamError, UpstreamRequest
from testbed.gateway.providers.base import OTHER_ERROR, OutChunk, ProviderAdapter, stream_error
from testbed.gateway.providers.sse import SseDecoder
from testbed.gateway.state import GatewayState
from testbed.gateway.upstream import UpstreamResponse
from testbed.gateway.validation import check_chat

SSE_HEADERS: Final = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
DONE_FRAME: Final = b"data: [DONE]\n\n"


class ClientGone(Exception):
    """The client closed its connection while the gateway was writing to it."""


async def serve_chat(request: web.Request, state: GatewayState, record: RequestRecord,
                     body: dict[str, Any]) -> web.StreamResponse:
    check_chat(body)
    stream = body.get("stream") is True
    record.stream = stream
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    capture = state.captures_content(state, record)

    def build(adapter: ProviderAdapter, target: TargetConfig) -> UpstreamRequest:
        try:
            return adapter.chat_request(target, body, stream)
        except (TypeError, ValueError, AttributeError, KeyError):
            # check_chat covers what adapters read; a field it missed is still the client's error.
            raise RequestNotSupported("The request has a field of the wrong type or value.") from None

    async def on_success(adapter: ProviderAdapter, attempt: AttemptRecord,
                         resp: UpstreamResponse) -> web.StreamResponse:
        if stream:
            assert isinstance(resp, aiohttp.ClientResponse), "a streamed answer is read as it arrives"
            return await _pump(request, record, attempt, adapter.stream_translator(include_usage, int(time.time())),
                               resp, StreamAccumulator() if capture else None)
        return await _complete(request, state, record, attempt, adapter, resp, capture)

    return await run_attempts(request, state, record, build, on_success)


def captures_content(state: GatewayState, record: RequestRecord) -> bool:
    """Output content is captured when capture is on and the request is not excluded (RED-01)."""
    return state.config.capture_content and not record.exclude


async def _complete(request: web.Request, state: GatewayState, record: RequestRecord, attempt: AttemptRecord,
                    adapter: ProviderAdapter, resp: UpstreamResponse, capture: bool) -> web.StreamResponse:
    raw = await resp.read()
    attempt.end_ns = time.time_ns()
    try:
        result = adapter.chat_response(raw, int(time.time()))
    except (ValueError, TypeError, AttributeError, KeyError):
        raise BadUpstreamBody() from None
    attempt.response_id, attempt.response_model = result.response_id, result.model
    attempt.finish_reasons, attempt.usage = result.finish_reasons, result.usage
    attempt.service_tier, attempt.system_fingerprint = result.service_tier, result.system_fingerprint
    attempt.choices = result.choices if capture else None
    return await state.deliver(request, web.Response(body=result.body, content_type=JSON_TYPE), record)


async def _write(response: web.StreamResponse, record: RequestRecord, payload: bytes) -> None:
    try:
        await response.write(payload)
    except ConnectionResetError:
        raise ClientGone() from None
    if record.first_byte_ns is None:
        record.first_byte_ns = time.time_ns()


def _frames(chunks: list[OutChunk], accumulator: StreamAccumulator | None) -> list[bytes]:
    out = []
    for chunk, raw in chunks:
        if accumulator is not None:
            accumulator.feed(chunk)
        out.append(b"data: " + raw + b"\n\n")
    return out


async def _write_chunks(response: web.StreamResponse, record: RequestRecord, chunks: list[OutChunk],
                        accumulator: StreamAccumulator | None) -> None:
    frames = _frames(chunks, accumulator)
    if frames:
        await _write(response, record, b"".join(frames))


async def _line_batches(content: aiohttp.StreamReader) -> AsyncIterator[list[bytes]]:
    """The complete lines of each upstream read (with their line ends); the last line may lack
    one at the end of the body. A line longer than the reader's limit fails as ``readline`` would."""
    limit = getattr(content, "_high_water", 2**17)
    pending = b""
    async for data in content.iter_any():
        pending += data
        if b"\n" not in data:
            if len(pending) > limit:
                raise LineTooLong(pending[:100] + b"...", limit)
            continue
        lines = pending.split(b"\n")
        pending = lines.pop()
        if len(pending) > limit:
            raise LineTooLong(pending[:100] + b"...", limit)
        yield [line + b"\n" for line in lines]
    if pending:
        yield [pending]


async def _relay(response: web.StreamResponse, record: RequestRecord, attempt: AttemptRecord,
                 translator: StreamTranslator, resp: aiohttp.ClientResponse,
                 accumulator: StreamAccumulator | None) -> None:
    decoder = SseDecoder()
    async for lines in _line_batches(resp.content):
        frames: list[bytes] = []
        for line in lines:
            event = decoder.feed_line(line)
            if event is None:
                continue
            if attempt.first_chunk_ns is None:
                attempt.first_chunk_ns = time.time_ns()
            frames += _frames(translator.feed(event), accumulator)
            if translator.state.error is not None:
                break
        if frames:
            await _write(response, record, b"".join(frames))
        if translator.state.error is not None:
            return
    last = decoder.flush()
    if last is not None:
        await _write_chunks(response, record, translator.feed(last), accumulator)


async def _pump(request: web.Request, record: RequestRecord, attempt: AttemptRecord, translator: StreamTranslator,
                resp: aiohttp.ClientResponse, accumulator: StreamAccumulator | None) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    record.status_code = 200
    socket_error: UpstreamError | None = None
    try:
        await response.prepare(request)
        try:
            await _relay(response, record, attempt, translator, resp, accumulator)
        except asyncio.TimeoutError:
            socket_error = stream_error("timeout", "upstream stream timed out")
        except aiohttp.ClientError:
            socket_error = stream_error(OTHER_ERROR, "upstream stream broke")
        attempt.end_ns = time.time_ns()
        await _finish_stream(response, record, translator, accumulator, socket_error)
    except (ClientGone, ConnectionResetError):
        _mark_cancelled(record, attempt)
    except asyncio.CancelledError:
        _mark_cancelled(record, attempt)
        _fill(record, attempt, translator, accumulator, socket_error)
        raise
    _fill(record, attempt, translator, accumulator, socket_error)
    return response


async def _finish_stream(response: web.StreamResponse, record: RequestRecord, translator: StreamTranslator,
                         accumulator: StreamAccumulator | None, socket_error: UpstreamError | None) -> None:
    """Close the client stream: an error frame for a socket failure (the translator's own errors
    were already written as frames), else the trailing chunks and ``[DONE]``."""
    if socket_error is not None:
        await _write(response, record, b"data: " + socket_error.body + b"\n\n")
    elif translator.state.error is None:
        await _write_chunks(response, record, translator.close(), accumulator)
        if translator.state.error is None:
            await _write(response, record, DONE_FRAME)
    await response.write_eof()


def _mark_cancelled(record: RequestRecord, attempt: AttemptRecord) -> None:
    attempt.end_ns = attempt.end_ns or time.time_ns()
    attempt.error_type = attempt.error_type or "cancelled"
    record.error_type = "cancelled"


def _fill(record: RequestRecord, attempt: AttemptRecord, translator: StreamTranslator,
          accumulator: StreamAccumulator | None, socket_error: UpstreamError | None) -> None:
    state = translator.state
    attempt.response_id, attempt.response_model = state.response_id, state.model
    attempt.finish_reasons = state.ordered_finish_reasons() or None
    attempt.usage = state.usage
    attempt.service_tier, attempt.system_fingerprint = state.service_tier, state.system_fingerprint
    error = socket_error or state.error
    if error is not None and attempt.error_type is None:
        attempt.error_type, attempt.error_message = error.error_type, error.message
    if attempt.error_type is not None:
        record.error_type = record.error_type or attempt.error_type
    if accumulator is not None:
        attempt.choices = accumulator.choices()
    record.end_ns = time.time_ns()
