"""Typed field checks shared by the provider request parsers (pure).

Each check raises ``InvalidRequest`` naming the field (``param``), which the provider renders as a
400 in its own format. Booleans are never accepted as numbers, as in the real APIs.
"""

from __future__ import annotations

import math
from typing import Any


class InvalidRequest(ValueError):
    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.status = status


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return body


def string(body: dict[str, Any], key: str, *, required: bool = False, path: str | None = None) -> str | None:
    value = body.get(key)
    name = path or key
    if value is None:
        if required:
            raise InvalidRequest(f"Missing required parameter: '{name}'.", name)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"Invalid type for '{name}': expected a string.", name)
    if required and not value:
        raise InvalidRequest(f"'{name}' must not be empty.", name)
    return value


def integer(
    body: dict[str, Any], key: str, *, minimum: int | None = None, maximum: int | None = None,
    required: bool = False, path: str | None = None,
) -> int | None:  # fmt: skip
    value = body.get(key)
    name = path or key
    if value is None:
        if required:
            raise InvalidRequest(f"Missing required parameter: '{name}'.", name)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"Invalid type for '{name}': expected an integer.", name)
    if minimum is not None and value < minimum:
        raise InvalidRequest(f"'{name}' must be at least {minimum}.", name)
    if maximum is not None and value > maximum:
        raise InvalidRequest(f"'{name}' must be at most {maximum}.", name)
    return value


def number(body: dict[str, Any], key: str, *, minimum: float, maximum: float, path: str | None = None) -> None:
    value = body.get(key)
    name = path or key
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequest(f"Invalid type for '{name}': expected a number.", name)
    if not minimum <= value <= maximum:
        raise InvalidRequest(f"'{name}' must be between {minimum:g} and {maximum:g}.", name)


def boolean(body: dict[str, Any], key: str, *, path: str | None = None) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        name = path or key
        raise InvalidRequest(f"Invalid type for '{name}': expected a boolean.", name)
    return value


def array(body: dict[str, Any], key: str, *, required: bool = False, non_empty: bool = False) -> list[Any]:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"Missing required parameter: '{key}'.", key)
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"Invalid type for '{key}': expected an array.", key)
    if non_empty and not value:
        raise InvalidRequest(f"'{key}' must not be empty.", key)
    return value


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"Invalid type for '{path}': expected an object.", path)
    return value


def optional_obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return {} if value is None else obj(value, key)


def string_list(body: dict[str, Any], key: str, *, max_items: int = 64, path: str | None = None) -> tuple[str, ...]:
    """A string or a list of strings (as ``stop`` allows); empty when absent."""
    value = body.get(key)
    name = path or key
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"Invalid type for '{name}': expected a string or an array of strings.", name)
    if len(value) > max_items:
        raise InvalidRequest(f"'{name}' accepts at most {max_items} items.", name)
    return tuple(value)


def one_of(body: dict[str, Any], key: str, allowed: frozenset[str], *, path: str | None = None) -> str | None:
    value = string(body, key, path=path)
    if value is not None and value not in allowed:
        name = path or key
        raise InvalidRequest(f"Invalid value for '{name}': expected one of {', '.join(sorted(allowed))}.", name)
    return value
