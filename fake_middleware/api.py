"""The JSON query API under ``/api/v1/``, the fault admin routes under ``/_faults``, and ``/metrics``.

Query routes (docs/fake_middleware.md has the full reference):
``GET spans`` (filters of :mod:`fake_middleware.query`, ``limit``, and the long-poll
``wait_count`` + ``wait_timeout_s``), ``GET traces/{trace_id}``, ``GET stats``, ``GET topology``
(same filters), ``GET requests`` (``since_id``), ``POST canary`` (the needle in the body, never in
a URL), ``POST reset``. Admin: ``GET/POST /_faults``, ``DELETE /_faults/{name}``,
``POST /_faults/reset``, ``GET /_faults/timeline``. Bad input gets 400 naming the field.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aiohttp.web_protocol import RequestPayloadError

from testbed.errors import WaitTimeout
from testbed.safe_json import JsonBodyError, loads_body

from fake_middleware.faults import FaultSpecError, spec_from_dict
from fake_middleware.keys import DETECTOR, FAULTS, LISTENER, METRIC_STORE, REGISTRY, SETTINGS, STORE
from fake_middleware.query import QUERY_PARAMS, QueryError, SpanQuery, parse_query
from fake_middleware.topology import build_topology, parse_window

_PAGE_PARAMS = frozenset({"limit", "wait_count", "wait_timeout_s"})


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _query(request: web.Request, extra: frozenset[str] = frozenset()) -> SpanQuery:
    unknown = set(request.query) - QUERY_PARAMS - extra
    if unknown:
        raise QueryError(f"unknown parameter(s) {sorted(unknown)}")
    return parse_query({k: request.query.getall(k) for k in request.query})


def _int_param(request: web.Request, name: str, default: int | None) -> int | None:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"{name}: expected an integer") from None
    if value < 0:
        raise QueryError(f"{name}: must not be negative")
    return value


async def get_spans(request: web.Request) -> web.Response:
    store = request.app[STORE]
    try:
        query = _query(request, _PAGE_PARAMS)
        limit = _int_param(request, "limit", 1000)
        wait_count = _int_param(request, "wait_count", None)
        timeout = float(request.query.get("wait_timeout_s", "10"))
        if not math.isfinite(timeout):  # NaN would make the long-poll wait forever
            raise QueryError("wait_timeout_s: expected a finite number")
    except (QueryError, ValueError) as exc:
        return _bad(str(exc))
    timed_out = False
    if wait_count:
        timeout = min(max(timeout, 0.0), request.app[SETTINGS].long_poll_max_s)
        try:
            await store.wait_for(query, wait_count, timeout)
        except WaitTimeout:
            timed_out = True
    total = store.count(query)
    spans = store.query(query, limit)
    return web.json_response({"count": total, "returned": len(spans), "timed_out": timed_out,
                              "spans": [s.to_dict() for s in spans]}, dumps=_dumps)


async def get_trace(request: web.Request) -> web.Response:
    trace_id = request.match_info["trace_id"].lower()
    spans = request.app[STORE].trace(trace_id)
    if not spans:
        return web.json_response({"error": f"no spans for trace {trace_id}"}, status=404)
    return web.json_response({"trace_id": trace_id, "spans": [s.to_dict() for s in spans]}, dumps=_dumps)


async def get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STORE].stats())


async def get_topology(request: web.Request) -> web.Response:
    try:
        query = _query(request, frozenset({"window_s"}))
        window_ns = parse_window(request.query.get("window_s"))  # SIG-01: per-window edge figures
    except (QueryError, ValueError) as exc:
        return _bad(str(exc))
    return web.json_response(build_topology(request.app[STORE].query(query), window_ns))


async def get_requests(request: web.Request) -> web.Response:
    try:
        since = _int_param(request, "since_id", 0) or 0
    except QueryError as exc:
        return _bad(str(exc))
    return web.json_response({"requests": [r.to_dict() for r in request.app[STORE].requests(since)]})


async def post_canary(request: web.Request) -> web.Response:
    try:
        raw = await request.read()
    except RequestPayloadError:
        return _bad("body: could not be decoded (Content-Encoding)")
    needle: Any = raw.decode("utf-8", "surrogateescape")
    if request.content_type == "application/json":
        try:
            doc = loads_body(raw)
        except JsonBodyError as exc:
            return _bad(f"body: {exc}")
        needle = doc.get("needle") if isinstance(doc, dict) else None
    if not isinstance(needle, str) or not needle:
        return _bad("needle: expected a non-empty string")
    hits = request.app[STORE].canary(needle.encode("utf-8", "surrogateescape"))
    request_ids = sorted({h.request_id for h in hits})
    return web.json_response({"found": bool(hits), "request_ids": request_ids, "hits": [h.to_dict() for h in hits]})


async def post_reset(request: web.Request) -> web.Response:
    request.app[STORE].reset()
    request.app[METRIC_STORE].reset()
    request.app[DETECTOR].reset()
    return web.json_response({"reset": True})


async def get_metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# -- faults -------------------------------------------------------------------------------------

async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": request.app[FAULTS].list()})


async def add_fault(request: web.Request) -> web.Response:
    faults = request.app[FAULTS]
    try:
        doc = loads_body(await request.read())
    except (JsonBodyError, RequestPayloadError):
        return _bad("body: expected a JSON object (a fault, or a list of faults)")
    docs = doc if isinstance(doc, list) else [doc]
    added = []
    try:
        for item in docs:
            kind = item.get("kind", "fault") if isinstance(item, dict) else "fault"
            fault = faults.add(spec_from_dict(item, faults.next_name(str(kind))))
            added.append(fault.spec.to_dict())
    except FaultSpecError as exc:
        return _bad(str(exc))
    await _settle(request)
    return web.json_response({"added": added}, status=201)


async def delete_fault(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not request.app[FAULTS].remove(name):
        return web.json_response({"error": f"no active fault named {name!r}"}, status=404)
    await _settle(request)
    return web.json_response({"cleared": name})


async def reset_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].reset()
    await _settle(request)
    return web.json_response({"reset": True})


async def get_timeline(request: web.Request) -> web.Response:
    return web.json_response({"timeline": [e.to_dict() for e in request.app[FAULTS].timeline]})


async def _settle(request: web.Request) -> None:
    settle = request.app[LISTENER].settle
    if settle is not None:
        await settle()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/spans", get_spans)
    app.router.add_get("/api/v1/traces/{trace_id}", get_trace)
    app.router.add_get("/api/v1/stats", get_stats)
    app.router.add_get("/api/v1/topology", get_topology)
    app.router.add_get("/api/v1/requests", get_requests)
    app.router.add_post("/api/v1/canary", post_canary)
    app.router.add_post("/api/v1/reset", post_reset)
    app.router.add_get("/metrics", get_metrics)
    app.router.add_get("/_faults", list_faults)
    app.router.add_post("/_faults", add_fault)
    app.router.add_post("/_faults/reset", reset_faults)
    app.router.add_get("/_faults/timeline", get_timeline)
    app.router.add_delete("/_faults/{name}", delete_fault)
