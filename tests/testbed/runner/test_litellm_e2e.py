"""End to end against LiteLLM proxy, installed in its own venv as docs/gateways/litellm.md says:
the shipped profile runs baseline, streaming and redaction-on; LiteLLM sends no traceparent
upstream, yet every span is paired (by response id or the caller's trace id), semconv-values is
judged rather than inconclusive, and the known findings the profile declares are exactly what the
run shows (none stale). Skips with the reason where LiteLLM is not installed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testbed.runner.cli_entry import run_command

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LITELLM = Path(os.environ.get("TESTBED_LITELLM") or Path.cwd() / ".venv-litellm" / "bin" / "litellm")


@pytest.mark.skipif(not LITELLM.is_file(), reason="LiteLLM is not installed (docs/gateways/litellm.md)")
def test_litellm_is_judged_without_propagation_and_matches_its_known_findings(tmp_path: Path) -> None:
    code = run_command(["baseline", "streaming", "redaction-on"], "litellm", str(tmp_path))
    [run_dir] = list(tmp_path.iterdir())
    doc = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    for sc in doc["scenarios"]:
        outcomes = {c["check"]: c["outcome"] for c in sc["checks"]}
        assert outcomes["semconv-values"] == "passed", (sc["name"], outcomes)
        assert outcomes["suppressions"] == "passed", (sc["name"], sc["reasons"])
        assert sc["pairing"]["rate"] == 1.0 and "traceparent" not in sc["pairing"]["by_means"], sc["pairing"]
    assert code == 0, [sc["reasons"] for sc in doc["scenarios"]]
