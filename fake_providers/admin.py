"""Admin routes under ``/_fake/`` and ``/metrics`` (I/O; never authenticated, never journalled).

- ``GET/PUT/POST/DELETE /_fake/behaviours``: list, replace (a list, or ``{"behaviours": [...]}``),
  append one rule (or a list), clear. A bad rule gets 400 ``{"error": {"message", "field"}}``.
- ``GET /_fake/journal`` (``since``, ``model``, ``provider``, ``path``, ``limit``): one page, oldest
  first, with ``next`` (the ``since`` of the next page, null at the end) and ``dropped`` (entries
  the ring let go since the last clear); ``DELETE`` clears it.
- ``POST /_fake/reset``: start-up rules back, counters zeroed, RNG reseeded, journal and errors cleared.
- ``GET /_fake/errors``: unexpected handler exceptions (type and location only).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from aiohttp.web_protocol import RequestPayloadError

from fake_providers.behaviours import BehaviourError, parse_rule, parse_rules
from fake_providers.journal import DEFAULT_PAGE, MAX_PAGE
from fake_providers.keys import BEHAVIOURS, HANDLER_ERRORS, JOURNAL, METRICS
from testbed.safe_json import JsonBodyError, loads_body


def admin_error(status: int, message: str, field: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "field": field}}, status=status)


def _rules_view(request: web.Request) -> web.Response:
    return web.json_response({"behaviours": [rule.to_dict() for rule in request.app[BEHAVIOURS].rules]})


async def _json(request: web.Request) -> Any:
    try:
        return loads_body(await request.read())
    except JsonBodyError as exc:
        raise BehaviourError("body", str(exc)) from None
    except RequestPayloadError:
        raise BehaviourError("body", "could not be decoded (Content-Encoding)") from None


async def get_behaviours(request: web.Request) -> web.Response:
    return _rules_view(request)


async def put_behaviours(request: web.Request) -> web.Response:
    try:
        body = await _json(request)
        raw = body.get("behaviours") if isinstance(body, dict) and set(body) <= {"behaviours"} else body
        request.app[BEHAVIOURS].replace(parse_rules(raw if raw is not None else [], "behaviours"))
    except BehaviourError as exc:
        return admin_error(400, str(exc), exc.field)
    return _rules_view(request)


async def post_behaviours(request: web.Request) -> web.Response:
    store = request.app[BEHAVIOURS]
    try:
        body = await _json(request)
        start = len(store.rules)
        rules = parse_rules(body, f"behaviours[{start}:]") if isinstance(body, list) else (parse_rule(body, f"behaviours[{start}]"),)
    except BehaviourError as exc:
        return admin_error(400, str(exc), exc.field)
    for rule in rules:
        store.append(rule)
    return _rules_view(request)


async def delete_behaviours(request: web.Request) -> web.Response:
    request.app[BEHAVIOURS].replace(())
    return _rules_view(request)


def _int_query(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    # ASCII digits only ("²" is a digit to str.isdigit), and a size a list index can take.
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise BehaviourError(name, "must be a non-negative integer below 10**18")
    return int(value)


async def get_journal(request: web.Request) -> web.Response:
    journal = request.app[JOURNAL]
    try:
        since = _int_query(request, "since") or 0
        limit = _int_query(request, "limit")
    except BehaviourError as exc:
        return admin_error(400, str(exc), exc.field)
    if limit == 0:
        return admin_error(400, "must be a positive integer", "limit")
    q = request.query
    # One page at a time (at most MAX_PAGE entries): an answer never holds the whole ring.
    entries, cursor = journal.page(since=since, limit=min(limit or DEFAULT_PAGE, MAX_PAGE), model=q.get("model"),
                                   provider=q.get("provider"), path=q.get("path"))
    return web.json_response({
        "entries": [e.to_dict() for e in entries], "count": len(entries), "next": cursor,
        "dropped": journal.dropped, "first_seq": journal.first_seq, "last_seq": journal.last_seq,
        "capacity": journal.capacity, "handler_errors": len(request.app[HANDLER_ERRORS]),
    })  # fmt: skip


async def delete_journal(request: web.Request) -> web.Response:
    request.app[JOURNAL].clear()
    return web.json_response({"cleared": True})


async def reset(request: web.Request) -> web.Response:
    request.app[BEHAVIOURS].reset()
    request.app[JOURNAL].clear()
    request.app[HANDLER_ERRORS].clear()
    return web.json_response({"reset": True, "behaviours": [r.to_dict() for r in request.app[BEHAVIOURS].rules]})


async def get_errors(request: web.Request) -> web.Response:
    return web.json_response({"errors": list(request.app[HANDLER_ERRORS])})


async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    return web.Response(body=m.render(), headers={"Content-Type": m.content_type})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_fake/behaviours", get_behaviours)
    app.router.add_put("/_fake/behaviours", put_behaviours)
    app.router.add_post("/_fake/behaviours", post_behaviours)
    app.router.add_delete("/_fake/behaviours", delete_behaviours)
    app.router.add_get("/_fake/journal", get_journal)
    app.router.add_delete("/_fake/journal", delete_journal)
    app.router.add_post("/_fake/reset", reset)
    app.router.add_get("/_fake/errors", get_errors)
    app.router.add_get("/metrics", metrics)
