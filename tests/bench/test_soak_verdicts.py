"""The soak benchmark's verdicts (bench/soak.py ``judge``, pure): RSS over its bound during the
outage fails, a stream over ``max_bytes`` fails, and missing spans, drops or a missed drain
deadline fail delivery; the load generator's own memory is reported but never judged."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

_SPEC = importlib.util.spec_from_file_location("soak", Path(__file__).resolve().parents[2] / "bench" / "soak.py")
assert _SPEC is not None and _SPEC.loader is not None
soak = importlib.util.module_from_spec(_SPEC)
sys.modules["soak"] = soak  # dataclasses look their module up there
_SPEC.loader.exec_module(soak)

ARGS = argparse.Namespace(outage_s=30.0, rate=50.0, sample_s=5.0, rss_bound_mb=100.0, drain_timeout_s=60.0)
CLEAN = {"ingested_unique": 20.0, "duplicates": 0.0, "gateway_dropped": 0.0, "exporter_dropped": 0.0}


def sample(phase: str, rss: dict[str, float], bus_bytes: int = 10) -> dict[str, Any]:
    return {"t_s": 0.0, "phase": phase, "rss_mb": rss,
            "bus": {"bytes": bus_bytes, "messages": 1, "max_bytes": 100, "pending_events": 0}}


def verdicts(samples: list[dict[str, Any]], last: dict[str, float] = CLEAN, drained: bool = True) -> dict[str, bool]:
    load = soak.Load(sent=10, ok=10)
    result = soak.judge(ARGS, samples, load, expected=20, last=last, drained=drained, drain_s=1.0, total_s=31.0)
    return {k: v["pass"] for k, v in result["verdicts"].items()}


def test_a_clean_soak_passes_every_verdict() -> None:
    assert verdicts([sample("outage", {"gateway": 50, "load": 500}), sample("drain", {"middleware": 900})]) == {
        "rss": True, "bus": True, "delivered": True}


@pytest.mark.parametrize(("samples", "last", "drained", "failing"), [
    pytest.param([sample("outage", {"providers": 101})], CLEAN, True, "rss", id="rss-over-bound-in-outage"),
    pytest.param([sample("outage", {"gateway": 1}, bus_bytes=101)], CLEAN, True, "bus", id="stream-over-max-bytes"),
    pytest.param([sample("outage", {"gateway": 1})], {**CLEAN, "ingested_unique": 19.0}, True, "delivered",
                 id="a-span-missing"),
    pytest.param([sample("outage", {"gateway": 1})], {**CLEAN, "gateway_dropped": 1.0}, True, "delivered",
                 id="a-counted-drop"),
    pytest.param([sample("outage", {"gateway": 1})], CLEAN, False, "delivered", id="drain-deadline-missed"),
])
def test_each_verdict_fails_on_its_own_evidence(samples: list[dict[str, Any]], last: dict[str, float],
                                                drained: bool, failing: str) -> None:
    got = verdicts(samples, last, drained)
    assert {k for k, ok in got.items() if not ok} == {failing}
