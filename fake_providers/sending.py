"""Write a ResponsePlan to the wire, applying the timing and stream-fault behaviours (I/O).

Timing: the TTFT wait (already jittered) comes before the headers, and the headers, the opening
frames and the first content frame then go out together; each later content frame of a stream
waits the inter-token gap (plus jitter). Frames without content (finish, usage, ``[DONE]``)
follow at once. A plain JSON body is one content frame.

Every wait is cancellable: aiohttp does not cancel a handler when its client leaves (its
``handler_cancellation`` is off by default), so ``pause`` checks the connection and the app's
shutdown event every ``POLL_S`` and raises ``ClientGone``; no task outlives its client.
"""

from __future__ import annotations

import asyncio
import math
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from fake_providers.behaviours import MidStreamError, SlowBody, Truncate
from fake_providers.keys import SHUTDOWN
from fake_providers.wire import ResponsePlan
from testbed.load.timer import coarse_timer

POLL_S: Final = 0.05
POLL_NS: Final = 50_000_000
LOOP_LATE_NS: Final = 2_000_000
"""How late a loop-timer wait can wake: a poll step never runs into the last one."""


class ClientGone(Exception):
    """The client disconnected, or the app is shutting down, during a wait."""


@dataclass(frozen=True, slots=True)
class Shape:
    """The stream behaviours resolved for one request (delays in seconds)."""

    ttft_s: float = 0.0
    itl_s: float = 0.0
    jitter: Callable[[], float] = lambda: 0.0
    mid_stream_error: MidStreamError | None = None
    truncate: Truncate | None = None
    reset_after_bytes: int | None = None
    slow_body: SlowBody | None = None


@dataclass(slots=True)
class Outcome:
    outcome: str = "complete"
    chunks: int = 0
    bytes: int = 0
    ttft_ms: float | None = None
    first_byte_ns: int | None = None
    last_byte_ns: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def timing(self) -> dict[str, Any]:
        return {
            "chunks": self.chunks, "bytes": self.bytes, "ttft_ms": self.ttft_ms,
            "first_byte_ns": self.first_byte_ns, "last_byte_ns": self.last_byte_ns, **self.extra,
        }  # fmt: skip


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def pause(request: web.Request, seconds: float) -> None:
    """Sleep ``seconds``, ending early with ClientGone if the client leaves or the app stops.

    The end is exact to the kernel's timer, not to the loop's millisecond one (LAT-06: fixed
    latency, zero jitter): a loop timer rounds every wait up to its next millisecond tick, so a
    request's added latency would depend on where in the millisecond it arrived, and two paths
    compared in one run (LAT-04) arrive at different points of it. Long waits poll in ``POLL_S``
    steps on the loop's timer; the last step (at most ``POLL_S`` plus ``LOOP_LATE_NS``) is a kernel
    timer armed in nanoseconds."""
    if seconds <= 0:
        return
    deadline = None if math.isinf(seconds) else time.monotonic_ns() + int(seconds * 1e9)
    shutdown = request.app[SHUTDOWN]
    while True:
        if shutdown.is_set() or client_gone(request):
            raise ClientGone
        if deadline is None:
            await asyncio.sleep(POLL_S)
            continue
        remaining = deadline - time.monotonic_ns()
        if remaining <= 0:
            return
        if remaining > POLL_NS + LOOP_LATE_NS:
            await asyncio.sleep(POLL_S)
            continue
        timer = coarse_timer()
        try:
            await timer.sleep_until(deadline)
        finally:
            timer.close()


def abort_connection(request: web.Request) -> None:
    """Drop the connection with a TCP reset (SO_LINGER 0), not an orderly close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


def _cut_index(plan: ResponsePlan, after_chunks: int) -> int:
    """Frame index before which a stream is cut after ``after_chunks`` content frames."""
    content = [i for i, frame in enumerate(plan.frames) if frame.content]
    if after_chunks < len(content):
        return content[after_chunks]
    return content[-1] + 1 if content else len(plan.frames)


async def send(request: web.Request, plan: ResponsePlan, shape: Shape, out: Outcome) -> web.StreamResponse:
    """Write ``plan``, recording in ``out`` how it ended (complete, mid_stream_error, truncated...)."""
    resp = web.StreamResponse(status=plan.status, headers=plan.headers)
    resp.content_type = plan.content_type.split(";")[0]
    if plan.stream:
        resp.headers["Content-Type"] = plan.content_type
        resp.headers["Cache-Control"] = "no-cache"
    else:
        resp.content_length = sum(len(frame.data) for frame in plan.frames)
    out.ttft_ms = round(shape.ttft_s * 1000, 3)
    try:
        await pause(request, shape.ttft_s)
        await resp.prepare(request)
        await _write_frames(request, resp, plan, shape, out)
    except ClientGone:
        out.outcome = "client_disconnected"
    except ConnectionError:
        out.outcome = "client_disconnected"
    return resp


async def _write_frames(
    request: web.Request, resp: web.StreamResponse, plan: ResponsePlan, shape: Shape, out: Outcome
) -> None:
    error_at = cut_at = None
    if plan.stream and shape.mid_stream_error is not None and plan.error_frame is not None:
        error_at = _cut_index(plan, shape.mid_stream_error.after_chunks)
    if plan.stream and shape.truncate is not None and shape.truncate.after_chunks is not None:
        cut_at = _cut_index(plan, shape.truncate.after_chunks)
    byte_cut = shape.truncate.after_bytes if plan.stream and shape.truncate is not None else None
    for index, frame in enumerate(plan.frames):
        if index == error_at:
            assert plan.error_frame is not None
            await _write(request, resp, plan.error_frame, shape, out)
            out.outcome = "mid_stream_error"
            break
        if index == cut_at:
            out.outcome = "truncated"
            break
        if frame.content and plan.stream and out.chunks > 0:
            await pause(request, shape.itl_s + shape.jitter())
        data = frame.data
        limit = _byte_limit(out.bytes, len(data), byte_cut, shape.reset_after_bytes)
        if limit is not None:
            await _write(request, resp, data[:limit], shape, out)
            if shape.reset_after_bytes is not None and out.bytes >= shape.reset_after_bytes:
                out.outcome = "reset"
                out.last_byte_ns = time.time_ns()
                abort_connection(request)
                return
            out.outcome = "truncated"
            break
        await _write(request, resp, data, shape, out)
        out.chunks += int(frame.content)
        if index in plan.usage_frames:
            plan.summary.usage_reported = True
    await resp.write_eof()
    out.last_byte_ns = time.time_ns()


def _byte_limit(sent: int, size: int, *limits: int | None) -> int | None:
    """How many bytes of the next frame may go out, if a byte limit falls inside it."""
    active = [limit for limit in limits if limit is not None and sent + size > limit]
    return max(0, min(active) - sent) if active else None


async def _write(
    request: web.Request, resp: web.StreamResponse, data: bytes, shape: Shape, out: Outcome
) -> None:
    if out.first_byte_ns is None:
        out.first_byte_ns = time.time_ns()
    slow = shape.slow_body
    if slow is None or not data:
        await resp.write(data)
    else:
        for start in range(0, len(data), slow.chunk_bytes):
            piece = data[start : start + slow.chunk_bytes]
            await resp.write(piece)
            await pause(request, len(piece) / slow.bytes_per_s)
    out.bytes += len(data)
