"""W3C Trace Context parsing (Level 2) used by the propagation and correlation checks.

``parse_traceparent`` returns None for every header the spec calls invalid (PROP-06): version
``ff`` or unparseable, non-lowercase or non-hex characters, wrong lengths, all-zero ids. A higher
version is parsed by the ``00`` rules (extra fields after a dash are allowed there only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True, slots=True)
class TraceParent:
    version: str
    trace_id: str
    parent_id: str
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def random(self) -> bool:
        return bool(self.flags & 0x02)


def parse_traceparent(header: str | None) -> TraceParent | None:
    if not header:
        return None
    parts = header.strip().split("-")
    if len(parts) < 4:
        return None
    version, trace_id, parent_id, flags = parts[:4]
    if len(version) != 2 or not _HEX.match(version) or version == "ff":
        return None
    if version == "00" and len(parts) != 4:
        return None
    if len(trace_id) != 32 or len(parent_id) != 16 or len(flags) != 2:
        return None
    if not all(_HEX.match(p) for p in (trace_id, parent_id, flags)):
        return None
    if set(trace_id) == {"0"} or set(parent_id) == {"0"}:
        return None
    return TraceParent(version, trace_id, parent_id, int(flags, 16))


def parse_tracestate(header: str | None) -> list[tuple[str, str]]:
    """Members in order, left first; empty members are skipped as the spec allows."""
    if not header:
        return []
    out: list[tuple[str, str]] = []
    for member in header.split(","):
        member = member.strip()
        if not member:
            continue
        key, _, value = member.partition("=")
        out.append((key.strip(), value.strip()))
    return out
