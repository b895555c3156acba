"""Findings grouped by (SPEC id, severity, message) with a count and one example each, pure.

A gateway that gets one thing wrong gets it wrong on every span; forty identical lines hide the
three things that matter. Terminal output (lint, watch) and the report lead with these groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from testbed.checks.result import SEVERITY_RANK, Finding

_EXAMPLE_KEYS = ("trace_id", "span_id", "attribute", "expected", "actual")


@dataclass(frozen=True, slots=True)
class FindingGroup:
    spec_id: str
    severity: str
    message: str
    count: int
    example: Mapping[str, Any]


def group_findings(findings: Iterable[Finding]) -> list[FindingGroup]:
    """Groups, worst severity first, then most frequent, then SPEC id."""
    counts: dict[tuple[str, str, str], int] = {}
    examples: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for f in findings:
        key = (f.spec_id, f.severity, f.message)
        counts[key] = counts.get(key, 0) + 1
        examples.setdefault(key, {k: f.evidence[k] for k in _EXAMPLE_KEYS if k in f.evidence})
    groups = [FindingGroup(k[0], k[1], k[2], n, examples[k]) for k, n in counts.items()]
    return sorted(groups, key=lambda g: (-SEVERITY_RANK.get(g.severity, 0), -g.count, g.spec_id, g.message))


def format_group(g: FindingGroup) -> str:
    example = ", ".join(f"{k}={_short(v)}" for k, v in g.example.items())
    return f"{g.count:>5} x {g.severity:<9} {g.spec_id:<8} {g.message}" + (f"\n{'':19}e.g. {example}" if example else "")


def _short(v: Any, limit: int = 60) -> str:
    text = v if isinstance(v, str) else repr(v)
    return text if len(text) <= limit else text[: limit - 1] + "…"
