"""The base every configuration model derives from, and the few types it needs (pure).

``SchemaModel`` forbids unknown keys (a misspelt key must never pass silently), is frozen (a
loaded configuration is a value) and validates strictly: ``"3"`` is not an integer, ``1`` is not
a boolean, ``.inf`` is not a number. Strict mode would also refuse a YAML list where a tuple is
declared, so sequences are declared as :data:`Items` (a tuple that accepts any sequence whose
items are then checked strictly), and closed sets of words as ``Literal`` rather than ``Enum``.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Strict

__all__ = ["Items", "SchemaModel"]

T = TypeVar("T")

Items = Annotated[tuple[T, ...], Strict(False)]
"""A tuple field that a YAML or JSON list fills; its items stay strict."""


class SchemaModel(BaseModel):
    """A strict, frozen configuration model: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False,
                              validate_default=False)
