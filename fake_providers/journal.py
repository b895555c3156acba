"""The request journal: every request the fake received and what it answered (no I/O).

An entry is opened when a request arrives (so a hanging request is visible) and completed when
its response ends. Credential headers (``authorization``, ``x-api-key``, ``x-goog-api-key``,
``api-key``, ``cookie``, ``proxy-authorization``) and the ``key`` query parameter are replaced by
``sha256:<12 hex>`` of their value: the journal never reveals a key but still tells keys apart.
Memory is bounded three ways: the journal is a ring of the newest ``capacity`` entries; a body
longer than ``body_limit`` bytes is kept as the text of its head followed by a truncation marker
(``body_truncated`` and ``body_bytes`` say so on the entry); and the kept bodies together stay
under ``body_budget`` bytes. Entries leave oldest first and are counted in ``dropped``, so a
reader knows its view is partial. ``page`` reads the journal in
sequence order from a cursor, so no answer has to hold the whole ring at once.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections import deque
from itertools import islice
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final

from fake_providers.wire import Summary

SECRET_HEADERS: Final = frozenset(
    {"authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "proxy-authorization"}
)
SECRET_QUERY: Final = frozenset({"key"})
MAX_TEXT_BODY: Final = 1 << 20
DEFAULT_BODY_LIMIT: Final = 64 << 10
DEFAULT_BODY_BUDGET: Final = 64 << 20
DEFAULT_PAGE: Final = 1000
MAX_PAGE: Final = 10_000
_SUMMARY_FIELDS: Final = tuple(f.name for f in fields(Summary))


def mask(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:12]


def masked_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased header names; repeated headers joined by ``, ``; secrets masked."""
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        shown = mask(value) if key in SECRET_HEADERS else value
        out[key] = f"{out[key]}, {shown}" if key in out else shown
    return out


def masked_query(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k: (mask(v) if k in SECRET_QUERY else v) for k, v in items}


def truncation_marker(size: int, kept: int) -> str:
    return f"\u2026[journal: body truncated, {size} bytes, first {kept} kept]"


def body_value(raw: bytes, limit: int = MAX_TEXT_BODY) -> Any:
    """The body as parsed JSON when it is JSON, else as text; past ``limit`` bytes, the text of
    its head plus a truncation marker (never parsed: a huge body is not worth the memory)."""
    if not raw:
        return None
    if len(raw) > limit:
        return raw[:limit].decode("utf-8", "replace") + truncation_marker(len(raw), limit)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw[:MAX_TEXT_BODY].decode("utf-8", "replace")


@dataclass(slots=True)
class Entry:
    seq: int
    time_ns: int
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    provider: str | None = None
    endpoint: str | None = None
    model: str | None = None
    stream: bool = False
    request_id: str | None = None
    behaviour: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    done: bool = False

    def complete(self, summary: Summary, outcome: str, timing: Mapping[str, Any]) -> None:
        # A shallow view: the summary is built per request and never changed afterwards, and
        # asdict's deep copy cost more than the rest of the answer on the hot path.
        fields_ = {name: getattr(summary, name) for name in _SUMMARY_FIELDS}
        self.response = {**fields_, "outcome": outcome, **timing}
        self.done = True

    body_bytes: int = 0
    body_truncated: bool = False

    def set_body(self, raw: bytes, limit: int) -> int:
        """Keep the body (truncated past ``limit``); returns the bytes kept."""
        self.body = body_value(raw, limit)
        self.body_bytes = len(raw)
        self.body_truncated = len(raw) > limit
        return min(len(raw), limit)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time_ns": self.time_ns, "method": self.method, "path": self.path,
            "query": self.query, "headers": self.headers, "body": self.body, "provider": self.provider,
            "endpoint": self.endpoint, "model": self.model, "stream": self.stream,
            "request_id": self.request_id, "behaviour": self.behaviour, "response": self.response,
            "done": self.done, "body_bytes": self.body_bytes, "body_truncated": self.body_truncated,
        }  # fmt: skip


@dataclass
class Journal:
    capacity: int = 10_000
    body_limit: int = DEFAULT_BODY_LIMIT
    body_budget: int = DEFAULT_BODY_BUDGET
    entries: deque[Entry] = field(default_factory=deque)
    dropped: int = 0
    last_seq: int = 0
    body_total: int = 0
    """Body bytes kept by the entries held."""

    @property
    def first_seq(self) -> int:
        """The oldest seq still held (``last_seq + 1`` when empty)."""
        return self.entries[0].seq if self.entries else self.last_seq + 1

    def open(self, **fields: Any) -> Entry:
        self.last_seq += 1
        entry = Entry(seq=self.last_seq, **fields)
        self.entries.append(entry)
        self._trim()
        return entry

    def set_body(self, entry: Entry, raw: bytes) -> None:
        kept = entry.set_body(raw, self.body_limit)
        if entry.seq >= self.first_seq:  # an entry already dropped no longer counts
            self.body_total += kept
            self._trim()

    def _trim(self) -> None:
        # The newest entry always stays, so the request being served is visible.
        while len(self.entries) > 1 and (len(self.entries) > self.capacity or self.body_total > self.body_budget):
            gone = self.entries.popleft()
            self.body_total -= min(gone.body_bytes, self.body_limit)
            self.dropped += 1

    def clear(self) -> None:
        self.entries.clear()
        self.dropped = 0
        self.body_total = 0

    def page(self, *, since: int = 0, limit: int = DEFAULT_PAGE, model: str | None = None,
             provider: str | None = None, path: str | None = None) -> tuple[list[Entry], int | None]:
        """Up to ``limit`` matching entries after ``since``, oldest first, and the cursor to pass
        as ``since`` for the next page (None once nothing more is held)."""
        # Seqs are contiguous in the ring, so the first candidate's index is arithmetic.
        start = max(0, since + 1 - self.first_seq)
        out: list[Entry] = []
        for e in islice(self.entries, start, None):
            if len(out) == limit:
                return out, out[-1].seq
            if ((model is None or (e.model is not None and fnmatch.fnmatchcase(e.model, model)))
                    and (provider is None or e.provider == provider)
                    and (path is None or fnmatch.fnmatchcase(e.path, path))):
                out.append(e)
        return out, None
