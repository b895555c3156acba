"""Canaries the fake providers echo and plant (pure; SPEC section 4, "Canary method").

A canary is ``CNRY-<SLOT>-<20 lowercase hex>`` with SLOT in upper-case letters. The fake:

- echoes every distinct canary found in the prompt (messages, system prompt, tool definitions...),
  in order of first appearance, into each completion text (at most ``MAX_ECHOES``);
- plants its own ``OUT`` canary at the start of each completion text, ``OTC`` in the tool-call
  arguments it emits, and ``ERR`` in every error message it writes (which also echoes each
  ``USR`` canary found anywhere in the request body).

The hex of the fake's own canaries is the first 20 characters of a SHA-256 (see ``derive``), so the
same request always carries the same canaries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

CANARY_RE: Final = re.compile(r"CNRY-[A-Z]+-[0-9a-f]{20}")
HEX_CHARS: Final = 20
MAX_ECHOES: Final = 64


def derive(slot: str, *parts: str) -> str:
    """``CNRY-<slot>-`` plus the first 20 hex characters of sha256 of ``parts`` joined by ``|``."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()
    return f"CNRY-{slot}-{digest[:HEX_CHARS]}"


def derive_from_bytes(slot: str, data: bytes) -> str:
    """A canary whose hex is the first 20 characters of sha256 of ``data``."""
    return f"CNRY-{slot}-{hashlib.sha256(data).hexdigest()[:HEX_CHARS]}"


def find(texts: Iterable[str]) -> list[str]:
    """Distinct canaries in ``texts``, in order of first appearance (capped at MAX_ECHOES)."""
    seen: dict[str, None] = {}
    for text in texts:
        for match in CANARY_RE.finditer(text):
            seen.setdefault(match.group(0), None)
            if len(seen) >= MAX_ECHOES:
                return list(seen)
    return list(seen)


def find_slot(text: str, slot: str) -> list[str]:
    """Distinct canaries of one slot in ``text``, in order of first appearance."""
    return [c for c in find([text]) if c.split("-", 2)[1] == slot]


def split_offset(text: str, canary: str) -> int | None:
    """Offset in ``text`` between the two 10-character halves of ``canary``'s hex, if present."""
    at = text.find(canary)
    if at < 0:
        return None
    return at + len(canary) - HEX_CHARS // 2


def fragments(canary: str) -> tuple[str, str]:
    """The two registered fragments of a canary that the fake splits across stream chunks."""
    hex_part = canary[-HEX_CHARS:]
    return hex_part[: HEX_CHARS // 2], hex_part[HEX_CHARS // 2 :]
