"""Span queries: a frozen :class:`SpanQuery`, parsed from URL parameters, matched against spans.

URL form (``GET /api/v1/spans``): ``service``, ``name``, ``kind`` (1-5 or INTERNAL..CONSUMER),
``trace_id``, ``tenant``, ``start_ns_min``/``start_ns_max`` (span start time, inclusive), and any
number of ``where`` conditions on span attributes, ``resource_where`` on resource attributes::

    where=gen_ai.request.model==gpt-4o        where=gen_ai.usage.input_tokens>=100
    where=gen_ai.response.finish_reasons!=x   where=error.type      (present)

Operators: ``==`` ``!=`` ``>=`` ``<=`` ``>`` ``<``. Equality compares in the attribute's own type
(``true``/``false`` for bools, numbers for ints and doubles); order operators need a number.
Pure: :class:`QueryError` names the bad parameter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from fake_middleware.model import KIND_NAMES, StoredSpan

Op = Literal["==", "!=", ">=", "<=", ">", "<", "exists"]
_CONDITION: Final = re.compile(r"^(?P<key>[^=!<>]+?)\s*(?:(?P<op>==|!=|>=|<=|>|<)(?P<value>.*))?$", re.S)
_KIND_BY_NAME: Final = {name: number for number, name in KIND_NAMES.items()}


class QueryError(ValueError):
    """A query parameter is invalid; the message names it."""


@dataclass(frozen=True, slots=True)
class Condition:
    """``key op value`` on an attribute; ``exists`` only asks for presence."""

    key: str
    op: Op = "exists"
    value: str = ""

    @classmethod
    def parse(cls, text: str, param: str = "where") -> Condition:
        match = _CONDITION.match(text.strip())
        if not match:
            raise QueryError(f"{param}: cannot parse {text!r}; use key==value, key>=number ...")
        op = match.group("op") or "exists"
        value = match.group("value") or ""
        if op in (">=", "<=", ">", "<") and _number(value) is None:
            raise QueryError(f"{param}: {op} needs a number, got {value!r}")
        return cls(match.group("key").strip(), op, value)  # type: ignore[arg-type]

    def holds(self, attributes: Mapping[str, Mapping[str, Any]]) -> bool:
        typed = attributes.get(self.key)
        if typed is None:
            return self.op == "!="
        if self.op == "exists":
            return True
        if self.op in ("==", "!="):
            return _equal(typed, self.value) == (self.op == "==")
        actual = typed["value"] if typed["type"] in ("int", "double") else None
        wanted = _number(self.value)
        if not isinstance(actual, (int, float)) or wanted is None or math.isnan(actual):
            return False
        return {">=": actual >= wanted, "<=": actual <= wanted, ">": actual > wanted, "<": actual < wanted}[self.op]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _equal(typed: Mapping[str, Any], text: str) -> bool:
    kind, value = typed["type"], typed["value"]
    if kind == "bool":
        return text.lower() == ("true" if value else "false")
    if kind in ("int", "double") and isinstance(value, (int, float)):
        wanted = _number(text)
        return wanted is not None and float(value) == wanted
    if kind in ("array", "kvlist", "empty"):
        return False
    return str(value) == text


@dataclass(frozen=True, slots=True)
class SpanQuery:
    """Which spans to select; every given field must match (an empty query matches everything)."""

    service: str | None = None
    name: str | None = None
    kind: int | None = None
    trace_id: str | None = None
    tenant: str | None = None
    start_ns_min: int | None = None
    start_ns_max: int | None = None
    where: tuple[Condition, ...] = ()
    resource_where: tuple[Condition, ...] = ()

    def matches(self, span: StoredSpan) -> bool:
        if self.trace_id is not None and span.trace_id != self.trace_id:
            return False
        if self.name is not None and span.name != self.name:
            return False
        if self.kind is not None and span.kind != self.kind:
            return False
        if self.tenant is not None and span.tenant != self.tenant:
            return False
        if self.service is not None and span.service != self.service:
            return False
        if self.start_ns_min is not None and span.start_ns < self.start_ns_min:
            return False
        if self.start_ns_max is not None and span.start_ns > self.start_ns_max:
            return False
        if self.where and not all(c.holds(span.attributes) for c in self.where):
            return False
        return all(c.holds(span.resource.attributes) for c in self.resource_where)


QUERY_PARAMS: Final = frozenset({"service", "name", "kind", "trace_id", "tenant", "start_ns_min",
                                 "start_ns_max", "where", "resource_where"})


def parse_query(params: Mapping[str, Sequence[str]]) -> SpanQuery:
    """A SpanQuery from URL parameters (each a list of values); unknown names are not looked at."""

    def one(name: str) -> str | None:
        values = params.get(name) or []
        if len(values) > 1:
            raise QueryError(f"{name}: given {len(values)} times")
        return values[0] if values else None

    return SpanQuery(
        service=one("service"), name=one("name"), kind=_kind(one("kind")),
        trace_id=_trace_id(one("trace_id")), tenant=one("tenant"),
        start_ns_min=_int("start_ns_min", one("start_ns_min")),
        start_ns_max=_int("start_ns_max", one("start_ns_max")),
        where=tuple(Condition.parse(t, "where") for t in params.get("where") or []),
        resource_where=tuple(Condition.parse(t, "resource_where") for t in params.get("resource_where") or []),
    )


def _kind(text: str | None) -> int | None:
    if text is None:
        return None
    upper = text.strip().upper().removeprefix("SPAN_KIND_")
    if upper in _KIND_BY_NAME:
        return _KIND_BY_NAME[upper]
    if text.strip().isdigit() and int(text) in KIND_NAMES:
        return int(text)
    raise QueryError(f"kind: {text!r} is not 0-5 or a kind name")


def _trace_id(text: str | None) -> str | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9a-fA-F]{32}", text):
        raise QueryError("trace_id: expected 32 hex characters")
    return text.lower()


def _int(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise QueryError(f"{name}: expected an integer (Unix ns)") from None
