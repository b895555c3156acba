"""GenAI client metrics derived from exported spans (SPEC 12, MET-01..05). Pure.

Instruments, units and bucket boundaries are those of semantic-conventions v1.41.0
``docs/gen-ai/gen-ai-metrics.md``:

- ``gen_ai.client.operation.duration`` (s): one measurement per GenAI CLIENT span, its duration;
- ``gen_ai.client.token.usage`` ({token}): one measurement per reported usage figure, with
  ``gen_ai.token.type`` ``input`` or ``output``; a span without a usage attribute records nothing
  for that type, because usage is never estimated (MET-02);
- ``gen_ai.client.operation.time_to_first_chunk`` (s): streamed spans carrying
  ``gen_ai.response.time_to_first_chunk``, with the duration buckets.

Why derived from spans: the measurements then agree with the spans by construction (MET-04), and
they are recorded once per bus message whose outcome was final (the service calls
:meth:`GenAiAggregator.record_spans` where it acks), so a redelivery that is only re-acked never
counts twice.

Temporality (MET-05): ``cumulative`` points start at the aggregator's creation (a restarted
exporter starts new series with a new start time); ``delta`` points cover
``[last successful export, now]``. :meth:`take` hands out what to send; a failed send gives it back
with :meth:`restore`, so a delta window only closes when its points were delivered and windows
never overlap. Series are keyed by the span's resource, the instrument and the point attributes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from testbed.exporter.spans import KIND_CLIENT, AttrValue, SpanRecord

Temporality = Literal["cumulative", "delta"]

DURATION: Final = "gen_ai.client.operation.duration"
TOKEN_USAGE: Final = "gen_ai.client.token.usage"
TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"

DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
"""Explicit boundaries of the client duration instruments (gen-ai-metrics.md, MET-01)."""
TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
"""Explicit boundaries of ``gen_ai.client.token.usage`` (gen-ai-metrics.md, MET-02)."""

POINT_ATTRIBUTES: Final = (
    "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
    "server.address", "server.port", "error.type",
)
"""Span attributes copied onto points: the low-cardinality set of the semconv (MET-06)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    name: str
    unit: str
    description: str
    boundaries: tuple[float, ...]


INSTRUMENTS: Final = {
    DURATION: Instrument(DURATION, "s", "GenAI operation duration.", DURATION_BUCKETS),
    TOKEN_USAGE: Instrument(TOKEN_USAGE, "{token}", "Number of input and output tokens used.", TOKEN_BUCKETS),
    TIME_TO_FIRST_CHUNK: Instrument(TIME_TO_FIRST_CHUNK, "s", "Time to receive the first chunk of a streamed response.",
                                    DURATION_BUCKETS),
}

AttrItems = tuple[tuple[str, AttrValue], ...]
SeriesKey = tuple[AttrItems, str, AttrItems]
"""(resource items, instrument name, point attribute items)."""


@dataclass(slots=True)
class HistogramState:
    """One series' explicit-bucket histogram: ``counts`` has one more slot than the boundaries."""

    boundaries: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.boundaries) + 1)

    def add(self, value: float) -> None:
        # OTLP buckets are (previous, bound]: a value equal to a bound falls in that bound's bucket.
        self.counts[bisect.bisect_left(self.boundaries, value)] += 1
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def merge(self, other: HistogramState) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)

    def copy(self) -> HistogramState:
        return HistogramState(self.boundaries, list(self.counts), self.count, self.total, self.minimum, self.maximum)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one export sends: every series with its state, and the interval it covers."""

    series: dict[SeriesKey, HistogramState]
    start_ns: int
    time_ns: int
    temporality: Temporality


def measurements(span: SpanRecord) -> list[tuple[str, dict[str, AttrValue], float]]:
    """(instrument, point attributes, value) for one span; empty unless it is a GenAI CLIENT span."""
    attrs = span.attributes
    if span.kind != KIND_CLIENT or "gen_ai.operation.name" not in attrs:
        return []
    base = {k: attrs[k] for k in POINT_ATTRIBUTES if k in attrs}
    out: list[tuple[str, dict[str, AttrValue], float]] = [(DURATION, base, (span.end_ns - span.start_ns) / 1e9)]
    for token_type, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
        value = attrs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out.append((TOKEN_USAGE, {**base, "gen_ai.token.type": token_type}, float(value)))
    ttfc = attrs.get("gen_ai.response.time_to_first_chunk")
    if attrs.get("gen_ai.request.stream") is True and isinstance(ttfc, (int, float)) and not isinstance(ttfc, bool):
        out.append((TIME_TO_FIRST_CHUNK, base, float(ttfc)))
    return out


class GenAiAggregator:
    """Histogram series for the instruments in ``instruments``; not thread-safe (one event loop)."""

    def __init__(self, temporality: Temporality, start_ns: int,
                 instruments: Mapping[str, Instrument] = INSTRUMENTS) -> None:
        self.temporality = temporality
        self.instruments = dict(instruments)
        self._series: dict[SeriesKey, HistogramState] = {}
        self._window_start_ns = start_ns
        self._recorded = 0
        self._delivered = 0

    def record_spans(self, spans: Iterable[SpanRecord]) -> int:
        """Record every measurement of ``spans``; returns how many were recorded."""
        n = 0
        resources: dict[int, AttrItems] = {}  # the spans of one event share one resource dict
        for span in spans:
            points = measurements(span)
            if not points:  # a SERVER span: no resource key to build
                continue
            resource = resources.get(id(span.resource))
            if resource is None:
                resource = resources[id(span.resource)] = tuple(sorted(span.resource.items()))
            for name, attrs, value in points:
                self.record(resource, name, attrs, value)
                n += 1
        return n

    def record(self, resource: AttrItems, name: str, attrs: Mapping[str, AttrValue], value: float) -> None:
        instrument = self.instruments.get(name)
        if instrument is None:
            return
        # Keys are unique, so sorting the items never compares two values: the order is the keys' order.
        key = (resource, name, tuple(sorted(attrs.items())))
        state = self._series.get(key)
        if state is None:
            state = self._series[key] = HistogramState(instrument.boundaries)
        state.add(value)
        self._recorded += 1

    def take(self, now_ns: int) -> Snapshot:
        """The points to export now. Delta hands its series over (call :meth:`restore` on failure)."""
        if self.temporality == "cumulative":
            return Snapshot({k: s.copy() for k, s in self._series.items()}, self._window_start_ns, now_ns, "cumulative")
        taken, self._series = self._series, {}
        return Snapshot(taken, self._window_start_ns, now_ns, "delta")

    def delivered(self, snapshot: Snapshot) -> None:
        """The snapshot reached the ingest: a delta window closes at its time."""
        count = sum(s.count for s in snapshot.series.values())
        if snapshot.temporality == "delta":
            self._window_start_ns = snapshot.time_ns
            self._delivered += count
        else:
            self._delivered = max(self._delivered, count)

    def restore(self, snapshot: Snapshot) -> None:
        """A delta snapshot was not delivered: merge it back, the window stays open."""
        if snapshot.temporality != "delta":
            return
        for key, state in snapshot.series.items():
            mine = self._series.get(key)
            if mine is None:
                self._series[key] = state
            else:
                mine.merge(state)

    @property
    def pending(self) -> int:
        """Measurements recorded but not yet in a delivered snapshot (the drain waits on this)."""
        return self._recorded - self._delivered
