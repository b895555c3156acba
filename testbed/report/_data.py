"""Defensive readers for the ``results.json`` dict, pure.

The report and the CI gate read files written by other versions of the runner, or edited by hand;
a missing or mistyped field must become an empty value and never an exception, so every access
to the results dict goes through these helpers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

MAX_VALUE_CHARS: Final = 2000
"""Longer evidence values are cut (and say so): a span attribute can hold a whole prompt."""


def as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def as_dicts(value: Any) -> list[dict[str, Any]]:
    return [dict(v) for v in as_list(value) if isinstance(v, Mapping)]


def as_str(value: Any, default: str = "") -> str:
    if value is None:
        return default
    return value if isinstance(value, str) else str(value)


def as_float(value: Any) -> float | None:
    """A number, or a decimal string (nanosecond times are strings in results.json)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_int(value: Any) -> int | None:
    f = as_float(value)
    return None if f is None else int(f)


def show(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A readable one-string form of any JSON value: strings as they are, the rest as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def pretty(value: Any) -> list[str]:
    """Lines of an indented JSON form, for diffs of structured values."""
    if isinstance(value, str):
        return value.splitlines() or [""]
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=str).splitlines()


def ms(us: Any) -> float | None:
    """Microseconds (the histogram unit) to milliseconds."""
    v = as_float(us)
    return None if v is None else v / 1000.0


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
