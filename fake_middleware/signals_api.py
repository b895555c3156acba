"""``GET /api/v1/signals``: the anomaly signals the ingest derived from the span stream (SPEC 13).

Reading the signals first judges every window that ended at least one grace period before now, so
a run's last windows are judged too. Parameters: ``kind`` (repeatable), ``since_ns`` (fired at or
after). The answer: ``{"window_ns", "windows_judged", "late_spans", "signals": [...]}``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiohttp import web

from fake_middleware.anomaly import KINDS, AnomalyDetector
from fake_middleware.keys import DETECTOR

_PARAMS = frozenset({"kind", "since_ns"})


def observe_spans(detector: AnomalyDetector, spans: Iterable[object]) -> None:
    """Hand stored spans to the detector (the ingest calls this after storing them)."""
    detector.observe_spans(spans, time.time_ns())


async def get_signals(request: web.Request) -> web.Response:
    detector = request.app[DETECTOR]
    unknown = set(request.query) - _PARAMS
    kinds = request.query.getall("kind", [])
    bad = [k for k in kinds if k not in KINDS]
    if unknown or bad:
        what = f"unknown parameter(s) {sorted(unknown)}" if unknown else f"kind: {bad[0]!r} is not one of {KINDS}"
        return web.json_response({"error": what}, status=400)
    try:
        since = int(request.query.get("since_ns", "0"))
    except ValueError:
        return web.json_response({"error": "since_ns: expected an integer"}, status=400)
    now = time.time_ns()
    detector.close_until(now - detector.settings.grace_windows * detector.window_ns, now)
    signals = [s for s in detector.signals if (not kinds or s["kind"] in kinds) and s["fired_ns"] >= since]
    return web.json_response({"window_ns": detector.window_ns, "windows_judged": detector.windows_judged,
                              "late_spans": detector.late, "signals": signals})


def add_signal_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/signals", get_signals)
