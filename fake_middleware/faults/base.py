"""The Fault protocol, the spec every fault is built from, and the Effect a fault asks for.

A fault is pure: given the request it was selected for, it returns an :class:`Effect` (delay,
an answer to give instead of the normal one, padding, a body limit...). The ingest handler carries
effects out, so every wait stays in one place and is cancellable. Faults that act on the listener
rather than on a request (``down``) say so with ``on_listener = True``.

Common spec fields (SPEC 10): ``name``, ``kind``, ``probability`` (0-1, seeded RNG), ``times``
(applications before the fault stops applying; None = until cleared), ``match`` (``path``,
``tenant``) and the kind's ``params``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

from testbed.fault_catalogue import CATALOGUE

Action = Literal["none", "hang", "disconnect", "reset", "respond"]


class FaultSpecError(ValueError):
    """A fault spec is invalid; the message names the field."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """What a fault is: common fields plus the kind's parameters."""

    name: str
    kind: str
    probability: float = 1.0
    times: int | None = None
    match: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Keys given to an auth fault are secrets: they are never echoed back.
        params = {k: ("<redacted>" if k == "keys" else v) for k, v in self.params.items()}
        return {"name": self.name, "kind": self.kind, "probability": self.probability, "times": self.times,
                "match": dict(self.match), "params": params}


@dataclass(frozen=True, slots=True)
class Effect:
    """What the ingest must do for one request. Effects of several faults are merged."""

    delay_s: float = 0.0
    action: Action = "none"
    hold_s: float | None = None
    after_bytes: int = 0
    status: int | None = None
    message: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    reject: float | None = None
    reject_message: str = ""
    pad_bytes: int = 0
    bytes_per_s: float | None = None
    chunk_bytes: int = 1024
    max_request_bytes: int | None = None
    auth_mode: str | None = None
    keys: Mapping[str, str] | None = None
    source: str = ""
    """The fault whose action this is (a hang waits for that fault to be cleared)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What a fault is matched against: the request path and the caller's tenant (if known)."""

    path: str
    tenant: str | None


class Fault(Protocol):
    """One kind of misbehaviour.

    Implementers guarantee: ``__init__`` validates ``spec.params`` and raises FaultSpecError naming
    the field; ``effect`` is pure and never blocks; ``exhausted`` depends only on the count of
    applications so far.
    """

    kind: ClassVar[str]
    stage: ClassVar[Literal["config", "request"]]
    on_listener: ClassVar[bool]
    spec: FaultSpec

    def effect(self, index: int) -> Effect:
        """The effect of the ``index``-th application (0-based)."""
        ...

    def exhausted(self, applied: int) -> bool:
        """True once the fault has been applied as often as it may be."""
        ...


class BaseFault:
    """Shared plumbing: the spec, parameter checking, and ``times``-based exhaustion."""

    kind: ClassVar[str] = ""
    stage: ClassVar[Literal["config", "request"]] = "request"
    on_listener: ClassVar[bool] = False

    def __init__(self, spec: FaultSpec) -> None:
        # What a kind accepts is the catalogue's, which scenario loading reads too.
        if problem := CATALOGUE[self.kind].problem("ingest", spec.match, spec.params):
            raise FaultSpecError(f"{problem[0]}: {problem[1]}")
        self.spec = spec

    def exhausted(self, applied: int) -> bool:
        return self.spec.times is not None and applied >= self.spec.times

    def effect(self, index: int) -> Effect:
        raise NotImplementedError

    # -- parameter helpers -------------------------------------------------------------------

    def number(self, name: str, default: float | None = None, *, low: float = 0.0, high: float | None = None) -> float:
        value = self.spec.params.get(name, default)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FaultSpecError(f"{self.spec.kind}.{name}: expected a number, got {value!r}")
        if value < low or (high is not None and value > high):
            raise FaultSpecError(f"{self.spec.kind}.{name}: {value} is outside [{low}, {high if high is not None else 'inf'}]")
        return float(value)

    def integer(self, name: str, default: int | None = None, *, low: int = 0, high: int | None = None) -> int:
        value = self.number(name, default, low=low, high=high)
        if not float(value).is_integer():
            raise FaultSpecError(f"{self.spec.kind}.{name}: expected an integer, got {value!r}")
        return int(value)

    def status(self, name: str, default: int | None, allowed: frozenset[int] | None = None) -> int:
        value = self.integer(name, default, low=100, high=599)
        if allowed is not None and value not in allowed:
            raise FaultSpecError(f"{self.spec.kind}.{name}: {value} is not one of {sorted(allowed)}")
        return value

    def text(self, name: str, default: str = "") -> str:
        value = self.spec.params.get(name, default)
        if not isinstance(value, str):
            raise FaultSpecError(f"{self.spec.kind}.{name}: expected a string")
        return value

    def headers(self, name: str = "headers") -> dict[str, str]:
        value = self.spec.params.get(name, {})
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise FaultSpecError(f"{self.spec.kind}.{name}: expected an object of strings")
        return dict(value)
