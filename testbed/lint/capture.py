"""Reading saved OTLP trace captures into spans, pure apart from reading the files.

A capture is any of: an OTLP/HTTP ``ExportTraceServiceRequest`` body in protobuf or OTLP JSON,
gzip-compressed or not; a JSON-lines file of such JSON bodies (what a collector's file exporter
writes); or a dump of the fake ingest's query API (``GET /api/v1/spans`` or ``/api/v1/traces/{id}``,
a ``{"spans": [...]}`` object). A directory stands for every file under it, in name order.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_middleware.otlp import Encoding, Signal, Undecodable, decode, extract_spans
from testbed.checks.evidence import SpanView
from testbed.errors import ConfigError
from testbed.runner.collect import span_view

_GZIP_MAGIC = b"\x1f\x8b"


class CaptureError(ConfigError):
    """A capture that cannot be read or decoded; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class Capture:
    """The spans of one file, with the decoded bytes kept for the raw secret scan."""

    path: str
    form: str
    spans: tuple[SpanView, ...]
    raw: bytes


def capture_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every file named, or under a named directory (sorted); a missing path is an error."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
        elif p.is_file():
            out.append(p)
        else:
            raise CaptureError(f"{p}: no such file or directory")
    if not out:
        raise CaptureError("no capture file given")
    return out


def read_capture(path: Path) -> Capture:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_capture(data, str(path))


def parse_capture(data: bytes, name: str) -> Capture:
    """Decode one capture's bytes; the form is told by content, not by the file name."""
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CaptureError(f"{name}: broken gzip data ({exc})") from None
    text = data.lstrip()[:1]
    if text in (b"{", b"["):
        form, spans = _json_capture(data, name)
    else:
        form, spans = "otlp-protobuf", _otlp(Encoding.PROTOBUF, data, name)
    return Capture(name, form, tuple(spans), data)


def _json_capture(data: bytes, name: str) -> tuple[str, list[SpanView]]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return "otlp-json-lines", [s for line in _lines(data) for s in _otlp(Encoding.JSON, line, name)]
    if isinstance(doc, dict) and isinstance(doc.get("spans"), list):
        return "ingest-dump", [_dumped(d, name) for d in doc["spans"]]
    if isinstance(doc, list):
        return "otlp-json", [s for item in doc for s in _otlp(Encoding.JSON, json.dumps(item).encode(), name)]
    return "otlp-json", _otlp(Encoding.JSON, data, name)


def _lines(data: bytes) -> Iterator[bytes]:
    for line in data.splitlines():
        if line.strip():
            yield line


def _otlp(encoding: Encoding, body: bytes, name: str) -> list[SpanView]:
    try:
        request = decode(Signal.TRACES, encoding, body, [])
    except Undecodable as exc:
        raise CaptureError(f"{name}: not an OTLP trace export ({exc})") from None
    extracted = extract_spans(request, "lint", 0, 0)
    return [span_view(s.to_dict()) for s in extracted.spans]


def _dumped(d: Any, name: str) -> SpanView:
    try:
        return span_view(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise CaptureError(f"{name}: a span of the ingest dump is malformed ({exc})") from None
