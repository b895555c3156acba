"""Anomaly signals over the GenAI span stream (SPEC 13, SIG-03, SIG-04). Pure and explainable.

GenAI CLIENT spans are grouped by subject (service, request model, provider) into tumbling windows
of their end time (``window_s``, aligned on multiples since the epoch). A window is judged once the
stream has moved ``grace_windows`` past its end (spans arrive late by the exporter's batching), or
when the signals are read. Each subject keeps a rolling baseline of its last ``baseline_windows``
healthy windows; a window with at least ``min_samples`` spans, judged against at least
``min_baseline`` baseline windows, fires:

- ``latency_spike``: its median duration is over ``max(median + k*MAD, latency_ratio * median,
  median + latency_floor_ms)`` of the baseline's window medians (MAD scaled by 1.4826, so k is in
  standard deviations; the floor keeps scheduling noise on a busy machine from doubling a
  millisecond-scale median into an alarm);
- ``token_jump``: its mean output tokens differ from the baseline's by more than
  ``max(k*MAD, (token_ratio - 1) * median)``;
- ``error_rate_rise``: its share of ERROR spans is at least ``error_rise`` above the baseline's
  median share, with at least 3 errors;
- ``finish_reason_shift``: the share of one finish reason other than ``stop`` is at least
  ``finish_rise`` above its baseline share, with at least 3 such spans.

A window that fires stays out of the baseline, so a long incident keeps firing instead of
becoming normal. Durations and statuses are read from every span; output tokens and finish reasons
(the costly attribute scan) from at most ``detail_samples`` spans per subject and window, which is
plenty for a mean and a share and keeps the ingest's throughput (bench/ingest_bench.py). Every
signal carries its statistic, threshold, baseline and sample trace ids, and an explanation in words.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

Subject = tuple[str, str, str]
"""(service, request model, provider)."""
KINDS: Final = ("latency_spike", "token_jump", "error_rate_rise", "finish_reason_shift")
MAD_SCALE: Final = 1.4826


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    window_s: float = 1.0
    grace_windows: int = 1
    baseline_windows: int = 20
    min_baseline: int = 3
    min_samples: int = 5
    k: float = 6.0
    latency_ratio: float = 2.0
    latency_floor_ms: float = 100.0
    token_ratio: float = 1.5
    error_rise: float = 0.25
    finish_rise: float = 0.3
    detail_samples: int = 32


@dataclass(frozen=True, slots=True)
class Observation:
    """What the detector needs of one GenAI CLIENT span."""

    subject: Subject
    end_ns: int
    duration_ns: int
    failed: bool
    output_tokens: int | None
    finish_reasons: tuple[str, ...]
    trace_id: str
    key: bytes
    detailed: bool = True
    """False when tokens and finish reasons were not read (the window had its samples already)."""


@dataclass(slots=True)
class _Window:
    durations_ns: list[int] = field(default_factory=list)
    errors: int = 0
    tokens: list[int] = field(default_factory=list)
    finishes: Counter[str] = field(default_factory=Counter)
    trace_ids: list[str] = field(default_factory=list)
    detailed: int = 0
    keys: set[bytes] = field(default_factory=set)
    """Span keys in this window: a duplicate has the same end time, so it lands here again."""

    def add(self, o: Observation) -> None:
        self.durations_ns.append(o.duration_ns)
        self.errors += o.failed
        if o.detailed:
            self.detailed += 1
            if o.output_tokens is not None:
                self.tokens.append(o.output_tokens)
            self.finishes.update(set(o.finish_reasons))
        if len(self.trace_ids) < 5:
            self.trace_ids.append(o.trace_id)

    @property
    def n(self) -> int:
        return len(self.durations_ns)

    def stats(self) -> dict[str, Any]:
        n = self.n
        return {"median_ms": statistics.median(self.durations_ns) / 1e6,
                "mean_tokens": statistics.fmean(self.tokens) if self.tokens else None,
                "error_rate": self.errors / n,
                "finish_shares": {r: c / self.detailed for r, c in self.finishes.items()} if self.detailed else {}}


def _robust(values: list[float]) -> tuple[float, float]:
    med = statistics.median(values)
    return med, MAD_SCALE * statistics.median(abs(v - med) for v in values)


class AnomalyDetector:
    """Windows, baselines and fired signals; one per ingest app, reset with the store."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.window_ns = int(self.settings.window_s * 1e9)
        self.reset()

    def reset(self) -> None:
        self._open: dict[Subject, dict[int, _Window]] = {}
        self._baselines: dict[Subject, deque[dict[str, Any]]] = {}
        self._closed_before: dict[Subject, int] = {}
        self.watermark_ns = 0
        self._closed_to = 0
        self.signals: list[dict[str, Any]] = []
        self.windows_judged = 0
        self.late = 0

    def window(self, subject: Subject, end_ns: int, key: bytes) -> _Window | None:
        """The open window a new span belongs to; None for a duplicate or a late span."""
        start = end_ns // self.window_ns * self.window_ns
        windows = self._open.get(subject)
        if windows is None:
            windows = self._open[subject] = {}
        window = windows.get(start)
        if window is None:
            if start < self._closed_before.get(subject, 0):
                self.late += 1  # its window was judged already
                return None
            window = windows[start] = _Window()
        elif key in window.keys:
            return None
        window.keys.add(key)
        if end_ns > self.watermark_ns:
            self.watermark_ns = end_ns
        return window

    def observe(self, observations: Iterable[Observation], now_ns: int) -> None:
        """Add spans (a duplicate key is ignored), then judge the windows the stream has passed."""
        for o in observations:
            window = self.window(o.subject, o.end_ns, o.key)
            if window is not None:
                window.add(o)
        self.advance(now_ns)

    def observe_spans(self, spans: Iterable[Any], now_ns: int) -> None:
        """:meth:`observe` for stored spans, on the ingest's hot path: it reads the protobuf directly,
        and tokens and finish reasons only while a window still wants samples."""
        cap = self.settings.detail_samples
        for span in spans:
            pb = span.pb
            if pb.kind != 3:
                continue
            values = _subject_values(pb.attributes)
            if values is None:
                continue
            end = pb.end_time_unix_nano
            window = self.window((span.service, values[1], values[0]), end, span.store_key)
            if window is None:
                continue
            window.durations_ns.append(end - pb.start_time_unix_nano)
            window.errors += pb.status.code == 2
            if len(window.trace_ids) < 5:
                window.trace_ids.append(pb.trace_id.hex())
            if window.detailed < cap:
                window.detailed += 1
                tokens, finishes = _details(pb.attributes)
                if tokens is not None:
                    window.tokens.append(tokens)
                window.finishes.update(set(finishes))
        self.advance(now_ns)

    def advance(self, now_ns: int) -> None:
        """Judge the windows the stream has moved ``grace_windows`` past."""
        limit = self.watermark_ns - self.settings.grace_windows * self.window_ns
        if limit // self.window_ns != self._closed_to:  # only when the stream crossed a window boundary
            self._closed_to = limit // self.window_ns
            self.close_until(limit, now_ns)

    def close_until(self, limit_ns: int, now_ns: int) -> None:
        """Judge every open window that ends at or before ``limit_ns``, oldest first."""
        for subject, windows in self._open.items():
            for start in sorted(w for w in windows if w + self.window_ns <= limit_ns):
                self._judge(subject, start, windows.pop(start), now_ns)
                self._closed_before[subject] = start + self.window_ns

    def _judge(self, subject: Subject, start: int, window: _Window, now_ns: int) -> None:
        s = self.settings
        if window.n < s.min_samples:
            return
        self.windows_judged += 1
        stats = window.stats()
        baseline = self._baselines.setdefault(subject, deque(maxlen=s.baseline_windows))
        fired = []
        if len(baseline) >= s.min_baseline:
            fired = [f for f in (self._latency(stats, baseline), self._tokens(stats, baseline),
                                 self._errors(stats, baseline, window), *self._finishes(stats, baseline, window))
                     if f is not None]
        for kind, value, threshold, base, words in fired:
            self.signals.append({
                "kind": kind, "subject": dict(zip(("service", "model", "provider"), subject)),
                "window": {"start_ns": start, "end_ns": start + self.window_ns}, "fired_ns": now_ns,
                "value": value, "threshold": threshold, "baseline": {**base, "windows": len(baseline)},
                "evidence": {"samples": window.n, "trace_ids": list(window.trace_ids)}, "explanation": words,
            })
        if not fired:
            baseline.append(stats)

    def _latency(self, stats: dict[str, Any], baseline: deque[dict[str, Any]]) -> tuple[Any, ...] | None:
        med, mad = _robust([b["median_ms"] for b in baseline])
        s = self.settings
        threshold = max(med + s.k * mad, s.latency_ratio * med, med + s.latency_floor_ms)
        value = stats["median_ms"]
        if value <= threshold:
            return None
        return ("latency_spike", value, threshold, {"median": med, "mad": mad},
                f"median duration {value:.1f} ms is over {threshold:.1f} ms (baseline median {med:.1f} ms, "
                f"MAD {mad:.1f} ms)")

    def _tokens(self, stats: dict[str, Any], baseline: deque[dict[str, Any]]) -> tuple[Any, ...] | None:
        past = [b["mean_tokens"] for b in baseline if b["mean_tokens"] is not None]
        value = stats["mean_tokens"]
        if value is None or len(past) < self.settings.min_baseline:
            return None
        med, mad = _robust(past)
        margin = max(self.settings.k * mad, (self.settings.token_ratio - 1) * med, 1.0)
        if abs(value - med) <= margin:
            return None
        return ("token_jump", value, med + margin if value > med else med - margin, {"median": med, "mad": mad},
                f"mean output tokens {value:.1f} differ from the baseline median {med:.1f} by more than {margin:.1f}")

    def _errors(self, stats: dict[str, Any], baseline: deque[dict[str, Any]],
                window: _Window) -> tuple[Any, ...] | None:
        med, mad = _robust([b["error_rate"] for b in baseline])
        threshold = med + max(self.settings.error_rise, self.settings.k * mad)
        value = stats["error_rate"]
        if value < threshold or window.errors < 3:
            return None
        return ("error_rate_rise", value, threshold, {"median": med, "mad": mad},
                f"{window.errors} of {window.n} calls failed ({value:.0%}), baseline {med:.0%}")

    def _finishes(self, stats: dict[str, Any], baseline: deque[dict[str, Any]],
                  window: _Window) -> list[tuple[Any, ...] | None]:
        out: list[tuple[Any, ...] | None] = []
        for reason, share in sorted(stats["finish_shares"].items()):
            if reason == "stop" or window.finishes[reason] < 3:
                continue
            med, mad = _robust([b["finish_shares"].get(reason, 0.0) for b in baseline])
            threshold = med + max(self.settings.finish_rise, self.settings.k * mad)
            if share >= threshold:
                out.append(("finish_reason_shift", share, threshold, {"median": med, "mad": mad, "reason": reason},
                            f"finish reason {reason!r} on {share:.0%} of calls, baseline {med:.0%}"))
        return out


