"""Fault parameters as schema types (``testbed.schema``), built from the one fault catalogue.

Scenario loading (``testbed/runner/scenario_schema.py``) and the fake ingest's ``POST /_faults``
check parameter values with these same types, so a bad value reads the same on both sides:
``latency_ms: expected a number >= 0, got -1``. Which parameters a kind takes on a target is the
catalogue's to say (``FaultKind.problem``); this module only gives each one its type.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, Field, WithJsonSchema, create_model

from testbed.fault_catalogue import CATALOGUE, PARAM_TYPES, SIGNALS
from testbed.schema import SchemaModel, validate

__all__ = ["NonNegative", "check_params", "param_fields", "params_model"]


def _non_negative(value: Any) -> Any:
    # A parameter keeps its type as written (503 stays an int) since the fakes echo some of them back.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return value


NonNegative = Annotated[Any, AfterValidator(_non_negative), WithJsonSchema({"type": "number", "minimum": 0})]
_TYPES: Final[Mapping[str, Any]] = {"number": NonNegative, "int": Annotated[int, Field(ge=0)], "bool": bool,
                                    "str": str, "any": Any}


def param_fields(names: Iterable[str]) -> dict[str, Any]:
    """Field definitions for ``create_model``: every parameter optional, typed by PARAM_TYPES."""
    fields: dict[str, Any] = {}
    for name in sorted(names):
        tp = Literal[tuple(sorted(SIGNALS))] if name == "signal" else _TYPES[PARAM_TYPES[name]]
        fields[name] = (tp | None, None)
    return fields


@functools.cache
def params_model(kind: str, target: str) -> type[SchemaModel]:
    """The parameters ``kind`` takes on ``target``, as one model."""
    title = "".join(part.title() for part in f"{kind}_{target}".split("_"))
    return create_model(f"{title}Params", __base__=SchemaModel,
                        **param_fields(CATALOGUE[kind].params_for(target)))


def check_params(kind: str, target: str, params: Mapping[str, Any], where: str = "", *, path: str = "") -> None:
    """Raise :class:`~testbed.schema.SchemaError` naming the first parameter whose value does not
    fit its type (``where``: the file the parameters came from; ``path``: where they sit in it)."""
    validate(params_model(kind, target), dict(params), where, path=path)
