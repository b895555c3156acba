"""The explicit table of the ingest's fault classes (nothing registers itself at import time), and
spec parsing. Which kinds, parameters and match keys the ingest takes is not decided here but in
the shared catalogue (``testbed/fault_catalogue.py``), which scenario loading reads as well; this
table only says which class carries out each of its ``ingest`` kinds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fake_middleware.faults.auth import Auth
from fake_middleware.faults.base import BaseFault, FaultSpec, FaultSpecError
from fake_middleware.faults.big_response import BigResponse
from fake_middleware.faults.disconnect import Disconnect
from fake_middleware.faults.down import Down
from fake_middleware.faults.hang import Hang
from fake_middleware.faults.latency import Latency
from fake_middleware.faults.partial_success import PartialSuccess
from fake_middleware.faults.permanent import Permanent
from fake_middleware.faults.reset import Reset
from fake_middleware.faults.size_limit import SizeLimit
from fake_middleware.faults.slow_body import SlowBody
from fake_middleware.faults.status import Status
from fake_middleware.faults.throttle import Throttle
from testbed.fault_catalogue import CATALOGUE, COMMON_FIELDS, MATCH_KEYS
from testbed.fault_schema import check_params
from testbed.schema import SchemaError

# Each class names its kind once (``Latency.kind``); the SPEC id and parameters are the catalogue's.
KINDS: Final[dict[str, type[BaseFault]]] = {
    cls.kind: cls
    for cls in (Latency, Hang, Down, Reset, SlowBody, Disconnect, Status, Throttle, PartialSuccess, Permanent,
                SizeLimit, Auth, BigResponse)
}
_COMMON: Final = COMMON_FIELDS | {"params"}


def spec_from_dict(doc: Mapping[str, Any], default_name: str) -> FaultSpec:
    """A FaultSpec from its JSON form. Parameters may be nested under ``params`` or given inline."""
    if not isinstance(doc, Mapping):
        raise FaultSpecError("fault: expected a JSON object")
    kind = doc.get("kind")
    if not isinstance(kind, str) or kind not in CATALOGUE:
        raise FaultSpecError(f"kind: {kind!r} is not one of {sorted(KINDS)}")
    target = doc.get("target", "ingest")
    if target != "ingest":
        raise FaultSpecError(f"target: this server only takes 'ingest' faults, got {target!r}")
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not name or "/" in name:
        raise FaultSpecError("name: expected a non-empty string without '/'")
    probability = doc.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        raise FaultSpecError("probability: expected a number in [0, 1]")
    times = doc.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise FaultSpecError("times: expected a non-negative integer or null")
    match = doc.get("match", {})
    if not isinstance(match, Mapping) or not all(isinstance(v, str) for v in match.values()):
        raise FaultSpecError(f"match: expected an object with string values for {sorted(MATCH_KEYS['ingest'])}")
    if not isinstance(doc.get("params") or {}, Mapping):
        raise FaultSpecError("params: expected an object")
    params = dict(doc.get("params") or {})
    params.update({k: v for k, v in doc.items() if k not in _COMMON})
    # Kind, match keys and parameter names and types are judged as scenario loading judges them.
    if problem := CATALOGUE[kind].problem("ingest", match, params):
        raise FaultSpecError(f"{problem[0]}: {problem[1]}")
    try:
        check_params(kind, "ingest", params, path=kind)
    except SchemaError as exc:
        raise FaultSpecError(str(exc)) from None
    return FaultSpec(name=name, kind=kind, probability=float(probability), times=times, match=dict(match), params=params)


def build(spec: FaultSpec) -> BaseFault:
    """The fault object for a spec; FaultSpecError names the bad field."""
    kind = KINDS.get(spec.kind)
    if kind is None:
        raise FaultSpecError(f"kind: {spec.kind!r} is not one of {sorted(KINDS)}")
    return kind(spec)
