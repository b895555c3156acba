"""OTLP JSON (SPEC OTLP-03) to protobuf messages, walking the message descriptors.

``google.protobuf.json_format`` does not follow the OTLP JSON rules (it wants base64 ids and
accepts snake_case keys), so this converter does:

- keys are the lowerCamelCase JSON names; anything else, snake_case included, is an unknown field
  and is ignored;
- ``traceId``, ``spanId`` and ``parentSpanId`` are hex (any case); other bytes fields are base64;
- 64-bit integers are decimal strings, plain numbers are accepted too;
- enums are integers; a name string is accepted leniently and reported in ``lenient``;
- ``null`` means the field is absent.

Pure: raises :class:`JsonDecodeError` with the path of the offending value.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from testbed.safe_json import loads_body

HEX_FIELDS: Final = frozenset({"trace_id", "span_id", "parent_span_id"})
_INT64_TYPES: Final = frozenset({
    FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_SINT64,
})
_INT32_TYPES: Final = frozenset({
    FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_SFIXED32, FieldDescriptor.TYPE_SINT32,
})
_FLOAT_TYPES: Final = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})
_URLSAFE_TO_STANDARD: Final = str.maketrans("-_", "+/")
_SPECIAL_FLOATS: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class JsonDecodeError(ValueError):
    """The body is not OTLP JSON; the message names the path of the bad value."""


def parse_json(body: bytes, message: Message, lenient: list[str]) -> Message:
    """Fill ``message`` from an OTLP JSON ``body``; lenient acceptances are appended to ``lenient``."""
    try:
        doc = loads_body(body)
        if not isinstance(doc, dict):
            raise JsonDecodeError("body is not a JSON object")
        _fill(message, doc, "$", lenient)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonDecodeError(f"body is not OTLP JSON: {exc}") from None
    except RecursionError:
        raise JsonDecodeError("body nests too deeply") from None
    return message


def _fill(message: Message, doc: dict[str, Any], path: str, lenient: list[str]) -> None:
    fields = message.DESCRIPTOR.fields_by_camelcase_name
    for key, value in doc.items():
        field = fields.get(key)
        if field is None or value is None or field.json_name != key:
            continue  # unknown fields MUST be ignored (OTLP-03)
        where = f"{path}.{key}"
        if field.is_repeated:
            if not isinstance(value, list):
                raise JsonDecodeError(f"{where}: expected an array")
            target = getattr(message, field.name)
            for i, item in enumerate(value):
                item_path = f"{where}[{i}]"
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    _fill(target.add(), _object(item, item_path), item_path, lenient)
                else:
                    target.append(_scalar(field, item, item_path, lenient))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            sub = getattr(message, field.name)
            sub.SetInParent()
            _fill(sub, _object(value, where), where, lenient)
        else:
            setattr(message, field.name, _scalar(field, value, where, lenient))


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise JsonDecodeError(f"{where}: expected an object")
    return value


def _scalar(field: FieldDescriptor, value: Any, where: str, lenient: list[str]) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise JsonDecodeError(f"{where}: expected a string")
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise JsonDecodeError(f"{where}: expected true or false")
        return value
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes(field, value, where)
    if kind == FieldDescriptor.TYPE_ENUM:
        return _enum(field, value, where, lenient)
    if kind in _FLOAT_TYPES:
        return _float(value, where)
    if kind in _INT64_TYPES or kind in _INT32_TYPES:
        return _int(field, value, where)
    raise JsonDecodeError(f"{where}: unsupported field type")


def _bytes(field: FieldDescriptor, value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise JsonDecodeError(f"{where}: expected a string")
    if field.name in HEX_FIELDS:
        try:
            return bytes.fromhex(value)
        except ValueError:
            raise JsonDecodeError(f"{where}: ids are hex strings (OTLP-03)") from None
    try:
        standard = value.translate(_URLSAFE_TO_STANDARD)
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise JsonDecodeError(f"{where}: bytes are base64") from None


def _enum(field: FieldDescriptor, value: Any, where: str, lenient: list[str]) -> int:
    if isinstance(value, bool):
        raise JsonDecodeError(f"{where}: expected an integer enum")
    if isinstance(value, int):
        return _check_range(value, -(2**31), 2**31 - 1, where)
    if isinstance(value, str):
        number = field.enum_type.values_by_name.get(value)
        if number is not None:
            lenient.append(f"{where}: enum as name {value!r} (OTLP-03 wants integers)")
            return int(number.number)
    raise JsonDecodeError(f"{where}: expected an integer enum")


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise JsonDecodeError(f"{where}: expected a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise JsonDecodeError(f"{where}: expected a number")


def _int(field: FieldDescriptor, value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise JsonDecodeError(f"{where}: expected an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip(), 10)
        except ValueError:
            raise JsonDecodeError(f"{where}: expected a decimal integer string") from None
    if not isinstance(value, int):
        raise JsonDecodeError(f"{where}: expected an integer")
    unsigned = field.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64,
                              FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32)
    bits = 64 if field.type in _INT64_TYPES else 32
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return _check_range(value, low, high, where)


def _check_range(value: int, low: int, high: int, where: str) -> int:
    if not low <= value <= high:
        raise JsonDecodeError(f"{where}: integer out of range")
    return value


def to_otlp_json(message: Message) -> dict[str, Any]:
    """The OTLP JSON form of a message (hex ids, integer enums, int64 as strings); for tests and tools."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.is_repeated:
            out[field.json_name] = [_json_value(field, v) for v in value]
        else:
            out[field.json_name] = _json_value(field, value)
    return out


def _json_value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return to_otlp_json(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return value.hex() if field.name in HEX_FIELDS else base64.b64encode(value).decode("ascii")
    if field.type in _INT64_TYPES:
        return str(value)
    if field.type in _FLOAT_TYPES and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
