"""Every hop's loss-accounting counters: their names, defined once, and a typed reading of them.

The names are the sample names on each ``/metrics`` page (EXP-06, SPEC 7). The hops define their
metrics with these constants (``prometheus_client`` takes a counter name with its ``_total`` and
writes the suffix once), and the checks, the report and the runner read them by the same
constants, so a renamed counter cannot leave a reader counting nothing.

A page is read into samples keyed by ``SampleKey(name, labels)``, never by a rebuilt string. Where
a key must be a string (results.json), ``SampleKey.text`` writes the Prometheus form with label
values escaped as the exposition format escapes them, and ``parse_key`` reads it back.
Pure: no sockets, no clocks, no files; the fakes may import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple

from prometheus_client.parser import text_string_to_metric_families

# --- names ---------------------------------------------------------------------------------------

GATEWAY_REQUESTS: Final = "testbed_gateway_requests_total"
GATEWAY_EVENTS_PUBLISHED: Final = "testbed_gateway_events_published_total"
GATEWAY_EVENTS_DROPPED: Final = "testbed_gateway_events_dropped_total"
GATEWAY_SPANS_DROPPED: Final = "testbed_gateway_spans_dropped_total"
GATEWAY_QUEUE_DEPTH: Final = "testbed_gateway_event_queue_depth"
"""A gauge: TraceEvents waiting in the gateway's publisher queue."""

BUS_PENDING_EVENTS: Final = "testbed_bus_pending_events"
"""Not on a page: the runner's reading of the JetStream consumer's num_pending + num_ack_pending."""

EXPORTER_EVENTS_CONSUMED: Final = "testbed_exporter_events_consumed_total"
EXPORTER_EVENTS_DROPPED: Final = "testbed_exporter_events_dropped_total"
EXPORTER_SPANS_EXPORTED: Final = "testbed_exporter_spans_exported_total"
EXPORTER_SPANS_DROPPED: Final = "testbed_exporter_spans_dropped_total"
EXPORTER_RETRIES: Final = "testbed_exporter_export_retries_total"
EXPORTER_SPANS_QUEUED: Final = "testbed_exporter_spans_queued"
"""A gauge: spans pulled and not yet finished (acked, terminated or NAKed)."""
EXPORTER_MEASUREMENTS_PENDING: Final = "testbed_exporter_genai_measurements_pending"
"""A gauge: GenAI metric measurements recorded and not yet delivered."""

INGEST_SPANS_ACCEPTED: Final = "fake_middleware_spans_accepted_total"
INGEST_SPANS_REJECTED: Final = "fake_middleware_spans_rejected_total"
INGEST_SPANS_DUPLICATE: Final = "fake_middleware_spans_duplicate_total"
INGEST_SPANS_STORED: Final = "fake_middleware_spans_stored"
"""A gauge: spans in the ingest's store."""
INGEST_RETRIES: Final = "fake_middleware_retries_total"

SPAN_DROPS: Final = (GATEWAY_SPANS_DROPPED, EXPORTER_SPANS_DROPPED)
"""Span-denominated drops, by ``reason`` (LOSS-01)."""
EVENTS_QUEUED: Final = (GATEWAY_QUEUE_DEPTH, BUS_PENDING_EVENTS)
"""Event-denominated backlogs, converted to spans by the loss check."""

# --- samples -------------------------------------------------------------------------------------

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name."""


class SampleKey(NamedTuple):
    name: str
    labels: Labels = ()

    @classmethod
    def of(cls, name: str, labels: Mapping[str, str] | None = None) -> SampleKey:
        return cls(name, tuple(sorted((labels or {}).items())))

    def label(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.labels if k == key), default)

    def has(self, labels: Mapping[str, str]) -> bool:
        """Whether every label given has this value here."""
        mine = dict(self.labels)
        return all(mine.get(k) == v for k, v in labels.items())

    def text(self) -> str:
        """``name{a="1",b="x"}`` with values escaped as the exposition format does."""
        if not self.labels:
            return self.name
        return self.name + "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in self.labels) + "}"


Samples = Mapping[SampleKey, float]

_KEY: Final = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$", re.DOTALL)
_LABEL: Final = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE: Final = re.compile(r"\\(.)")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def parse_key(text: str) -> SampleKey:
    """The inverse of ``SampleKey.text``; a text that is no sample name is kept whole as a name."""
    m = _KEY.match(text)
    if not m:
        return SampleKey(text)
    labels = {k: _UNESCAPE.sub(lambda e: "\n" if e.group(1) == "n" else e.group(1), v)
              for k, v in _LABEL.findall(m.group(2) or "")}
    return SampleKey.of(m.group(1), labels)


def parse_text(text: str) -> dict[SampleKey, float]:
    """Every sample of one Prometheus text page; samples with the same key are summed."""
    return parse_pages((text,))


def parse_pages(pages: Iterable[str]) -> dict[SampleKey, float]:
    """Every sample of several pages, summed by key (the instances of one hop add up)."""
    out: dict[SampleKey, float] = {}
    for text in pages:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                key = SampleKey.of(s.name, s.labels)
                out[key] = out.get(key, 0.0) + s.value
    return out


def as_samples(values: Mapping[str, float] | Mapping[SampleKey, float]) -> dict[SampleKey, float]:
    """Samples from string keys (results.json) or typed keys, summed by key."""
    out: dict[SampleKey, float] = {}
    for k, v in values.items():
        key = k if isinstance(k, SampleKey) else parse_key(k)
        out[key] = out.get(key, 0.0) + float(v)
    return out


def as_text_keys(samples: Samples) -> dict[str, float]:
    """The string-keyed form results.json keeps."""
    return {k.text(): v for k, v in samples.items()}


def whole(value: float) -> int | float:
    """A count as the whole number it is; a figure converted by a ratio (events to spans) that is
    not whole is kept to three decimals."""
    return round(value) if abs(value - round(value)) < 1e-9 else round(value, 3)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``labels``."""
    return sum(v for k, v in samples.items() if k.name == name and k.has(labels))


def found(samples: Samples, names: Iterable[str]) -> float | None:
    """Sum of every sample of any of ``names``; None when the page had none of them."""
    wanted = frozenset(names)
    values = [v for k, v in samples.items() if k.name in wanted]
    return sum(values) if values else None


def by_label(samples: Samples, label: str, *names: str) -> dict[str, float]:
    """Samples of any of ``names`` summed per value of ``label`` ("" when absent)."""
    wanted = frozenset(names)
    out: dict[str, float] = {}
    for k, v in samples.items():
        if k.name in wanted:
            lv = k.label(label)
            out[lv] = out.get(lv, 0.0) + v
    return out
