"""The ``Check`` protocol, the safe way to run one, and the explicit registry of all checks.

A check implements ``name``, ``spec_ids`` and ``run(evidence) -> CheckResult``. It must be pure
(no sockets, clocks or files), report every finding rather than stop at the first, state its
judged counts, and return ``inconclusive`` with a reason when its preconditions fail (RUN-03);
``CheckResult`` itself refuses ``passed`` with nothing judged. ``run_check`` guarantees
the other promise, never raising: a bug inside a check becomes an ``error`` result.
Nothing registers itself at import time; ``REGISTRY`` is the one table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from testbed.checks.client_view import ClientViewCheck
from testbed.checks.evidence import Evidence
from testbed.checks.duplicates import DuplicatesCheck
from testbed.checks.exporter import ExporterCheck
from testbed.checks.gateway_spans import GatewaySpansCheck
from testbed.checks.hostile import HostileCheck
from testbed.checks.isolation import IsolationCheck
from testbed.checks.latency import LatencyCheck
from testbed.checks.loss import LossCheck
from testbed.checks.propagation import PropagationCheck
from testbed.checks.redaction import RedactionCheck
from testbed.checks.result import CheckResult
from testbed.checks.semconv import SemconvCheck
from testbed.checks.semconv_values import ValuesCheck
from testbed.checks.streaming import StreamingCheck
from testbed.checks.metrics import MetricsCheck
from testbed.checks.signals import SignalsCheck


@runtime_checkable
class Check(Protocol):
    name: str
    spec_ids: tuple[str, ...]

    def run(self, evidence: Evidence) -> CheckResult: ...


REGISTRY: dict[str, Check] = {
    c.name: c
    for c in (
        SemconvCheck(), ValuesCheck(), GatewaySpansCheck(), StreamingCheck(), PropagationCheck(),
        RedactionCheck(), LossCheck(), IsolationCheck(), LatencyCheck(), ExporterCheck(), MetricsCheck(),
        SignalsCheck(), ClientViewCheck(), HostileCheck(), DuplicatesCheck(),
    )
}


DESCRIPTIONS: dict[str, str] = {
    "semconv": "GenAI spans carry the convention's names, kinds, status, required attributes and types",
    "semconv-values": "span values (usage, model, ids, finish reasons) match what the provider sent; one span per upstream call",
    "gateway-spans": "SERVER and CLIENT span structure and the resource describe the gateway process",
    "streaming": "streamed calls: stream flag, usage, time to first chunk, span ends at the last chunk",
    "propagation": "trace context flows from the caller through the gateway to the provider",
    "redaction": "no prompt, answer or key reaches the telemetry when excluded; kept fields stay",
    "loss": "every expected span arrives once, or its loss is counted",
    "isolation": "a slow or failing ingest does not slow the request path",
    "latency": "gateway overhead over direct requests, within the declared budgets",
    "exporter": "OTLP exporter: headers, auth, retry rules, backoff with jitter",
    "metrics": "GenAI client metrics have the convention's shape and agree with the spans",
    "client-view": "the client's answer (finish reason, usage, streamed or not) is the provider's, translated",
    "duplicates": "no span arrives twice where no exporter kill excuses it",
    "signals": "the ingest's topology, host and pod lookups and anomaly signals agree with the spans and faults",
    "hostile": "bad input gets a 4xx in the OpenAI error format, never a 5xx or a hang, and never stalls export",
}
"""What each check verifies, in one line, for reports (RUN-03: shown with its judged counts)."""


def run_check(check: Check, evidence: Evidence) -> CheckResult:
    """Run one check; an exception inside it becomes an ``error`` result naming the exception."""
    try:
        result = check.run(evidence)
    except Exception as exc:  # a check must never take the run down with it
        return CheckResult(check.name, tuple(check.spec_ids), "error", (), f"{type(exc).__name__}: {exc}")
    if not isinstance(result, CheckResult):
        return CheckResult(check.name, tuple(check.spec_ids), "error", (), "the check returned no CheckResult")
    return result


def run_checks(evidence: Evidence, names: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the named checks (all by default) in registry order."""
    wanted = list(REGISTRY) if names is None else list(names)
    unknown = [n for n in wanted if n not in REGISTRY]
    results = [run_check(REGISTRY[n], evidence) for n in wanted if n in REGISTRY]
    results += [CheckResult(n, (), "error", (), "no such check") for n in unknown]
    return results
