"""OTLP/HTTP handlers (SPEC 5, 6): content type, auth, size limits, faults, then the store.

Order for each request: 415 for an unknown Content-Type or Content-Encoding; 401 for a missing
or wrong key (the body is not read, nothing is stored); 413 as soon as the body, on the wire or
inflated, passes the limit (the connection is closed so the rest is never read); 400 for a body
that does not decode; then the active faults; then the spans are validated and stored, and
invalid ones are reported through ``partial_success``. Answers use the request's content type.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Final

from aiohttp import web

from fake_middleware import otlp
from fake_middleware.auth import authenticate
from fake_middleware.faults import Effect, Target
from fake_middleware.keys import DETECTOR, FAULTS, LISTENER, METRIC_STORE, SETTINGS, STORE
from fake_middleware.model import RequestRecord
from fake_middleware.otlp import Encoding, Signal
from fake_middleware.otlp_metrics import extract_points
from fake_middleware.signals_api import observe_spans

SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key",
                                   "x-goog-api-key"})
PATHS: Final = {"/v1/traces": Signal.TRACES, "/v1/metrics": Signal.METRICS, "/v1/logs": Signal.LOGS}


def _headers(request: web.Request) -> list[tuple[str, str]]:
    # Auth headers are never kept, only their presence (RED-08, security rules).
    return [(k, "<redacted>" if k.lower() in SECRET_HEADERS else v) for k, v in request.headers.items()]


def _open(request: web.Request) -> RequestRecord:
    h = request.headers
    return request.app[STORE].open_request(lambda rid: RequestRecord(
        id=rid, path=request.path, arrival_ns=time.time_ns(), content_type=h.get("Content-Type", ""),
        content_encoding=h.get("Content-Encoding", ""), user_agent=h.get("User-Agent", ""),
        auth_form="missing", headers=_headers(request)))


def _answer(request: web.Request, record: RequestRecord, status: int, body: bytes, encoding: Encoding,
            outcome: str, headers: dict[str, str] | None = None) -> web.Response:
    request.app[STORE].finish_request(record, status, outcome, time.time_ns())
    return web.Response(status=status, body=body, headers=headers, content_type=encoding.value)


def _error(request: web.Request, record: RequestRecord, status: int, message: str, outcome: str,
           headers: dict[str, str] | None = None, close: bool = False) -> web.Response:
    encoding = otlp.response_encoding(request.headers.get("Content-Type"))
    response = _answer(request, record, status, otlp.status_body(encoding, status, message), encoding, outcome, headers)
    if close:
        response.force_close()  # do not drain a body we refused (OTLP-12: refused while reading)
    return response


async def handle_export(request: web.Request) -> web.StreamResponse:
    """``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``."""
    record = _open(request)
    try:
        return await _export(request, record, PATHS[request.path])
    except otlp.BodyTooLarge as exc:
        return _error(request, record, 413, str(exc), "too_large", close=True)
    except otlp.UnsupportedMedia as exc:
        return _error(request, record, 415, str(exc), "unsupported")
    except otlp.Undecodable as exc:
        return _error(request, record, 400, str(exc), "undecodable")
    finally:
        if record.end_ns is None:  # cancelled, hung up, reset: no answer was sent
            request.app[STORE].finish_request(record, None, record.outcome if record.outcome != "pending" else "aborted",
                                              time.time_ns())


async def _export(request: web.Request, record: RequestRecord, signal: Signal) -> web.StreamResponse:
    app = request.app
    settings, store, faults = app[SETTINGS], app[STORE], app[FAULTS]
    encoding = otlp.negotiate(request.headers.get("Content-Type"))
    config, config_names = faults.select("config", Target(request.path, None), record.id)
    record.faults.extend(config_names)
    keys = settings.keys if config.keys is None else config.keys
    auth = authenticate(request.headers.get("Authorization"), keys, config.auth_mode or settings.auth_mode)
    record.auth_form, record.tenant = auth.form, auth.tenant
    if auth.tenant is None:
        return _error(request, record, 401, auth.reason, "rejected_auth")
    limit = settings.max_request_bytes
    if config.max_request_bytes is not None:
        limit = min(limit, config.max_request_bytes)
    decoder = otlp.BoundedDecoder(request.headers.get("Content-Encoding"), limit)
    if decoder.coding == "identity" and (request.content_length or 0) > limit:
        raise otlp.BodyTooLarge(f"Content-Length {request.content_length} is over {limit} bytes")
    try:
        async for chunk in request.content.iter_any():
            decoder.feed(chunk)
        body = decoder.finish()
    finally:
        record.wire_bytes, record.decoded_bytes = decoder.wire_bytes, decoder.decoded_bytes
    store.add_body(record, body, decoder.wire_bytes)
    if decoder.coding == "deflate":
        record.lenient.append("Content-Encoding deflate (OTLP-04: gzip is the standard)")
    message = otlp.decode(signal, encoding, body, record.lenient)
    effect, names = faults.select("request", Target(request.path, auth.tenant), record.id)
    record.faults.extend(names)
    if effect.delay_s:
        await asyncio.sleep(effect.delay_s)
    if effect.action != "none":
        return await _act(request, record, effect, encoding)
    return await _ingest(request, record, signal, encoding, message, effect)


async def _ingest(request: web.Request, record: RequestRecord, signal: Signal, encoding: Encoding,
                  message: object, effect: Effect) -> web.StreamResponse:
    store = request.app[STORE]
    rejected, reasons = 0, []
    if signal is Signal.TRACES:
        extracted = otlp.extract_spans(message, record.tenant or "", record.arrival_ns, record.id)
        spans, rejected, reasons = extracted.spans, extracted.rejected, extracted.reasons
        if effect.reject is not None and spans:
            cut = (int(effect.reject) if isinstance(effect.reject, int) else round(effect.reject * len(spans)))
            cut = min(cut, len(spans))
            if cut:
                spans = spans[cut:]
                reasons.insert(0, effect.reject_message)
                rejected += cut
        store.add_spans(record, spans, rejected)
        observe_spans(request.app[DETECTOR], spans)  # SIG-03: anomaly windows over the stream
    elif signal is Signal.METRICS:  # SPEC 12: points stored apart from spans
        points = extract_points(message, record.tenant or "", record.arrival_ns, record.id)
        rejected, reasons = points.rejected, points.reasons
        request.app[METRIC_STORE].add(points.points, rejected)
    text = "; ".join(reasons)
    body = otlp.success_body(signal, encoding, rejected, text)
    body = otlp.pad_response(encoding, body, effect.pad_bytes)
    outcome = "partial" if rejected else "accepted"
    if effect.bytes_per_s:
        return await _trickle(request, record, body, encoding, effect, outcome)
    return _answer(request, record, 200, body, encoding, outcome)


async def _trickle(request: web.Request, record: RequestRecord, body: bytes, encoding: Encoding,
                   effect: Effect, outcome: str) -> web.StreamResponse:
    response = web.StreamResponse(status=200)
    response.content_type = encoding.value
    response.content_length = len(body)
    await response.prepare(request)
    assert effect.bytes_per_s is not None
    pause = effect.chunk_bytes / effect.bytes_per_s
    for start in range(0, len(body), effect.chunk_bytes):
        await response.write(body[start:start + effect.chunk_bytes])
        if start + effect.chunk_bytes < len(body):
            await asyncio.sleep(pause)
    await response.write_eof()
    request.app[STORE].finish_request(record, 200, outcome, time.time_ns())
    return response


async def _act(request: web.Request, record: RequestRecord, effect: Effect, encoding: Encoding) -> web.StreamResponse:
    """Carry out a terminal fault action; nothing is stored for these requests."""
    if effect.action == "respond":
        assert effect.status is not None
        return _error(request, record, effect.status, effect.message, "fault_status", dict(effect.headers))
    if effect.action == "hang":
        record.outcome = "hang"
        cleared = request.app[FAULTS].cleared_event(effect.source)
        try:
            await asyncio.wait_for(cleared.wait(), effect.hold_s)
        except TimeoutError:
            pass
        _close(request, reset=False)
    elif effect.action == "disconnect":
        record.outcome = "disconnect"
        _close(request, reset=False)
    else:
        record.outcome = "reset"
        if effect.after_bytes and request.transport is not None:
            request.transport.write(_raw_response(encoding)[: effect.after_bytes])
        _close(request, reset=True)
    raise _Gone()


class _Gone(web.HTTPException):
    """Raised after the connection was closed on purpose: there is no response to send."""

    status_code = 499


def _raw_response(encoding: Encoding) -> bytes:
    body = otlp.success_body(Signal.TRACES, encoding)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {encoding.value}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _close(request: web.Request, reset: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if reset and sock is not None:
        # SO_LINGER with a zero timeout turns close() into a TCP RST (FLT-04).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


def is_down_here(request: web.Request) -> bool:
    """True when the main listener is down and this request came in on it (FLT-03)."""
    state = request.app[LISTENER]
    if not state.down or request.transport is None:
        return False
    sockname = request.transport.get_extra_info("sockname")
    return state.main_port is None or (sockname is not None and sockname[1] == state.main_port)


def abort(request: web.Request) -> web.StreamResponse:
    _close(request, reset=True)
    raise _Gone()
