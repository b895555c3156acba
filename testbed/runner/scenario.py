"""Scenario files: YAML -> frozen dataclasses, strictly (pure apart from reading the file).

A scenario declares one behaviour to test: the gateway under test, stack settings, an open-loop
workload, an optional timeline of ingest modes (for isolation, SPEC 7), a fault timeline
(validated against the SPEC 10 catalogue), the checks to run with their thresholds, suppressions
and the failure threshold. docs/runner.md documents every key. Unknown keys, wrong types,
unknown checks and faults that do not fit their target raise :class:`ScenarioError` naming the
file, the key path and what was expected; the schema itself is in
:mod:`testbed.runner.scenario_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from testbed.checks.evidence import LatencyBudget
from testbed.checks.suppress import Suppression
from testbed.fault_catalogue import CATALOGUE, MODE_FAULTS
from testbed.runner.scenario_schema import (
    MIN_BLOCKS, NAME_RE, MixEntryModel, ScenarioModel, StackModel, ThresholdsModel, WorkloadModel, blocks_of,
)
from testbed.schema import SchemaError, load_file, validate

ScenarioError = SchemaError
"""What a broken scenario or gateway profile raises: file, key path, what was expected."""

__all__ = [
    "Fault", "MixEntry", "Modes", "Scenario", "ScenarioError", "StackSpec", "Thresholds", "Workload",
    "MIN_BLOCKS", "NAME_RE", "blocks_of", "load_scenario", "load_scenarios", "parse_scenario",
]

DEFAULT_CHECKS: Final = ("semconv", "semconv-values", "gateway-spans", "streaming", "propagation",
                         "redaction", "loss", "exporter", "metrics", "client-view")
TraceparentMode = Literal["fresh", "none", "invalid"]


@dataclass(frozen=True, slots=True)
class MixEntry:
    """One kind of request in the workload (chat completions in the OpenAI format)."""

    model: str
    weight: float = 1.0
    stream: bool = False
    tools: bool = False
    prompt_tokens: int = 16
    max_tokens: int = 16
    n: int = 1
    direct_model: str | None = None
    """Upstream model name for direct requests (LAT-04); defaults to ``model``."""


@dataclass(frozen=True, slots=True)
class Workload:
    rate_per_s: float
    duration_s: float
    process: Literal["constant", "poisson"] = "constant"
    seed: int = 0
    warmup_s: float = 0.0
    mix: tuple[MixEntry, ...] = (MixEntry("gpt-4o-mini"),)
    canaries: bool = True
    direct: bool = False
    """Interleave direct-to-provider requests on alternating slots (LAT-04)."""
    comparator: bool = False
    """Add a third slot through a bare pass-through proxy the runner starts (LAT-04); needs ``direct``."""
    max_outstanding: int = 2000
    traceparent: TraceparentMode = "fresh"
    tracestate: str | None = None
    timeout_s: float = 30.0
    hostile_per_s: float = 0.0
    """Hostile requests per second mixed into the load (``testbed.load.hostile``); judged by ``hostile``."""


@dataclass(frozen=True, slots=True)
class Modes:
    """The ingest-mode timeline for isolation (SPEC 7): ``sequence[i]`` holds from ``i*block_s``."""

    block_s: float
    sequence: tuple[str, ...]

    def mode_at(self, offset_s: float) -> str:
        i = int(offset_s // self.block_s)
        return self.sequence[min(max(i, 0), len(self.sequence) - 1)]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault of the timeline; ``duration_s`` None means until the end of the load."""

    name: str
    target: str
    kind: str
    at_s: float = 0.0
    duration_s: float | None = None
    times: int | None = None
    probability: float | None = None
    match: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec_id(self) -> str:
        return CATALOGUE[self.kind].spec_id


