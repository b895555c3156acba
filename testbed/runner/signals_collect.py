"""Collects the ``signals`` check's evidence from the ingest (SPEC 13): anomaly signals, the
topology per detector window, span counts per infrastructure value, and the fault windows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import aiohttp

from testbed.checks.evidence import Evidence
from testbed.checks.signal_evidence import INFRA_KEYS, SignalEvidence, fault_windows
from testbed.runner.collect import get_json

MAX_VALUES = 200
"""At most this many (key, value) queries per scenario: one per host, pod, namespace, instance."""


async def with_signals(evidence: Evidence, http: aiohttp.ClientSession, middleware_url: str,
                       timeline: Iterable[Any]) -> Evidence:
    """``evidence`` with its ``signals`` filled from the ingest."""
    answer = await get_json(http, f"{middleware_url}/api/v1/signals")
    window_ns = int(answer["window_ns"])
    topology = await get_json(http, f"{middleware_url}/api/v1/topology", window_s=str(window_ns / 1e9))
    values = sorted({(key, str(tv.plain())) for s in evidence.spans for key in INFRA_KEYS
                     if (tv := s.resource.get(key)) is not None})[:MAX_VALUES]
    counts = {}
    for key, value in values:
        body = await get_json(http, f"{middleware_url}/api/v1/spans", resource_where=f"{key}=={value}", limit=0)
        counts[(key, value)] = int(body["count"])
    sent = [r.sent_ns for r in evidence.client]
    signals = SignalEvidence(window_ns=window_ns, signals=tuple(answer["signals"]),
                             windows_judged=int(answer.get("windows_judged", 0)), topology=topology,
                             resource_counts=counts, faults=fault_windows(timeline),
                             load_start_ns=min(sent) if sent else None)
    return dataclasses.replace(evidence, signals=signals)
