"""Span records: the exporter's protocol-neutral span values, between mapping and encoding.

Attribute values are Python values whose type *is* the OTLP type (SEM-12): ``str`` ->
``stringValue``, ``bool`` -> ``boolValue``, ``int`` -> ``intValue``, ``float`` -> ``doubleValue``,
a list of one of these -> ``arrayValue``. The mapping chooses the Python type, the encoder follows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Union

AttrScalar = Union[str, bool, int, float]
AttrValue = Union[AttrScalar, list[str], list[int], list[float], list[bool]]
Attributes = dict[str, AttrValue]

KIND_INTERNAL: Final = 1
KIND_SERVER: Final = 2
KIND_CLIENT: Final = 3

STATUS_UNSET: Final = 0
STATUS_OK: Final = 1
STATUS_ERROR: Final = 2


@dataclass(frozen=True, slots=True)
class Scope:
    """The instrumentation scope every gateway span is grouped under (OTLP-16)."""

    name: str
    version: str = ""


@dataclass(frozen=True, slots=True)
class SpanLink:
    trace_id: str
    span_id: str
    trace_state: str | None = None


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One span, ready to encode. Ids are lowercase hex; times are Unix-epoch nanoseconds."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    resource: Attributes
    scope: Scope
    attributes: Attributes = field(default_factory=dict)
    status_code: int = STATUS_UNSET
    status_message: str = ""
    links: tuple[SpanLink, ...] = ()
    trace_state: str | None = None
    flags: int | None = None
    """W3C trace flags (low byte of the OTLP ``flags`` field); None leaves the field unset."""