_SUBJECT_KEYS: Final = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model")
_DETAIL_KEYS: Final = frozenset({"gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons"})


def _subject_values(attributes: Any) -> tuple[str, str] | None:
    """(provider, model) of a GenAI span, or None. The reference exporter writes the three subject
    keys first, so they are read by position; any other order falls back to a scan."""
    head = attributes[:3]
    if tuple(kv.key for kv in head) == _SUBJECT_KEYS:
        return head[1].value.string_value, head[2].value.string_value
    found = {kv.key: kv.value for kv in attributes if kv.key in _SUBJECT_KEYS}
    if "gen_ai.operation.name" not in found:
        return None
    provider, model = found.get("gen_ai.provider.name"), found.get("gen_ai.request.model")
    return (provider.string_value if provider is not None else "", model.string_value if model is not None else "")


def _details(attributes: Any) -> tuple[int | None, tuple[str, ...]]:
    found = {kv.key: kv.value for kv in attributes if kv.key in _DETAIL_KEYS}
    t = found.get("gen_ai.usage.output_tokens")
    tokens = t.int_value if t is not None and t.WhichOneof("value") == "int_value" else None
    f = found.get("gen_ai.response.finish_reasons")
    return tokens, tuple(v.string_value for v in f.array_value.values) if f is not None else ()
