"""The report's view model, pure: a ``results.json`` dict (schema ``testbed.results/1``) -> frozen
dataclasses the HTML template renders (RUN-06).

Nothing here touches a file, a socket or a runner object: the report is built from the JSON a run
wrote, so an old run can be re-rendered and a partial or hand-edited file still gives a report
(missing fields become empty sections, never exceptions). Each finding keeps its SPEC id and its
evidence, with a line diff of ``expected`` against ``actual``. Each check row carries what it
verifies and what it judged ("42 spans, 20 streams"), so a pass is never read as "saw nothing".
Scenarios come in the order the run ran them (by ``started_ns``), numbered as ``testbed run``
numbered them on the console, under a scenario × check matrix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

from testbed.checks.result import judged_text
from testbed.report._data import as_dict, as_dicts, as_float, as_list, as_str, pretty, show
from testbed.report.flow_view import HopRow, TimelineView, TopologyView, hop_rows, timeline_view, topology_view
from testbed.report.latency_view import LatencySection, latency_sections
from testbed.report.matrix_view import Matrix, matrix

SCHEMA: Final = "testbed.results/1"
STATUSES: Final = ("passed", "failed", "inconclusive", "not_applicable", "error")
EVIDENCE_ORDER: Final = ("trace_id", "span_id", "attribute", "expected", "actual", "offset", "byte_offset")


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str
    """``-`` expected only, ``+`` actual only, `` `` both."""
    text: str


@dataclass(frozen=True, slots=True)
class FindingView:
    spec_id: str
    severity: str
    category: str
    message: str
    evidence: tuple[Item, ...]
    diff: tuple[DiffLine, ...]
    suppressed_because: str = ""


@dataclass(frozen=True, slots=True)
class CheckView:
    name: str
    outcome: str
    spec_ids: tuple[str, ...]
    reason: str
    findings: tuple[FindingView, ...]
    details: tuple[Item, ...]
    description: str = ""
    judged: str = ""
    """``"42 spans, 20 streams"``; empty for an old results file without counts."""
    tally: str = ""
    """The findings in words: ``"2 violations, 1 warning"``, or ``"3 notes"`` when all are info."""
    anchor: str = ""
    """The id of the check's row in its scenario's section, the target of its matrix cell."""


@dataclass(frozen=True, slots=True)
class FindingGroupView:
    """Every unsuppressed finding with one (SPEC id, severity, message): how many, and one example."""

    spec_id: str
    severity: str
    message: str
    count: int
    example: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class ScenarioView:
    name: str
    anchor: str
    description: str
    file: str
    status: str
    reasons: tuple[str, ...]
    """Distinct reasons, each with its count when it repeats."""
    error: str
    duration_s: float | None
    requests: tuple[Item, ...]
    checks: tuple[CheckView, ...]
    suppressed: tuple[FindingView, ...]
    latency: tuple[LatencySection, ...]
    timeline: TimelineView
    hops: tuple[HopRow, ...]
    loss: tuple[Item, ...]
    topology: TopologyView
    settings: tuple[Item, ...]
    groups: tuple[FindingGroupView, ...] = ()
    pairing: tuple[Item, ...] = ()
    number: int = 0
    """1-based position in the run, as ``testbed run`` printed it."""


@dataclass(frozen=True, slots=True)
class ReportView:
    run_id: str
    status: str
    schema: str
    schema_note: str
    duration_s: float | None
    scenario_counts: tuple[tuple[str, int], ...]
    check_counts: tuple[tuple[str, int], ...]
    gateway: tuple[Item, ...]
    environment: tuple[Item, ...]
    scenarios: tuple[ScenarioView, ...]
    matrix: Matrix = Matrix((), ())


_BULKY: Final = frozenset(("encoded", "histogram"))


def _compact(value: Any) -> Any:
    """Encoded histograms are for machines (compare); the report shows their summaries instead."""
    if isinstance(value, dict):
        return {k: ("(encoded histogram)" if k in _BULKY and isinstance(v, str) else _compact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def items(mapping: Any) -> tuple[Item, ...]:
    return tuple(Item(as_str(k), show(_compact(v))) for k, v in as_dict(mapping).items())


def diff(expected: Any, actual: Any) -> tuple[DiffLine, ...]:
    """A readable diff: two lines for scalars, a line diff of the JSON forms for structures."""
    exp, act = pretty(expected), pretty(actual)
    if len(exp) == 1 and len(act) == 1:
        return (DiffLine("-", f"expected: {exp[0]}"), DiffLine("+", f"actual:   {act[0]}"))
    out = []
    for line in difflib.ndiff(exp, act):
        if line[:1] in ("-", "+", " "):
            out.append(DiffLine(line[0], line[2:]))
    return tuple(out)


def finding_view(f: dict[str, Any], suppressed_because: str = "") -> FindingView:
    ev = as_dict(f.get("evidence"))
    keys = [k for k in EVIDENCE_ORDER if k in ev] + sorted(k for k in ev if k not in EVIDENCE_ORDER)
    d = diff(ev["expected"], ev["actual"]) if "expected" in ev and "actual" in ev else ()
    return FindingView(as_str(f.get("spec_id"), "?"), as_str(f.get("severity"), "?"), as_str(f.get("category")),
                       as_str(f.get("message")), tuple(Item(k, show(ev[k])) for k in keys), d, suppressed_because)


def check_view(c: dict[str, Any]) -> CheckView:
    findings = sorted(as_dicts(c.get("findings")), key=_severity_rank)
    judged = {as_str(k): v for k, v in as_dict(c.get("judged")).items() if isinstance(v, int)}
    return CheckView(as_str(c.get("check"), "?"), as_str(c.get("outcome"), "error"),
                     tuple(as_str(s) for s in as_list(c.get("spec_ids"))), as_str(c.get("reason")),
                     tuple(finding_view(f) for f in findings), items(c.get("details")),
                     as_str(c.get("description")), judged_text(judged), tally(findings))


def tally(findings: list[dict[str, Any]]) -> str:
    """Findings counted by severity; info alone reads as notes, so a pass does not look like a problem."""
    sev = [as_str(f.get("severity")) for f in findings]
    if sev and all(s == "info" for s in sev):
        return f"{len(sev)} note{'s' if len(sev) != 1 else ''}"
    parts = [(sev.count(k), k) for k in ("violation", "warning", "info")]
    return ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for n, k in parts if n)


def _severity_rank(f: dict[str, Any]) -> int:
    return {"violation": 0, "warning": 1, "info": 2}.get(as_str(f.get("severity")), 3)


def _requests(scenario: dict[str, Any]) -> tuple[Item, ...]:
    req = as_dict(scenario.get("requests"))
    out = [Item("total", show(req.get("total", 0))), Item("ok", show(req.get("ok", 0)))]
    for path, counts in as_dict(req.get("by_path")).items():
        c = as_dict(counts)
        out.append(Item(as_str(path), ", ".join(f"{k} {show(v)}" for k, v in c.items())))
    return tuple(out)


def _loss_account(checks: list[dict[str, Any]]) -> tuple[Item, ...]:
    loss = next((c for c in checks if c.get("check") == "loss"), None)
    return items(as_dict(loss.get("details"))) if loss else ()


def anchor(name: str, index: int) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:60]
    return f"s{index}-{safe}"


NO_TIMELINE: Final = TimelineView(None, (), "")


def had_faults(s: dict[str, Any]) -> bool:
    """Whether the scenario has anything for the fault timeline: a fault record, ingest-mode blocks
    or an anomaly signal. Without one the timeline is left out rather than drawn empty."""
    settings = as_dict(s.get("settings"))
    return bool(as_dicts(s.get("timeline")) or as_list(settings.get("modes")) or as_dicts(s.get("signals")))


def scenario_view(s: dict[str, Any], index: int) -> ScenarioView:
    name = as_str(s.get("name"), f"scenario {index + 1}")
    here = anchor(name, index)
    checks = as_dicts(s.get("checks"))
    suppressed = tuple(finding_view(as_dict(x.get("finding")), as_str(x.get("reason"), "no reason given"))
                       for x in as_dicts(s.get("suppressed")))
    return ScenarioView(
        name=name, anchor=here, number=index + 1, description=as_str(s.get("description")), file=as_str(s.get("file")),
        status=as_str(s.get("status"), "error"), reasons=_distinct(as_str(r) for r in as_list(s.get("reasons"))),
        error=as_str(s.get("error")), duration_s=as_float(s.get("duration_s")), requests=_requests(s),
        checks=tuple(replace(v, anchor=f"{here}-{anchor(v.name, i)}") for i, v in enumerate(map(check_view, checks))),
        suppressed=suppressed, latency=latency_sections(s.get("latency")),
        timeline=timeline_view(s, name) if had_faults(s) else NO_TIMELINE, hops=hop_rows(s.get("counters"), s),
        loss=_loss_account(checks),
        topology=topology_view(s, name), settings=items(s.get("settings")),
        groups=finding_groups(f for c in checks for f in as_dicts(c.get("findings"))), pairing=items(s.get("pairing")),
    )


_EXAMPLE: Final = ("trace_id", "span_id", "attribute", "expected", "actual")


def finding_groups(findings: Iterable[dict[str, Any]]) -> tuple[FindingGroupView, ...]:
    """Findings grouped by (SPEC id, severity, message): worst first, then most frequent. A gateway
    that gets one thing wrong gets it wrong on every span; the groups say so in one line each."""
    counts: dict[tuple[str, str, str], int] = {}
    examples: dict[tuple[str, str, str], tuple[Item, ...]] = {}
    for f in findings:
        k = (as_str(f.get("spec_id"), "?"), as_str(f.get("severity"), "?"), as_str(f.get("message")))
        counts[k] = counts.get(k, 0) + 1
        ev = as_dict(f.get("evidence"))
        examples.setdefault(k, tuple(Item(e, show(ev[e])) for e in _EXAMPLE if e in ev))
    rank = {"violation": 0, "warning": 1, "info": 2}
    order = sorted(counts, key=lambda k: (rank.get(k[1], 3), -counts[k], k[0], k[2]))
    return tuple(FindingGroupView(k[0], k[1], k[2], counts[k], examples[k]) for k in order)


def _distinct(reasons: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    for r in reasons:
        seen[r] = seen.get(r, 0) + 1
    return tuple(r if n == 1 else f"{r} (×{n})" for r, n in seen.items())


def _counts(values: list[str]) -> tuple[tuple[str, int], ...]:
    return tuple((k, values.count(k)) for k in STATUSES if values.count(k))


def build_view(results: dict[str, Any]) -> ReportView:
    """The whole report's view model from a results dict."""
    run = as_dict(results.get("run"))
    schema = as_str(results.get("schema"), "missing")
    note = "" if schema == SCHEMA else f"This report expects schema {SCHEMA}; the file says {schema}: some sections may be empty."
    scenarios = tuple(scenario_view(s, i) for i, s in enumerate(run_order(as_dicts(results.get("scenarios")))))
    outcomes = [c.outcome for s in scenarios for c in s.checks]
    return ReportView(
        run_id=as_str(run.get("id"), "unnamed run"), status=as_str(results.get("status"), "error"), schema=schema,
        schema_note=note, duration_s=as_float(run.get("duration_s")),
        scenario_counts=_counts([s.status for s in scenarios]), check_counts=_counts(outcomes),
        gateway=items(run.get("gateway")), environment=items(results.get("environment")), scenarios=scenarios,
        matrix=matrix(scenarios),
    )


def run_order(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scenarios by start time, the order the run ran them; the file's order when a start is missing."""
    starts = [_start(s) for s in scenarios]
    if any(t is None for t in starts):
        return scenarios
    return [s for _, _, s in sorted(zip(starts, range(len(scenarios)), scenarios), key=lambda x: (x[0], x[1]))]


def _start(s: dict[str, Any]) -> int | None:
    # Nanosecond times are decimal strings in results.json; a float would round them to 256 ns.
    raw = s.get("started_ns")
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return int(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
