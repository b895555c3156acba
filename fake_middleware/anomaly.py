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
becoming normal. Every signal carries its statistic, threshold, baseline and sample trace ids, and
an explanation in words.
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


@dataclass(slots=True)
class _Window:
    durations_ns: list[int] = field(default_factory=list)
    errors: int = 0
    tokens: list[int] = field(default_factory=list)
    finishes: Counter[str] = field(default_factory=Counter)
    trace_ids: list[str] = field(default_factory=list)

    def add(self, o: Observation) -> None:
        self.durations_ns.append(o.duration_ns)
        self.errors += o.failed
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
                "finish_shares": {r: c / n for r, c in self.finishes.items()}}


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
        self._seen: set[bytes] = set()
        self._closed_before: dict[Subject, int] = {}
        self.watermark_ns = 0
        self.signals: list[dict[str, Any]] = []
        self.windows_judged = 0
        self.late = 0

    def observe(self, observations: Iterable[Observation], now_ns: int) -> None:
        """Add spans (a duplicate key is ignored), then judge the windows the stream has passed."""
        for o in observations:
            if o.key in self._seen:
                continue
            self._seen.add(o.key)
            start = o.end_ns // self.window_ns * self.window_ns
            if start < self._closed_before.get(o.subject, 0):
                self.late += 1  # its window was judged already
                continue
            self._open.setdefault(o.subject, {}).setdefault(start, _Window()).add(o)
            self.watermark_ns = max(self.watermark_ns, o.end_ns)
        self.close_until(self.watermark_ns - self.settings.grace_windows * self.window_ns, now_ns)

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


def observation(span: Any) -> Observation | None:
    """The detector's view of a stored span; None unless it is a GenAI CLIENT span."""
    if span.kind != 3 or span.attr("gen_ai.operation.name") is None:
        return None
    tokens = span.attr("gen_ai.usage.output_tokens")
    finishes = span.attr("gen_ai.response.finish_reasons")
    subject = (span.service, str(span.attr("gen_ai.request.model") or ""), str(span.attr("gen_ai.provider.name") or ""))
    return Observation(subject, span.end_ns, span.duration_ns, span.status_code == 2,
                       tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None,
                       tuple(str(f) for f in finishes) if isinstance(finishes, list) else (),
                       span.trace_id, span.store_key)
