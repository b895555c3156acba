"""Strict reading of one YAML mapping with errors that name the file, the key path and what was
expected (pure). Used by the scenario and profile loaders.

``Fields(data, file, path)`` wraps a mapping; each typed getter validates one key and raises
``ScenarioError`` with ``file: path.key: expected ..., got ...``. ``done()`` refuses keys no
getter asked for, so an unknown (misspelt) key never passes silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from testbed.errors import ConfigError

_MISSING: Any = object()


class ScenarioError(ConfigError):
    """A scenario or profile file is invalid; the message names the file, the key path and what
    was expected."""

    def __init__(self, file: str, path: str, message: str) -> None:
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.path = path
        self.detail = message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


class Fields:
    """One mapping being read; every getter records the key as known."""

    def __init__(self, data: Any, file: str, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(file, path or "(top level)", f"expected a mapping, got {type_name(data)}")
        self.data = data
        self.file = file
        self.path = path
        self._seen: set[str] = set()

    def at(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.file, self.at(key), message)

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _MISSING:
            raise self.error(key, "required key is missing")
        return default

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def str(self, key: str, default: Any = _MISSING, choices: Iterable[str] | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value:
            raise self.error(key, f"expected a non-empty string, got {type_name(value)}")
        if choices is not None and value not in set(choices):
            raise self.error(key, f"expected one of {', '.join(sorted(choices))}; got {_show(value)}")
        return value

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {type_name(value)} {_show(value)}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, minimum: float = 0.0,
               exclusive: bool = False, maximum: float | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        return check_number(value, self.file, self.at(key), minimum=minimum, exclusive=exclusive,
                            maximum=maximum)

    def int(self, key: str, default: Any = _MISSING, *, minimum: int = 0, maximum: int | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {type_name(value)} {_show(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
            raise self.error(key, f"expected an integer {bound}, got {value}")
        return value

    def list(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {type_name(value)}")
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, Mapping):
            raise self.error(key, f"expected a mapping, got {type_name(value)}")
        return value

    def sub(self, key: str) -> Fields:
        """The mapping under ``key`` (empty when absent) as its own Fields."""
        return Fields(self.mapping(key, {}), self.file, self.at(key))

    def done(self, also_allowed: Iterable[str] = ()) -> None:
        unknown = sorted(set(map(str, self.data)) - self._seen - set(also_allowed))
        if unknown:
            allowed = ", ".join(sorted(self._seen | set(also_allowed)))
            raise self.error(unknown[0], f"unknown key (allowed here: {allowed})")


def check_number(value: Any, file: str, path: str, *, minimum: float = 0.0, exclusive: bool = False,
                 maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScenarioError(file, path, f"expected a number, got {type_name(value)} {_show(value)}")
    low_ok = value > minimum if exclusive else value >= minimum
    if not low_ok or (maximum is not None and value > maximum):
        bound = f"{'>' if exclusive else '>='} {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
        raise ScenarioError(file, path, f"expected a number {bound}, got {value:g}")
    return float(value)
