"""The ``signals`` check (SPEC 13, SIG-01..04): topology edges agree with the spans, spans are found
by host, pod, namespace and instance, a provider fault raises its anomaly within one window, and a
signal no fault explains is a false alarm. Each rule gets evidence that breaks it."""

from __future__ import annotations

import dataclasses
from typing import Any

from testbed.checks.evidence import ClientRecord, Evidence, ScenarioSettings
from testbed.checks.signal_evidence import FaultWindow, SignalEvidence, fault_windows
from testbed.checks.signals import SignalsCheck
from testbed.runner.timeline import TimelineRecord

from tests.testbed.checks.builders import RESOURCE, T0, span

S = 1_000_000_000
GENAI = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai"}


def spans(n: int = 10) -> tuple[Any, ...]:
    return tuple(span(i, attributes=GENAI, status_code=2 if i == 0 else 0) for i in range(n))


def topology(all_spans: tuple[Any, ...]) -> dict[str, Any]:
    ordered = sorted(s.duration_ns for s in all_spans)
    return {"edges": [{"source": "gw", "target": "openai", "calls": len(all_spans), "errors": 1,
                       "p50_ms": ordered[4] / 1e6, "p99_ms": ordered[-1] / 1e6,
                       "windows": [{"calls": len(all_spans)}]}]}


def signal(kind: str, start_ns: int, fired_ns: int | None = None) -> dict[str, Any]:
    return {"kind": kind, "subject": {"service": "gw", "model": "m", "provider": "openai"},
            "window": {"start_ns": start_ns, "end_ns": start_ns + S}, "fired_ns": fired_ns or start_ns + 2 * S,
            "explanation": "median over threshold"}


def evidence(**changes: Any) -> Evidence:
    all_spans = changes.pop("spans", spans())
    sig = SignalEvidence(window_ns=S, topology=topology(all_spans), windows_judged=10,
                         resource_counts={("host.name", "box"): len(all_spans),
                                          ("service.instance.id", RESOURCE["service.instance.id"]): len(all_spans)},
                         load_start_ns=T0)
    sig = dataclasses.replace(sig, **changes)
    return Evidence(settings=ScenarioSettings(name="t", reference_gateway=True), spans=all_spans,
                    client=(ClientRecord(correlation_id="c", intended_ns=T0, sent_ns=T0),), signals=sig)


def violations(ev: Evidence, spec_id: str) -> list[str]:
    return [f.message for f in SignalsCheck().run(ev).findings if f.spec_id == spec_id and f.severity == "violation"]


SPIKE = FaultWindow("slow", "latency", "provider", T0 + 6 * S, T0 + 10 * S)


def test_a_healthy_run_with_agreeing_topology_and_queries_passes() -> None:
    result = SignalsCheck().run(evidence())
    assert result.outcome == "passed", [f.message for f in result.findings]
    assert result.judged["edges"] == 1 and result.judged["resource_values"] == 2


def test_an_edge_missing_or_disagreeing_with_the_spans_is_a_violation_sig_01() -> None:
    assert violations(evidence(topology={"edges": []}), "SIG-01")
    wrong = topology(spans())
    wrong["edges"][0]["errors"] = 0
    assert any("errors" in m for m in violations(evidence(topology=wrong), "SIG-01"))
    short = topology(spans())
    short["edges"][0]["windows"] = [{"calls": 3}]
    assert any("windows" in m for m in violations(evidence(topology=short), "SIG-01"))


def test_a_query_by_host_that_misses_spans_is_a_violation_sig_02() -> None:
    assert violations(evidence(resource_counts={("host.name", "box"): 3}), "SIG-02")


def test_a_reference_span_without_host_name_is_a_violation_sig_02() -> None:
    bare = tuple(dataclasses.replace(s, resource={k: v for k, v in s.resource.items() if k != "host.name"})
                 for s in spans())
    ev = evidence(spans=bare, resource_counts={("service.instance.id", RESOURCE["service.instance.id"]): 10})
    assert any("host.name" in m for m in violations(ev, "SIG-02"))


def test_a_fault_that_raises_its_signal_in_its_window_passes_with_the_delay_sig_03() -> None:
    result = SignalsCheck().run(evidence(faults=(SPIKE,), signals=(signal("latency_spike", T0 + 6 * S),)))
    assert result.outcome == "passed" and result.details["detection_delay_ms"] == [2000.0]


def test_a_fault_without_its_signal_or_with_a_late_one_is_a_violation_sig_03() -> None:
    assert violations(evidence(faults=(SPIKE,)), "SIG-03")
    late = evidence(faults=(SPIKE,), signals=(signal("latency_spike", T0 + 8 * S),))
    assert any("more than one window" in m for m in violations(late, "SIG-03"))


def test_a_fault_before_the_baseline_could_form_is_not_judged() -> None:
    early = FaultWindow("slow", "latency", "provider", T0 + S, None)
    result = SignalsCheck().run(evidence(faults=(early,)))
    assert not violations(evidence(faults=(early,)), "SIG-03") and result.judged["faults"] == 0


def test_a_signal_no_fault_explains_is_a_false_alarm_sig_04() -> None:
    assert violations(evidence(signals=(signal("latency_spike", T0 + 3 * S),)), "SIG-04")
    other_kind = evidence(faults=(SPIKE,), signals=(signal("latency_spike", T0 + 6 * S),
                                                    signal("error_rate_rise", T0 + 6 * S)))
    assert len(violations(other_kind, "SIG-04")) == 1


def test_fault_windows_pair_each_apply_with_its_clear() -> None:
    records = [TimelineRecord("slow", "latency", "provider", "apply", 6.0, 10, 20),
               TimelineRecord("slow", "latency", "provider", "clear", 10.0, 50, 60),
               TimelineRecord("len", "finish", "provider", "apply", 6.0, 30, 40)]
    assert fault_windows(records) == (FaultWindow("slow", "latency", "provider", 20, 50),
                                      FaultWindow("len", "finish", "provider", 40, None))
