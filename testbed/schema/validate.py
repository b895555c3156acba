"""One way to turn a mapping read from a YAML or JSON file into a model, or a :class:`SchemaError`.

Pydantic's errors are reworded into the project's voice: the key path as the file spells it
(``workload.mix[2].model``), what was expected, what was found, and for an unknown key the
nearest known keys of that mapping. When a key is misspelt pydantic reports both the unknown key
and the required key it should have been; the unknown key comes first, since it is the cause.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from testbed.schema.errors import KeyPathError, SchemaError, join_path

__all__ = ["load_file", "validate"]

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: Any, file: str, *, path: str = "",
             context: Mapping[str, Any] | None = None) -> M:
    """``data`` as a ``model``; raises :class:`SchemaError` naming ``file`` and the key path.

    ``path`` is where ``data`` sits in its file when it is only a part of it; ``context`` reaches
    the model's validators (pydantic's validation context)."""
    try:
        return model.model_validate(data, context=dict(context or {}))
    except ValidationError as exc:
        problems = sorted(_causes(exc.errors(include_url=False)), key=lambda e: e["type"] != "extra_forbidden")
        lines = [_describe(model, data, problem, path) for problem in problems]
        first_path, first_detail = lines[0]
        first_path = first_path or "(top level)"
        more = tuple(f"{p}: {d}" if p else d for p, d in lines[1:])
        raise SchemaError(file, first_path, first_detail, more) from None


def load_file(model: type[M], file: str | Path, *, context: Mapping[str, Any] | None = None) -> M:
    """Read a YAML (or JSON) file and validate it; unreadable or unparsable files are
    :class:`SchemaError` too, so callers catch one type."""
    name = str(file)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(name, "", f"cannot read the file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise SchemaError(name, where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    return validate(model, data if data is not None else {}, name, context=context)


def _causes(problems: list[Any]) -> list[Any]:
    """Drop a list's "too short" when its items have errors: pydantic counts only the valid ones."""
    locs = [tuple(p["loc"]) for p in problems]
    return [p for p in problems
            if p["type"] != "too_short" or not any(len(o) > len(p["loc"]) and o[:len(p["loc"])] == tuple(p["loc"])
                                                   for o in locs)]


def _describe(model: type[BaseModel], data: Any, problem: Mapping[str, Any], base: str) -> tuple[str, str]:
    keys = _keys_in_data(data, problem["loc"], keep_last=problem["type"] in ("missing", "extra_forbidden"))
    where = base
    for key in keys:
        where = join_path(where, key)
    kind, value, ctx = problem["type"], problem.get("input"), problem.get("ctx") or {}
    error = ctx.get("error")
    if isinstance(error, KeyPathError):
        return _extend(where, error.path), error.message
    if kind == "extra_forbidden":
        return where, _unknown_key(str(keys[-1]), _known_keys(model, keys[:-1], _node(data, keys[:-1])))
    if kind == "missing":
        return where, "required key is missing"
    return where, _expected(kind, value, ctx, problem["msg"])


def _extend(where: str, relative: str) -> str:
    if not relative:
        return where
    if relative.startswith("[") or not where:
        return where + relative
    return f"{where}.{relative}"


def _keys_in_data(data: Any, loc: Sequence[Any], *, keep_last: bool) -> list[str | int]:
    """The parts of ``loc`` that are keys of the file; pydantic adds union members' names
    (``StatusFault``, ``function-after[...]``) that the user never wrote."""
    keys: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, Mapping) and part in node:
            keys.append(part)
            node = node[part]
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(part, int) \
                and 0 <= part < len(node):
            keys.append(part)
            node = node[part]
        elif last and keep_last:
            keys.append(part)
    return keys


def _node(data: Any, keys: Sequence[str | int]) -> Any:
    for key in keys:
        data = data[key]
    return data


def _unknown_key(key: str, known: list[str]) -> str:
    text = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        text += f"; did you mean {close[0]!r}?"
    if known:
        text += f" (allowed here: {', '.join(sorted(known))})"
    return text


def _known_keys(model: type[BaseModel], keys: Sequence[str | int], node: Any) -> list[str]:
    """The keys the file may use in the mapping at ``keys``, found by walking the model's types;
    of a union's members, those whose ``Literal`` fields agree with the mapping (its ``kind``)."""
    current: list[Any] = [model]
    for key in keys:
        nxt: list[Any] = []
        for tp in _members(current):
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                for name, field in tp.model_fields.items():
                    if key in (name, field.alias):
                        nxt.append(field.annotation)
            elif typing.get_origin(tp) in (list, tuple, set, frozenset) or _is_sequence(tp):
                args = [a for a in typing.get_args(tp) if a is not Ellipsis]
                nxt.extend(args[key:key + 1] if typing.get_origin(tp) is tuple and len(args) > 1
                           and isinstance(key, int) else args)
            elif typing.get_origin(tp) in (dict, Mapping) or _is_mapping(tp):
                nxt.extend(typing.get_args(tp)[1:2])
        current = nxt
    models = [tp for tp in _members(current) if isinstance(tp, type) and issubclass(tp, BaseModel)]
    agreeing = [m for m in models if _agrees(m, node)]
    names: set[str] = set()
    for m in agreeing or models:
        names.update(field.alias or name for name, field in m.model_fields.items())
    return sorted(names)


def _agrees(model: type[BaseModel], node: Any) -> bool:
    if not isinstance(node, Mapping):
        return True
    for name, field in model.model_fields.items():
        key = field.alias or name
        if typing.get_origin(field.annotation) is typing.Literal and key in node \
                and node[key] not in typing.get_args(field.annotation):
            return False
    return True


def _members(types_: list[Any]) -> list[Any]:
    """Unwrap Annotated, Optional and unions down to the concrete types."""
    out: list[Any] = []
    stack = list(types_)
    while stack:
        tp = stack.pop()
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            stack.append(typing.get_args(tp)[0])
        elif origin is typing.Union or origin is types.UnionType:
            stack.extend(typing.get_args(tp))
        else:
            out.append(tp)
    return out


def _is_sequence(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return isinstance(origin, type) and issubclass(origin, Sequence) and not issubclass(origin, str)


def _is_mapping(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return isinstance(origin, type) and issubclass(origin, Mapping)


_KINDS: dict[str, str] = {
    "string_type": "a string", "int_type": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "bool_type": "true or false", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "list_type": "a list",
    "tuple_type": "a list", "set_type": "a list", "finite_number": "a finite number",
    "string_too_short": "a non-empty string",
}
_BOUNDS: dict[str, str] = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
                           "less_than_equal": "<="}


def _expected(kind: str, value: Any, ctx: Mapping[str, Any], msg: str) -> str:
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()), "?")
        limit = f"{limit:g}" if isinstance(limit, (int, float)) else limit
        return f"expected a value {_BOUNDS[kind]} {limit}, got {_show(value)}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"expected at least {'one item' if least == 1 else f'{least} items'}, got {ctx.get('actual_length', 0)}"
    if kind in ("literal_error", "enum"):
        return f"expected one of {ctx.get('expected', '?')}; got {_show(value)}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind in _KINDS:
        return f"expected {_KINDS[kind]}, got {type_name(value)} {_show(value)}".rstrip()
    return f"{msg[:1].lower()}{msg[1:]}, got {_show(value)}"


def type_name(value: Any) -> str:
    """How a YAML value's type is named in messages."""
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
