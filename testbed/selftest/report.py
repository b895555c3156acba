"""The selftest's report file, pure: clean runs and defects as JSON (schema ``testbed.selftest/1``),
so CI keeps the strict verdict and every miss's reason next to the run's other reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from testbed.selftest.judge import Catch, CleanJudgement, passed

SCHEMA: Final = "testbed.selftest/1"


def _catch(c: Catch) -> dict[str, Any]:
    d = c.defect
    return {"defect": d.name, "switch": c.switch or d.name, "component": d.component, "check": d.check,
            "spec_ids": list(d.spec_ids), "severity": d.severity, "scenario": d.scenario, "status": c.status,
            "sound": c.sound, "outcome": c.outcome, "finding": c.finding.to_json() if c.finding else None,
            "also_failed": list(c.collateral), "reason": c.reason}


def selftest_json(run_id: str, cleans: Sequence[CleanJudgement], catches: Sequence[Catch],
                  seconds: float) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "run_id": run_id, "passed": passed(cleans, catches), "seconds": round(seconds, 1),
        "clean_runs": [{"scenario": c.scenario, "passed": c.ok, "outcomes": dict(c.outcomes),
                        "problems": list(c.problems)} for c in cleans],
        "defects": [_catch(c) for c in catches],
    }