@dataclass(frozen=True, slots=True)
class StackSpec:
    exclude_request_data: bool = False
    capture_content: bool = True
    behaviours: tuple[Mapping[str, Any], ...] = ()
    """Fake-provider behaviour rules (docs/fake_providers.md), applied before the load."""
    exporter: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Exporter configuration overrides, by section (a fresh stack is started when set)."""
    nats_cluster: int = 0
    """Nodes of an embedded JetStream cluster (0: one nats-server); the stream has one replica per node."""
    gateways: int = 1
    """Reference gateways; the runner sends each request to the next one, round-robin."""
    exporters: int = 1
    """Exporters sharing the one durable consumer."""

    @property
    def shape(self) -> tuple[int, int, int]:
        """What decides the processes a session starts; scenarios of one shape share a stack."""
        return (self.nats_cluster, self.gateways, self.exporters)


@dataclass(frozen=True, slots=True)
class Thresholds:
    iso_min_samples: int = 300
    """ISO-03: completed requests each mode needs, by default."""
    bootstrap_resamples: int = 1000
    backoff_cap_s: float = 16.0
    latency: tuple[LatencyBudget, ...] = ()


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    workload: Workload
    file: str = ""
    description: str = ""
    default: bool = False
    sets: tuple[str, ...] = ()
    """Named scenario sets this scenario belongs to (``testbed run --set NAME``); ``default: true``
    puts it in the ``default`` set."""
    gateway: str = "reference"
    stack: StackSpec = field(default_factory=StackSpec)
    modes: Modes | None = None
    faults: tuple[Fault, ...] = ()
    checks: tuple[str, ...] = DEFAULT_CHECKS
    thresholds: Thresholds = field(default_factory=Thresholds)
    transient_faults: bool = True
    permanent_drop_reasons: tuple[str, ...] = ()
    expected_findings: tuple[Suppression, ...] = ()
    fail_on: Literal["violation", "warning"] = "violation"
    drain_timeout_s: float = 30.0

    def mode_faults(self) -> tuple[Fault, ...]:
        """The faults that put the ingest (or the bus) into each non-healthy mode block."""
        if self.modes is None:
            return ()
        out = []
        for i, mode in enumerate(self.modes.sequence):
            if mode == "healthy":
                continue
            target, kind, params = MODE_FAULTS[mode]
            out.append(Fault(f"mode-{i}-{mode}", target, kind, i * self.modes.block_s, self.modes.block_s,
                             params=dict(params)))
        return tuple(out)

    def in_set(self, name: str) -> bool:
        return name in self.sets or (name == "default" and self.default)

    def all_faults(self) -> tuple[Fault, ...]:
        return tuple(sorted((*self.faults, *self.mode_faults()), key=lambda f: f.at_s))


# --- reading ------------------------------------------------------------------------------------

def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    return _scenario(load_file(ScenarioModel, path), str(path))


def load_scenarios(directory: str | Path) -> dict[str, Scenario]:
    """Every ``*.yaml`` scenario in ``directory`` by name; duplicate names are refused."""
    out: dict[str, Scenario] = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        sc = load_scenario(path)
        if sc.name in out:
            raise ScenarioError(str(path), "name", f"duplicate scenario name {sc.name!r} (also in {out[sc.name].file})")
        out[sc.name] = sc
    return out


def parse_scenario(data: Any, file: str = "<scenario>") -> Scenario:
    """Validate a scenario document already read from ``file``."""
    return _scenario(validate(ScenarioModel, data, file), file)


def _scenario(m: ScenarioModel, file: str) -> Scenario:
    workload = _workload(m.workload)
    return Scenario(
        name=m.name, workload=workload, file=file, description=m.description, default=m.default, sets=m.sets,
        gateway=m.gateway, stack=_stack(m.stack),
        modes=Modes(m.modes.block_s, tuple(m.modes.sequence)) if m.modes is not None else None,
        faults=tuple(Fault(name=f.name or f"fault-{i}", target=f.target, kind=f.kind, at_s=f.at_s,  # type: ignore[attr-defined]
                           duration_s=f.duration_s, times=f.times, probability=f.probability,
                           match=f.match.model_dump(exclude_none=True), params=f.params())
                     for i, f in enumerate(m.faults)),
        checks=tuple(m.checks) if m.checks is not None else DEFAULT_CHECKS, thresholds=_thresholds(m.thresholds),
        transient_faults=m.transient_faults, permanent_drop_reasons=m.permanent_drop_reasons,
        expected_findings=m.expected_findings, fail_on=m.fail_on, drain_timeout_s=m.drain_timeout_s,
    )


def _workload(m: WorkloadModel) -> Workload:
    values = m.model_dump(exclude={"mix"})
    mix = tuple(_mix(e) for e in m.mix) if m.mix else Workload.__dataclass_fields__["mix"].default
    return Workload(**values, mix=mix)


def _mix(m: MixEntryModel) -> MixEntry:
    return MixEntry(**m.model_dump())


def _stack(m: StackModel) -> StackSpec:
    return StackSpec(exclude_request_data=m.exclude_request_data, capture_content=m.capture_content,
                     behaviours=tuple(rule.to_dict() for rule in m.behaviours),
                     exporter=m.exporter.model_dump(exclude_unset=True),
                     nats_cluster=m.nats_cluster, gateways=m.gateways, exporters=m.exporters)


def _thresholds(m: ThresholdsModel) -> Thresholds:
    return Thresholds(iso_min_samples=m.iso_min_samples, bootstrap_resamples=m.bootstrap_resamples,
                      backoff_cap_s=m.backoff_cap_s,
                      latency=tuple(LatencyBudget(percentile=b.percentile, overhead_ms=b.overhead_ms,
                                                  comparator_ratio=b.comparator_ratio) for b in m.latency))
