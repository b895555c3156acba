"""Open-loop load generation: arrival schedules, latency histograms, shared statistics and an
asyncio driver that fires requests at their intended times (SPEC 8)."""

from __future__ import annotations

from testbed.load.histogram import LatencyHistogram, Summary
from testbed.load.schedule import Arrival, MixItem, Schedule, build_schedule

__all__ = ["Arrival", "LatencyHistogram", "MixItem", "Schedule", "Summary", "build_schedule"]
