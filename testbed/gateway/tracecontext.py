"""W3C Trace Context (Level 2) for the gateway: parse the inbound headers, decide the request's
trace, and format the outbound ``traceparent`` per upstream attempt (SPEC 3.3, PROP-01..08).

Pure: ids come from an injectable ``random_bytes`` (``os.urandom`` by default).

- A valid inbound ``traceparent`` is continued: same trace-id, the inbound parent-id becomes the
  SERVER span's remote parent (PROP-01/02), the sampled and random flags are kept and the
  undefined flag bits cleared (PROP-04), ``tracestate`` is passed on unchanged (PROP-05).
- An invalid or absent one starts a new trace, with no remote parent and no ``tracestate``
  (PROP-06/07). A version above ``00`` is parsed by the ``00`` rules and sent on as ``00``.
- Restart mode (PROP-08) always starts a new trace and keeps the inbound context as a link.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

_HEX_RE: Final = re.compile(r"\A[0-9a-f]+\Z")
DEFINED_FLAGS: Final = 0x03
"""Sampled (0x01) and random trace-id (0x02): the only flags Level 2 defines."""
NEW_TRACE_FLAGS: Final = 0x03
"""A trace the gateway starts is sampled, and its trace-id is random."""
MAX_TRACESTATE_MEMBERS: Final = 32

RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class TraceParent:
    trace_id: str
    parent_id: str
    flags: int


@dataclass(frozen=True, slots=True)
class TraceDecision:
    """The trace of one inbound request."""

    trace_id: str
    parent_span_id: str | None
    flags: int
    tracestate: str | None
    link: dict[str, str] | None = None


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and _HEX_RE.match(value) is not None


def parse_traceparent(header: str | None) -> TraceParent | None:
    """The parsed header, or None when it is absent or invalid (PROP-06)."""
    if not header:
        return None
    value = header.strip()
    version = value[:2]
    if not _is_hex(version, 2) or version == "ff":
        return None
    if version == "00":
        if len(value) != 55:
            return None
    elif len(value) < 55 or (len(value) > 55 and value[55] != "-"):
        return None
    parts = value[:55].split("-")
    if len(parts) != 4 or len(value[:55]) != 55:
        return None
    _, trace_id, parent_id, flags = parts
    if not (_is_hex(trace_id, 32) and _is_hex(parent_id, 16) and _is_hex(flags, 2)):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return TraceParent(trace_id=trace_id, parent_id=parent_id, flags=int(flags, 16))


def clean_tracestate(headers: list[str]) -> str | None:
    """The combined ``tracestate`` to pass on unchanged, or None when it is empty or malformed.

    Malformed means a member without ``key=value``, a duplicate key, or more than 32 members;
    the W3C processing model lets a vendor discard such a header rather than repair it.
    """
    combined = ",".join(h for h in headers if h is not None)
    members = [m.strip() for m in combined.split(",") if m.strip()]
    if not members or len(members) > MAX_TRACESTATE_MEMBERS:
        return None
    keys: set[str] = set()
    for member in members:
        key, sep, val = member.partition("=")
        if not sep or not key or not val or key in keys or " " in key:
            return None
        keys.add(key)
    return combined.strip()


def new_id(nbytes: int, random_bytes: RandomBytes = os.urandom) -> str:
    """A random lowercase-hex id of ``nbytes`` bytes that is never all zero."""
    while True:
        raw = random_bytes(nbytes)
        if any(raw):
            return raw.hex()


def new_span_id(random_bytes: RandomBytes = os.urandom) -> str:
    return new_id(8, random_bytes)


def decide(
    traceparent: str | None,
    tracestate: list[str],
    *,
    restart: bool = False,
    random_bytes: RandomBytes = os.urandom,
) -> TraceDecision:
    """The trace for one request from its inbound headers."""
    parent = parse_traceparent(traceparent)
    if parent is None:
        return TraceDecision(new_id(16, random_bytes), None, NEW_TRACE_FLAGS, None)
    if restart:
        link = {"trace_id": parent.trace_id, "span_id": parent.parent_id}
        return TraceDecision(new_id(16, random_bytes), None, NEW_TRACE_FLAGS, None, link)
    return TraceDecision(
        trace_id=parent.trace_id,
        parent_span_id=parent.parent_id,
        flags=parent.flags & DEFINED_FLAGS,
        tracestate=clean_tracestate(tracestate),
    )


def format_traceparent(trace_id: str, span_id: str, flags: int) -> str:
    """The outbound header: always version ``00``, parent-id = the attempt's CLIENT span (PROP-03)."""
    return f"00-{trace_id}-{span_id}-{flags:02x}"
