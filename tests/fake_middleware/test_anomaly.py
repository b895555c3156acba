"""The anomaly detector at the ingest (SPEC 13, SIG-03, SIG-04): each signal fires in the window of
its cause, with its evidence; a steady stream with ordinary jitter fires nothing; duplicates and
late spans are handled; the signals are served on ``/api/v1/signals`` and cleared by reset."""

from __future__ import annotations

import dataclasses
import os
import random

import aiohttp
import pytest

from fake_middleware import MiddlewareServer
from fake_middleware.anomaly import AnomalyDetector, Observation
from tests.fake_middleware.helpers import headers, request, span

S = 1_000_000_000
MS = 1_000_000
SUBJECT = ("gateway", "gpt-4o-mini", "openai")


def obs(end_ns: int, duration_ms: float = 50.0, failed: bool = False, tokens: int | None = 16,
        finish: str = "stop") -> Observation:
    return Observation(SUBJECT, end_ns, int(duration_ms * MS), failed, tokens, (finish,), os.urandom(16).hex(),
                       os.urandom(24))


def stream(seconds: int, per_s: int = 20, seed: int = 1, **change: object) -> list[Observation]:
    """A steady stream with +-20% jitter; ``change`` applies from second 6 on."""
    rng = random.Random(seed)
    out = []
    for second in range(seconds):
        for i in range(per_s):
            end = (100 + second) * S + i * (S // per_s)
            kw: dict[str, object] = {"duration_ms": 50 * rng.uniform(0.8, 1.2)}
            if second >= 6:
                kw.update(change)
            out.append(obs(end, **kw))  # type: ignore[arg-type]
    return out


def run(observations: list[Observation]) -> AnomalyDetector:
    d = AnomalyDetector()
    for o in observations:
        d.observe([o], o.end_ns)
    d.close_until(10**20, 0)
    return d


def test_a_steady_stream_fires_nothing() -> None:
    for seed in range(5):
        d = run(stream(12, seed=seed))
        assert d.signals == [] and d.windows_judged == 12


@pytest.mark.parametrize("change, kind", [
    ({"duration_ms": 600.0}, "latency_spike"),
    ({"finish": "length"}, "finish_reason_shift"),
    ({"failed": True}, "error_rate_rise"),
    ({"tokens": 400}, "token_jump"),
], ids=["latency", "finish-reason", "errors", "tokens"])
def test_each_signal_fires_in_the_window_of_its_cause(change: dict[str, object], kind: str) -> None:
    d = run(stream(10, **change))
    first = d.signals[0]
    assert first["kind"] == kind
    assert first["window"]["start_ns"] == 106 * S
    assert first["evidence"]["samples"] == 20 and first["evidence"]["trace_ids"]
    assert first["subject"] == {"service": "gateway", "model": "gpt-4o-mini", "provider": "openai"}
    assert first["explanation"] and first["baseline"]["windows"] == 6


def test_too_short_a_baseline_fires_nothing() -> None:
    assert run(stream(10, duration_ms=600.0)[:0] + [o for o in stream(10) if o.end_ns < 102 * S]).signals == []


def test_a_duplicate_span_is_counted_once_and_a_late_one_is_set_aside() -> None:
    d = AnomalyDetector()
    first = obs(100 * S)
    d.observe([first, first], 0)
    d.observe([obs(103 * S)], 0)  # the stream has passed 100 s + one grace window
    d.observe([obs(100 * S + 5)], 0)
    assert d.late == 1


def test_a_window_is_judged_only_once_the_stream_has_passed_it() -> None:
    d = AnomalyDetector()
    d.observe([obs(100 * S + i) for i in range(10)], 0)
    d.observe([obs(101 * S)], 0)
    assert d.windows_judged == 0
    d.observe([obs(102 * S)], 0)
    assert d.windows_judged == 1


async def test_signals_are_served_with_their_evidence_and_cleared_by_reset(mw: MiddlewareServer,
                                                                          http: aiohttp.ClientSession) -> None:
    spans = []
    for second in range(10):
        for i in range(10):
            start = (100 + second) * S + i * (S // 10)
            duration = 600 * MS if second >= 6 else 50 * MS
            spans.append(span(os.urandom(16), kind=3, start=start, end=start + duration, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.provider.name": "openai",
                "gen_ai.usage.output_tokens": 16, "gen_ai.response.finish_reasons": ["stop"]}))
    body = request(spans, service="gateway").SerializeToString()
    async with http.post(mw.url + "/v1/traces", data=body, headers=headers()) as resp:
        assert resp.status == 200
    async with http.get(mw.url + "/api/v1/signals", params={"kind": "latency_spike"}) as resp:
        got = await resp.json()
    assert got["window_ns"] == S and got["signals"]
    first = got["signals"][0]
    # Windows hold spans by end time: the slow calls started at 106 s end in that window or the next.
    assert first["subject"]["model"] == "m" and 106 * S <= first["window"]["start_ns"] <= 107 * S
    async with http.get(mw.url + "/api/v1/signals", params={"kind": "nonsense"}) as resp:
        assert resp.status == 400 and "kind" in (await resp.json())["error"]
    async with http.post(mw.url + "/api/v1/reset") as resp:
        assert resp.status == 200
    async with http.get(mw.url + "/api/v1/signals") as resp:
        assert (await resp.json())["signals"] == []


def test_only_a_sample_of_each_window_has_its_tokens_read_and_shares_use_that_sample() -> None:
    d = AnomalyDetector()
    spans = [obs(100 * S + i, finish="length" if i % 2 else "stop") for i in range(100)]
    d.observe([dataclasses.replace(o, detailed=i < 32) for i, o in enumerate(spans)], 0)
    (window,) = d._open[SUBJECT].values()
    assert window.detailed == 32 and len(window.durations_ns) == 100
    assert window.stats()["finish_shares"]["length"] == 0.5
