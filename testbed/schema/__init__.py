"""One schema library for every configuration file: pydantic v2 models with one error voice.

A configuration file is described by :class:`SchemaModel` subclasses (unknown keys refused,
values not coerced, frozen) and read with :func:`validate` (a mapping already parsed) or
:func:`load_file` (a YAML/JSON file). Both raise :class:`SchemaError`, a
:class:`~testbed.errors.ConfigError`, whose message names the file, the key path, what was
expected and, for a misspelt key, the known key it is closest to::

    from typing import Literal
    from pydantic import Field
    from testbed.schema import Items, SchemaModel, validate

    class Entry(SchemaModel):
        model: str = Field(min_length=1)
        stream: bool = False

    class Workload(SchemaModel):
        rate_per_s: float = Field(gt=0)
        process: Literal["poisson", "uniform"] = "poisson"
        mix: Items[Entry] = ()

    validate(Workload, {"rate_per_s": 5, "mix": [{"modle": "x"}]}, "demo.yaml", path="workload")
    # SchemaError: demo.yaml: workload.mix[0].modle: unknown key 'modle'; did you mean 'model'?
    #   (allowed here: model, stream)

A validator that finds a problem below its model (a duplicate name in a list) raises
:class:`KeyPathError` with the relative path, and the message points there. ``model_json_schema()``
of the same models is what ``testbed schema KIND`` prints for editors.
"""

from __future__ import annotations

from testbed.schema.base import Items, SchemaModel
from testbed.schema.errors import KeyPathError, SchemaError, join_path
from testbed.schema.validate import load_file, type_name, validate

__all__ = ["Items", "KeyPathError", "SchemaError", "SchemaModel", "join_path", "load_file", "type_name",
           "validate"]
