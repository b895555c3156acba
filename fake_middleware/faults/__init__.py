"""Ingest faults (SPEC 10, FLT-01..13): one kind per module, an explicit registry, the active set."""

from __future__ import annotations

from fake_middleware.faults.active import FaultSet, TimelineEntry
from fake_middleware.faults.base import Effect, Fault, FaultSpec, FaultSpecError, Target
from fake_middleware.faults.registry import KINDS, build, spec_from_dict

__all__ = ["KINDS", "Effect", "Fault", "FaultSet", "FaultSpec", "FaultSpecError", "Target", "TimelineEntry",
           "build", "spec_from_dict"]
