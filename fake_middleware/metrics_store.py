"""The in-memory metric point store and its query (SPEC 12). Pure; does not import aiohttp.

Every accepted point is kept in arrival order (a retried request stores its points again: the
checks judge series, and a resent cumulative point repeats a value without breaking MET-05).
Queries filter on ``name``, ``where`` conditions on point attributes, ``resource_where`` on the
resource, and the point's ``time_ns`` window (``since_ns`` / ``until_ns``, inclusive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fake_middleware.otlp_metrics import StoredPoint
from fake_middleware.query import Condition, QueryError

QUERY_PARAMS: Final = frozenset({"name", "where", "resource_where", "since_ns", "until_ns", "limit"})


@dataclass(frozen=True, slots=True)
class PointQuery:
    name: str | None = None
    where: tuple[Condition, ...] = ()
    resource_where: tuple[Condition, ...] = ()
    since_ns: int | None = None
    until_ns: int | None = None

    def matches(self, point: StoredPoint) -> bool:
        if self.name is not None and point.name != self.name:
            return False
        if self.since_ns is not None and point.time_ns < self.since_ns:
            return False
        if self.until_ns is not None and point.time_ns > self.until_ns:
            return False
        return (all(c.holds(point.attributes) for c in self.where)
                and all(c.holds(point.resource) for c in self.resource_where))


def _int(name: str, values: Sequence[str]) -> int | None:
    if not values:
        return None
    try:
        value = int(values[-1])
    except ValueError:
        raise QueryError(f"{name}: expected an integer") from None
    if value < 0:
        raise QueryError(f"{name}: must not be negative")
    return value


def parse_point_query(params: Mapping[str, Sequence[str]]) -> tuple[PointQuery, int | None]:
    """The query and the ``limit`` from URL parameters; QueryError names a bad or unknown one."""
    unknown = set(params) - QUERY_PARAMS
    if unknown:
        raise QueryError(f"unknown parameter(s) {sorted(unknown)}")
    names = params.get("name") or []
    query = PointQuery(
        name=names[-1] if names else None,
        where=tuple(Condition.parse(t, "where") for t in params.get("where") or ()),
        resource_where=tuple(Condition.parse(t, "resource_where") for t in params.get("resource_where") or ()),
        since_ns=_int("since_ns", params.get("since_ns") or ()),
        until_ns=_int("until_ns", params.get("until_ns") or ()),
    )
    return query, _int("limit", params.get("limit") or ())


class MetricStore:
    """Points received on ``/v1/metrics``, with accepted and rejected counts."""

    def __init__(self, max_points: int = 1_000_000) -> None:
        self.max_points = max_points
        self.reset()

    def reset(self) -> None:
        self._points: list[StoredPoint] = []
        self.accepted = 0
        self.rejected = 0
        self.dropped = 0

    def add(self, points: Iterable[StoredPoint], rejected: int = 0) -> None:
        for point in points:
            if len(self._points) >= self.max_points:
                self.dropped += 1  # bounded memory: counted, never silent
                continue
            self._points.append(point)
            self.accepted += 1
        self.rejected += rejected

    def query(self, query: PointQuery | None = None, limit: int | None = None) -> list[StoredPoint]:
        query = query or PointQuery()
        out = [p for p in self._points if query.matches(p)]
        return out if limit is None else out[:limit]

    def stats(self) -> dict[str, Any]:
        names: dict[str, int] = {}
        for p in self._points:
            names[p.name] = names.get(p.name, 0) + 1
        return {"points": len(self._points), "accepted": self.accepted, "rejected": self.rejected,
                "dropped": self.dropped, "by_name": names}
