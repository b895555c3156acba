"""Judging spans without a live run: the checks that need only spans (semconv, gateway-spans,
redaction against named canaries and secret shapes), one verdict, and a run record in the same
``results.json`` / HTML / JUnit form as ``testbed run``. Shared by ``testbed lint`` and
``testbed watch``; pure apart from ``write_run``.

Checks that need the provider journal, client timings or counters (values, streaming,
propagation, loss, exporter, isolation, latency) are not run: a capture does not hold their
evidence, and a check that cannot see its evidence must not pass (RUN-03).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.checks.base import run_check
from testbed.checks.evidence import Evidence, ScenarioSettings, SpanView
from testbed.checks.gateway_spans import GatewaySpansCheck
from testbed.checks.result import CheckResult
from testbed.checks.semconv import SemconvCheck
from testbed.checks.suppress import FailOn, verdict
from testbed.lint.secrets_scan import judge_redaction
from testbed.runner.results import ScenarioOutcome, environment, results_json

CHECKS = ("semconv", "gateway-spans", "redaction")


@dataclass(frozen=True, slots=True)
class LintSettings:
    """What the user declares about the capture (there is no scenario to say it)."""

    name: str = "lint"
    convention: str = "genai-1.41"
    canaries: tuple[str, ...] = ()
    exclude_request_data: bool = False
    server_spans: bool = False
    fail_on: FailOn = "violation"
    sources: tuple[str, ...] = field(default_factory=tuple)


def judge_spans(spans: Sequence[SpanView], st: LintSettings) -> list[CheckResult]:
    settings = ScenarioSettings(name=st.name, convention=st.convention, exclude_request_data=st.exclude_request_data,
                                expects_server_span=st.server_spans)
    ev = Evidence(settings=settings, spans=tuple(spans))
    results = [run_check(SemconvCheck(), ev), run_check(GatewaySpansCheck(), ev)]
    results.append(judge_redaction(spans, st.canaries, convention=st.convention,
                                   exclude_request_data=st.exclude_request_data, scenario=st.name))
    return results


def outcome_for(spans: Sequence[SpanView], st: LintSettings, started_ns: int) -> ScenarioOutcome:
    """One scenario's worth of record for the report: the spans' verdict."""
    v = verdict(judge_spans(spans, st), (), st.fail_on, st.name)
    out = ScenarioOutcome(st.name, ", ".join(st.sources), "Saved or live OTLP spans judged without a live run: "
                          "GenAI conventions, gateway span structure and resource, secrets and named canaries.",
                          status=v.status, reasons=v.reasons, started_ns=started_ns, finished_ns=time.time_ns(),
                          verdict=v)
    out.settings = {"convention": st.convention, "exclude_request_data": st.exclude_request_data,
                    "server_spans": st.server_spans, "checks": list(CHECKS), "sources": list(st.sources),
                    "named_canaries": len(st.canaries)}
    out.evidence_counts = {"spans": len(spans)}
    return out


def write_run(outcome: ScenarioOutcome, out_dir: str | Path, tool: str) -> tuple[str, dict[str, Path]]:
    """results.json, index.html and junit.xml under ``out_dir/<run id>/``."""
    from testbed.report.writer import write_reports

    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    gateway: dict[str, Any] = {"name": tool, "profile": None, "convention": outcome.settings.get("convention"),
                               "reference_stack": False}
    doc = results_json(run_id, gateway, [outcome], outcome.started_ns, outcome.finished_ns, environment())
    return run_id, write_reports(doc, Path(out_dir) / run_id, write_results=True)
