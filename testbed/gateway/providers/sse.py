"""Incremental Server-Sent Events decoding, line by line (pure).

Handles ``\\n``, ``\\r\\n`` and ``\\r`` line ends, comment lines (``: keep-alive``), ``event:``
names and multi-line ``data:``. An event is dispatched on the blank line that ends it; a final
event without its blank line is flushed by :meth:`SseDecoder.flush` when the body ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str | None
    data: bytes


@dataclass(slots=True)
class SseDecoder:
    _event: str | None = None
    _data: list[bytes] = field(default_factory=list)

    def feed_line(self, line: bytes) -> SseEvent | None:
        """Feed one line (with or without its line end); return an event when one completes."""
        line = line.rstrip(b"\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(b":"):
            return None
        name, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        return None

    def flush(self) -> SseEvent | None:
        return self._dispatch()

    def _dispatch(self) -> SseEvent | None:
        if not self._data and self._event is None:
            return None
        event = SseEvent(self._event, b"\n".join(self._data))
        self._event = None
        self._data = []
        return event
