"""The schema of a scenario file (pure): one model per mapping, the SPEC 10 fault catalogue as one
model per fault kind, and the rules that tie keys together (a fault starts before the load ends,
the isolation check needs a modes timeline). docs/runner.md documents every key.

:func:`testbed.runner.scenario.parse_scenario` validates a document against :class:`ScenarioModel`
and turns it into the frozen dataclasses the runner uses; ``testbed schema scenario`` prints
``ScenarioModel.model_json_schema()`` for editors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, Union

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema, create_model, model_validator
from pydantic.json_schema import JsonSchemaValue

from fake_providers.behaviours import BehaviourRule
from testbed.checks.base import REGISTRY
from testbed.checks.suppress import Suppression
from testbed.exporter.config_schema import ExporterConfigModel
from testbed.fault_catalogue import CATALOGUE, MODES, TARGETS, FaultKind
from testbed.fault_schema import param_fields
from testbed.schema import Items, KeyPathError, SchemaModel

__all__ = ["FaultModel", "MIN_BLOCKS", "NAME_RE", "ScenarioModel", "blocks_of"]

NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
MIN_BLOCKS: Final = 3
"""ISO-03: every mode appears in at least 3 blocks, so slow drift of the machine falls on all alike."""


def blocks_of(sequence: tuple[str, ...] | list[str], mode: str) -> list[int]:
    """Start indexes of the blocks of ``mode``: adjacent slots of one mode make one block."""
    return [i for i, m in enumerate(sequence) if m == mode and (i == 0 or sequence[i - 1] != mode)]


def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"expected lowercase letters, digits, '-', '_' or '.', got {value!r}")
    return value


Text = Annotated[str, Field(min_length=1)]
Name = Annotated[str, AfterValidator(_name), WithJsonSchema({"type": "string", "pattern": NAME_RE.pattern})]


class MixEntryModel(SchemaModel):
    """One kind of request in the workload."""

    model: Text
    weight: float = Field(1.0, gt=0)
    stream: bool = False
    tools: bool = False
    prompt_tokens: int = Field(16, ge=1, le=100_000)
    max_tokens: int = Field(16, ge=1, le=100_000)
    n: int = Field(1, ge=1, le=8)
    direct_model: Text | None = None


class WorkloadModel(SchemaModel):
    """The open-loop workload."""

    rate_per_s: float = Field(gt=0, le=100_000)
    duration_s: float = Field(gt=0, le=3600)
    process: Literal["constant", "poisson"] = "constant"
    seed: int = Field(0, ge=0)
    warmup_s: float = Field(0.0, ge=0)
    mix: Annotated[Items[MixEntryModel], Field(min_length=1)] | None = None
    canaries: bool = True
    direct: bool = False
    comparator: bool = False
    max_outstanding: int = Field(2000, ge=1)
    traceparent: Literal["fresh", "none", "invalid"] = "fresh"
    tracestate: Text | None = None
    timeout_s: float = Field(30.0, gt=0)
    hostile_per_s: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> WorkloadModel:
        if self.warmup_s >= self.duration_s:
            raise KeyPathError("warmup_s", f"expected less than duration_s ({self.duration_s:g}), got {self.warmup_s:g}")
        if self.comparator and not self.direct:
            raise KeyPathError("comparator", "the comparator path is compared with the direct path: set direct: true (LAT-04)")
        if self.rate_per_s * self.duration_s < 1:
            raise KeyPathError("rate_per_s", "rate_per_s × duration_s gives no request at all")
        return self


class ModesModel(SchemaModel):
    """The ingest-mode timeline for isolation (SPEC 7)."""

    block_s: float = Field(gt=0)
    sequence: Items[Literal[tuple(sorted(MODES))]]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _balanced(self) -> ModesModel:
        if "healthy" not in self.sequence or len(set(self.sequence)) < 2:
            raise KeyPathError("sequence", "expected 'healthy' and at least one faulted mode")
        for mode in sorted(set(self.sequence)):
            if len(blocks_of(self.sequence, mode)) < MIN_BLOCKS:
                raise KeyPathError("sequence", f"mode {mode!r} needs at least {MIN_BLOCKS} separate blocks (ISO-03)")
        return self


class MatchModel(SchemaModel):
    """Which requests a fault hits; strings are glob patterns."""

    path: str | None = None
    model: str | None = None
    tenant: str | None = None


class _FaultBase(SchemaModel):
    name: Text | None = None
    target: Literal[TARGETS]  # type: ignore[valid-type]
    at_s: float = Field(0.0, ge=0)
    duration_s: float | None = Field(None, gt=0)
    times: int | None = Field(None, ge=1)
    probability: float | None = Field(None, ge=0, le=1)
    match: MatchModel = MatchModel()

    @model_validator(mode="after")
    def _fits_its_target(self) -> _FaultBase:
        kind = CATALOGUE[self.kind]  # type: ignore[attr-defined]
        # The catalogue judges target, match keys and parameters, in the words the ingest uses too.
        if problem := kind.problem(self.target, self.match.model_dump(exclude_none=True), self.params()):
            path, message = problem
            nested = getattr(self, "params_", None)
            raise KeyPathError(f"params.{path}" if nested is not None and path in nested.model_fields_set else path,
                               message)
        if self.target == "provider" and self.match.model is None:
            raise KeyPathError("match", "a provider fault selects requests by model name: set match.model (SPEC 10)")
        return self

    def params(self) -> dict[str, Any]:
        """Inline parameters and those under ``params:``, as written."""
        common = set(_FaultBase.model_fields) | {"kind", "params_"}
        inline = {k: getattr(self, k) for k in self.model_fields_set if k not in common}
        nested = getattr(self, "params_", None)
        return {**inline, **(nested.model_dump(exclude_unset=True) if nested is not None else {})}


def _fault_model(kind: FaultKind) -> type[_FaultBase]:
    title = "".join(part.title() for part in kind.kind.split("_"))
    params = create_model(f"{title}Params", __base__=SchemaModel, **param_fields(kind.params))
    return create_model(f"{title}Fault", __base__=_FaultBase, __doc__=f"{kind.spec_id}: the {kind.kind} fault.",
                        kind=(Literal[kind.kind], ...), params_=(params | None, Field(None, alias="params")),
                        **param_fields(kind.params))


class _UnknownKindFault(SchemaModel, extra="allow"):
    """Reports a missing or unknown ``kind`` as such, not as a mismatch with every kind."""

    kind: Literal[tuple(CATALOGUE)]  # type: ignore[valid-type]

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> JsonSchemaValue:
        return {"not": {}}


def _kind_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return f"kind={kind}" if kind in CATALOGUE else "kind=?"


FaultModel = Annotated[
    Union[tuple(Annotated[_fault_model(k), Tag(f"kind={k.kind}")] for k in CATALOGUE.values())  # type: ignore[misc]
          + (Annotated[_UnknownKindFault, Tag("kind=?")],)],
    Discriminator(_kind_tag),
]


class StackModel(SchemaModel):
    """The stack the scenario runs on."""

    exclude_request_data: bool = False
    capture_content: bool = True
    behaviours: Items[BehaviourRule] = ()
    """Fake-provider behaviour rules (docs/fake_providers.md), checked here so a typo fails at load."""
    exporter: ExporterConfigModel = ExporterConfigModel()
    """Exporter configuration overrides, by section; the exporter's own schema, so a typo fails at load."""
    nats_cluster: int = Field(0, ge=0, le=7)
    gateways: int = Field(1, ge=1, le=16)
    exporters: int = Field(1, ge=1, le=16)

    @model_validator(mode="after")
    def _quorum(self) -> StackModel:
        if self.nats_cluster == 2:
            raise KeyPathError("nats_cluster", "expected 0 (one server) or 3 or more nodes: two nodes lose their "
                                               "quorum with one")
        return self


