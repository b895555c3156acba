"""Find a canary string in stored request bytes, raw or base64-encoded (SPEC 4, "Canary method").

A base64 encoder aligns its input on 3-byte groups, so a needle inside base64 text looks different
depending on its offset modulo 3. For each alignment the characters that depend only on the needle
are computed; finding them means the needle was there. Standard and URL-safe alphabets are both
searched. Pure.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

_MIN_B64_NEEDLE: Final = 4


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence: which request, where (``body`` or ``header:<name>``), how, and the byte offset."""

    request_id: int
    where: str
    encoding: str
    offset: int

    def to_dict(self) -> dict[str, object]:
        return {"request_id": self.request_id, "where": self.where, "encoding": self.encoding, "offset": self.offset}


def base64_forms(needle: bytes) -> list[tuple[str, bytes]]:
    """The needle-only parts of its base64 encodings at byte alignments 0, 1 and 2, both alphabets."""
    forms: list[tuple[str, bytes]] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + needle)
        first = -(-8 * shift // 6)  # the first character made only of needle bits
        last = (8 * (shift + len(needle))) // 6  # characters from here on mix in padding bits
        core = encoded[first:last]
        if len(core) >= _MIN_B64_NEEDLE:
            forms.append((f"base64/{shift}", core))
            urlsafe = core.translate(bytes.maketrans(b"+/", b"-_"))
            if urlsafe != core:
                forms.append((f"base64url/{shift}", urlsafe))
    return forms


def _find_all(haystack: bytes, needle: bytes) -> Iterable[int]:
    start = haystack.find(needle)
    while start != -1:
        yield start
        start = haystack.find(needle, start + 1)


def search(needle: bytes, request_id: int, body: bytes | None, headers: Iterable[tuple[str, str]]) -> list[Hit]:
    """Every hit of ``needle`` in one request's decoded body and headers."""
    if not needle:
        return []
    patterns = [("raw", needle), *base64_forms(needle)]
    hits: list[Hit] = []
    places: list[tuple[str, bytes]] = [("body", body or b"")]
    places += [(f"header:{name.lower()}", value.encode("utf-8", "surrogateescape")) for name, value in headers]
    for where, data in places:
        for encoding, pattern in patterns:
            hits.extend(Hit(request_id, where, encoding, offset) for offset in _find_all(data, pattern))
    return hits
