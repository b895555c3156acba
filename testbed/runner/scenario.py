"""Scenario files: YAML -> frozen dataclasses, strictly (pure apart from reading the file).

A scenario declares one behaviour to test: the gateway under test, stack settings, an open-loop
workload, an optional timeline of ingest modes (for isolation, SPEC 7), a fault timeline
(validated against the SPEC 10 catalogue), the checks to run with their thresholds, suppressions
and the failure threshold. docs/runner.md documents every key. Unknown keys, wrong types,
unknown checks and faults that do not fit their target raise :class:`ScenarioError` naming the
file, the key path and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from testbed.checks.base import REGISTRY
from testbed.checks.evidence import LatencyBudget
from testbed.checks.suppress import Suppression, parse_suppressions
from testbed.errors import ConfigError
from testbed.runner._fields import Fields, ScenarioError
from testbed.runner.faults import (
    CATALOGUE, COMMON_FIELDS, MATCH_KEYS, MODE_FAULTS, MODES, PARAM_TYPES, SIGNALS, TARGETS,
)

__all__ = [
    "Fault", "MixEntry", "Modes", "Scenario", "ScenarioError", "StackSpec", "Thresholds", "Workload",
    "load_scenario", "load_scenarios", "parse_scenario",
]

DEFAULT_CHECKS: Final = ("semconv", "semconv-values", "gateway-spans", "streaming", "propagation",
                         "redaction", "loss", "exporter", "metrics", "client-view")
NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
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


MIN_BLOCKS: Final = 3
"""ISO-03: every mode appears in at least 3 blocks, so slow drift of the machine falls on all alike."""


def blocks_of(sequence: tuple[str, ...] | list[str], mode: str) -> list[int]:
    """Start indexes of the blocks of ``mode``: adjacent slots of one mode make one block."""
    return [i for i, m in enumerate(sequence) if m == mode and (i == 0 or sequence[i - 1] != mode)]


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


# --- parsing -------------------------------------------------------------------------------------

def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(p), "", f"cannot read the file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(str(p), where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_scenario(data, str(p))


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
    top = Fields(data, file)
    name = top.str("name")
    if not NAME_RE.match(name):
        raise top.error("name", f"expected lowercase letters, digits, '-', '_' or '.', got {name!r}")
    workload = _workload(Fields(top.raw("workload"), file, "workload"))
    modes = _modes(top.sub("modes"), workload) if top.has("modes") else None
    faults = tuple(_fault(Fields(f, file, top.at("faults") + f"[{i}]"), workload, i)
                   for i, f in enumerate(top.list("faults", [])))
    _unique_fault_names(faults, file)
    checks = _checks(top)
    try:
        suppressions = parse_suppressions(top.raw("expected_findings", None), "expected_findings")
    except ConfigError as exc:
        raise ScenarioError(file, "", str(exc)) from None
    sc = Scenario(
        name=name, workload=workload, file=file, description=str(top.raw("description", "")),
        default=top.bool("default", False), sets=_sets(top), gateway=top.str("gateway", "reference"),
        stack=_stack(top.sub("stack")), modes=modes, faults=faults, checks=checks,
        thresholds=_thresholds(top.sub("thresholds")), transient_faults=top.bool("transient_faults", True),
        permanent_drop_reasons=tuple(_str_list(top, "permanent_drop_reasons")),
        expected_findings=suppressions, fail_on=top.str("fail_on", "violation", choices=("violation", "warning")),
        drain_timeout_s=top.number("drain_timeout_s", 30.0, minimum=0, exclusive=True),
    )
    top.done()
    if "isolation" in checks and modes is None:
        raise top.error("checks", "the isolation check needs a 'modes' timeline (SPEC 7)")
    if "latency" in checks and not workload.direct:
        raise top.error("checks", "the latency check needs workload.direct: true (LAT-04)")
    return sc


def _sets(top: Fields) -> tuple[str, ...]:
    names = _str_list(top, "sets")
    for i, name in enumerate(names):
        if not NAME_RE.match(name):
            raise top.error("sets", f"item [{i}]: expected a set name of lowercase letters, digits, '-', '_' or '.'")
    if "default" in names:
        raise top.error("sets", "the default set is marked with 'default: true'")
    return tuple(names)


def _str_list(f: Fields, key: str) -> list[str]:
    items = f.list(key, [])
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise f.error(key, f"item [{i}]: expected a non-empty string")
    return items


def _workload(f: Fields) -> Workload:
    mix_raw = f.list("mix", None)
    if mix_raw is not None and not mix_raw:
        raise f.error("mix", "expected at least one item")
    mix = tuple(_mix(Fields(m, f.file, f.at("mix") + f"[{i}]")) for i, m in enumerate(mix_raw or []))
    tp = f.str("traceparent", "fresh", choices=("fresh", "none", "invalid"))
    w = Workload(
        rate_per_s=f.number("rate_per_s", minimum=0, exclusive=True, maximum=100_000),
        duration_s=f.number("duration_s", minimum=0, exclusive=True, maximum=3600),
        process=f.str("process", "constant", choices=("constant", "poisson")),
        seed=f.int("seed", 0), warmup_s=f.number("warmup_s", 0.0),
        mix=mix or Workload.__dataclass_fields__["mix"].default,
        canaries=f.bool("canaries", True), direct=f.bool("direct", False), comparator=f.bool("comparator", False),
        max_outstanding=f.int("max_outstanding", 2000, minimum=1),
        traceparent=tp, tracestate=f.str("tracestate", None),
        timeout_s=f.number("timeout_s", 30.0, minimum=0, exclusive=True),
        hostile_per_s=f.number("hostile_per_s", 0.0, minimum=0),
    )
    f.done()
    if w.warmup_s >= w.duration_s:
        raise f.error("warmup_s", f"expected less than duration_s ({w.duration_s:g}), got {w.warmup_s:g}")
    if w.comparator and not w.direct:
        raise f.error("comparator", "the comparator path is compared with the direct path: set direct: true (LAT-04)")
    if w.rate_per_s * w.duration_s < 1:
        raise f.error("rate_per_s", "rate_per_s × duration_s gives no request at all")
    return w


def _mix(f: Fields) -> MixEntry:
    m = MixEntry(
        model=f.str("model"), weight=f.number("weight", 1.0, minimum=0, exclusive=True),
        stream=f.bool("stream", False), tools=f.bool("tools", False),
        prompt_tokens=f.int("prompt_tokens", 16, minimum=1, maximum=100_000),
        max_tokens=f.int("max_tokens", 16, minimum=1, maximum=100_000), n=f.int("n", 1, minimum=1, maximum=8),
        direct_model=f.str("direct_model", None),
    )
    f.done()
    return m


def _modes(f: Fields, w: Workload) -> Modes:
    seq = f.list("sequence")
    for i, mode in enumerate(seq):
        if mode not in MODES:
            raise f.error("sequence", f"item [{i}]: expected one of {', '.join(sorted(MODES))}; got {mode!r}")
    modes = Modes(block_s=f.number("block_s", minimum=0, exclusive=True), sequence=tuple(seq))
    f.done()
    if "healthy" not in modes.sequence or len(set(modes.sequence)) < 2:
        raise f.error("sequence", "expected 'healthy' and at least one faulted mode")
    for mode in sorted(set(modes.sequence)):
        if len(blocks_of(modes.sequence, mode)) < MIN_BLOCKS:
            raise f.error("sequence", f"mode {mode!r} needs at least {MIN_BLOCKS} separate blocks (ISO-03)")
    if modes.block_s * len(modes.sequence) > w.duration_s + 1e-9:
        raise f.error("block_s", f"{len(modes.sequence)} blocks of {modes.block_s:g} s outlast "
                                 f"workload.duration_s ({w.duration_s:g} s)")
    return modes


def _fault(f: Fields, w: Workload, index: int) -> Fault:
    target = f.str("target", choices=TARGETS)
    kind_name = f.str("kind", choices=CATALOGUE)
    kind = CATALOGUE[kind_name]
    if target not in kind.targets:
        raise f.error("kind", f"{kind_name} ({kind.spec_id}) applies to {', '.join(sorted(kind.targets))}, "
                              f"not to target {target!r}")
    at_s = f.number("at_s", 0.0)
    if at_s >= w.duration_s:
        raise f.error("at_s", f"expected less than workload.duration_s ({w.duration_s:g}), got {at_s:g}")
    match = f.mapping("match", {})
    for key, value in match.items():
        if key not in MATCH_KEYS or not isinstance(value, str):
            raise f.error("match", f"expected keys {', '.join(sorted(MATCH_KEYS))} with string values; got {key!r}")
    params = _fault_params(f, kind.params)
    fault = Fault(
        name=f.str("name", f"fault-{index}"), target=target, kind=kind_name, at_s=at_s,
        duration_s=f.number("duration_s", None, minimum=0, exclusive=True), times=f.int("times", None, minimum=1),
        probability=f.number("probability", None, maximum=1.0), match=dict(match), params=params,
    )
    f.done(params)
    if target == "provider" and "model" not in match:
        raise f.error("match", "a provider fault selects requests by model name: set match.model (SPEC 10)")
    if "signal" in params and params["signal"] not in SIGNALS:
        raise f.error("signal", f"expected one of {', '.join(sorted(SIGNALS))}; got {params['signal']!r}")
    return fault


def _fault_params(f: Fields, allowed: frozenset[str]) -> dict[str, Any]:
    inline = {k: v for k, v in f.data.items() if k not in COMMON_FIELDS and k != "params"}
    nested = f.mapping("params", {})
    params = {**inline, **nested}
    for key, value in params.items():
        where = key if key in inline else f"params.{key}"
        if key not in allowed:
            expected = ", ".join(sorted(allowed)) or "none"
            raise f.error(where, f"unknown parameter for kind {f.data.get('kind')!r} (expected: {expected})")
        _check_param(f, where, PARAM_TYPES[key], value)
    return params


def _check_param(f: Fields, where: str, kind: str, value: Any) -> None:
    ok = {
        "number": isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0,
        "int": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "bool": isinstance(value, bool), "str": isinstance(value, str), "any": True,
    }[kind]
    if not ok:
        expected = {"number": "a number >= 0", "int": "an integer >= 0"}.get(kind, f"a {kind}")
        raise f.error(where, f"expected {expected}, got {value!r}")


def _unique_fault_names(faults: tuple[Fault, ...], file: str) -> None:
    seen: set[str] = set()
    for i, fault in enumerate(faults):
        if fault.name in seen:
            raise ScenarioError(file, f"faults[{i}].name", f"duplicate fault name {fault.name!r}")
        seen.add(fault.name)


def _checks(top: Fields) -> tuple[str, ...]:
    names = _str_list(top, "checks") if top.has("checks") else list(DEFAULT_CHECKS)
    top.raw("checks", None)
    for i, name in enumerate(names):
        if name not in REGISTRY:
            raise top.error("checks", f"item [{i}]: unknown check {name!r} (known: {', '.join(REGISTRY)})")
    return tuple(names)


def _stack(f: Fields) -> StackSpec:
    behaviours = f.list("behaviours", [])
    for i, rule in enumerate(behaviours):
        if not isinstance(rule, Mapping):
            raise f.error("behaviours", f"item [{i}]: expected a mapping (a fake-provider behaviour rule)")
    exporter = f.mapping("exporter", {})
    for section, values in exporter.items():
        if not isinstance(values, Mapping):
            raise f.error("exporter", f"section {section!r}: expected a mapping")
    spec = StackSpec(exclude_request_data=f.bool("exclude_request_data", False),
                     capture_content=f.bool("capture_content", True),
                     behaviours=tuple(dict(b) for b in behaviours), exporter={k: dict(v) for k, v in exporter.items()},
                     nats_cluster=f.int("nats_cluster", 0, maximum=7), gateways=f.int("gateways", 1, minimum=1, maximum=16),
                     exporters=f.int("exporters", 1, minimum=1, maximum=16))
    f.done()
    if spec.nats_cluster == 2:
        raise f.error("nats_cluster", "expected 0 (one server) or 3 or more nodes: two nodes lose their quorum with one")
    return spec


def _thresholds(f: Fields) -> Thresholds:
    budgets = []
    for i, raw in enumerate(f.list("latency", [])):
        b = Fields(raw, f.file, f.at("latency") + f"[{i}]")
        budget = LatencyBudget(percentile=b.number("percentile", minimum=0, exclusive=True, maximum=100),
                               overhead_ms=b.number("overhead_ms", None),
                               comparator_ratio=b.number("comparator_ratio", None, minimum=0, exclusive=True))
        b.done()
        if budget.overhead_ms is None and budget.comparator_ratio is None:
            raise b.error("overhead_ms", "a latency budget needs overhead_ms or comparator_ratio (LAT-07)")
        budgets.append(budget)
    t = Thresholds(iso_min_samples=f.int("iso_min_samples", 300, minimum=1),
                   bootstrap_resamples=f.int("bootstrap_resamples", 1000, minimum=10),
                   backoff_cap_s=f.number("backoff_cap_s", 16.0, minimum=0, exclusive=True), latency=tuple(budgets))
    f.done()
    return t