class LatencyBudgetModel(SchemaModel):
    percentile: float = Field(gt=0, le=100)
    overhead_ms: float | None = Field(None, ge=0)
    comparator_ratio: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _has_a_limit(self) -> LatencyBudgetModel:
        if self.overhead_ms is None and self.comparator_ratio is None:
            raise KeyPathError("overhead_ms", "a latency budget needs overhead_ms or comparator_ratio (LAT-07)")
        return self


class ThresholdsModel(SchemaModel):
    iso_min_samples: int = Field(300, ge=1)
    bootstrap_resamples: int = Field(1000, ge=10)
    backoff_cap_s: float = Field(16.0, gt=0)
    latency: Items[LatencyBudgetModel] = ()


class ScenarioModel(SchemaModel):
    """A scenario file: one behaviour to test."""

    name: Name
    workload: WorkloadModel
    description: str = ""
    default: bool = False
    sets: Items[Name] = ()
    gateway: Text = "reference"
    stack: StackModel = StackModel()
    modes: ModesModel | None = None
    faults: Items[FaultModel] = ()
    checks: Items[Literal[tuple(REGISTRY)]] | None = None  # type: ignore[valid-type]
    thresholds: ThresholdsModel = ThresholdsModel()
    transient_faults: bool = True
    permanent_drop_reasons: Items[Text] = ()
    expected_findings: Items[Suppression] = ()
    fail_on: Literal["violation", "warning"] = "violation"
    drain_timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioModel:
        if "default" in self.sets:
            raise KeyPathError("sets", "the default set is marked with 'default: true'")
        duration = self.workload.duration_s
        if self.modes is not None and self.modes.block_s * len(self.modes.sequence) > duration + 1e-9:
            raise KeyPathError("modes.block_s", f"{len(self.modes.sequence)} blocks of {self.modes.block_s:g} s "
                                                f"outlast workload.duration_s ({duration:g} s)")
        seen: set[str] = set()
        for i, fault in enumerate(self.faults):
            if fault.at_s >= duration:
                raise KeyPathError(f"faults[{i}].at_s", f"expected less than workload.duration_s ({duration:g}), "
                                                         f"got {fault.at_s:g}")
            name = fault.name or f"fault-{i}"
            if name in seen:
                raise KeyPathError(f"faults[{i}].name", f"duplicate fault name {name!r}")
            seen.add(name)
        checks = self.checks or ()
        if "isolation" in checks and self.modes is None:
            raise KeyPathError("checks", "the isolation check needs a 'modes' timeline (SPEC 7)")
        if "latency" in checks and not self.workload.direct:
            raise KeyPathError("checks", "the latency check needs workload.direct: true (LAT-04)")
        return self
