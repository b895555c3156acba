"""Conformance checks: pure functions from evidence to findings (SPEC 1.3).

``run_checks(evidence)`` runs every registered check and never raises; ``verdict`` applies the
scenario's suppressions and decides pass, fail or inconclusive (RUN-01..RUN-03).
"""

from __future__ import annotations

from testbed.checks.base import DESCRIPTIONS, REGISTRY, Check, run_check, run_checks
from testbed.checks.evidence import (
    Budgets, Canary, CanaryHit, ClientRecord, Counters, Evidence, IngestRequest, JournalEntry,
    LatencyBudget, ScenarioSettings, SpanView, TypedValue, span_from_json,
)
from testbed.checks.result import CheckResult, Finding
from testbed.checks.rules import Convention, conventions, load_convention
from testbed.checks.suppress import Suppression, Verdict, parse_suppressions, verdict

__all__ = [
    "DESCRIPTIONS", "REGISTRY", "Budgets", "Canary", "CanaryHit", "Check", "CheckResult", "ClientRecord", "Convention",
    "Counters", "Evidence", "Finding", "IngestRequest", "JournalEntry", "LatencyBudget", "ScenarioSettings",
    "SpanView", "Suppression", "TypedValue", "Verdict", "parse_suppressions", "run_check",
    "conventions", "load_convention", "run_checks", "span_from_json", "verdict",
]
