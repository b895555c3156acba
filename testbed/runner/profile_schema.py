"""The schema of a gateway profile file (pure): how to run a gateway under test, how to tell it is
ready, the knobs it supports and the span convention it follows. docs/runner.md documents every
key; ``testbed schema profile`` prints ``ProfileModel.model_json_schema()`` for editors.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from testbed.checks.rules import conventions
from testbed.checks.suppress import Suppression
from testbed.schema import Items, KeyPathError, SchemaModel

__all__ = ["CONVENTIONS", "KNOWN_KNOBS", "ProfileModel"]

KNOWN_KNOBS: Final = frozenset(("exclude_request_data", "capture_content"))
CONVENTIONS: Final = frozenset(conventions())
"""The shipped conventions (``testbed/checks/rules/*.yaml``): one list, read from the files."""

Text = Annotated[str, Field(min_length=1)]


class ConfigFileModel(SchemaModel):
    """The gateway's config file: a jinja2 template next to the profile, rendered into the workdir."""

    template: Text | None = None
    file: Text = "gateway.yaml"


class ReadyModel(SchemaModel):
    """How to tell the gateway is ready: a regex on its output, or an HTTP health URL."""

    line: Text | None = None
    http: Text | None = None
    timeout_s: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _one_way(self) -> ReadyModel:
        if self.line is None and self.http is None:
            raise KeyPathError("line", "give a ready line regex or an http health URL")
        return self


class ProfileModel(SchemaModel):
    """A gateway profile file."""

    name: Text
    command: Annotated[Items[str], Field(min_length=1)] = Field(description="argv, each a jinja2 template")
    config: ConfigFileModel = ConfigFileModel()
    ready: ReadyModel
    env: dict[str, str] = {}
    api_key: Text = "{{ gateway_api_key }}"
    base_url: Text | None = None
    metrics_url: Text | None = None
    knobs: Items[Literal[tuple(sorted(KNOWN_KNOBS))]] = ()  # type: ignore[valid-type]
    convention: Literal[tuple(sorted(CONVENTIONS))] = "genai-1.41"  # type: ignore[valid-type]
    declares_server_spans: bool = False
    spans_per_request: int | None = Field(None, ge=1)
    restart_inbound: bool = False
    reference_stack: bool = False
    expected_findings: Items[Suppression] = ()

    @model_validator(mode="after")
    def _reachable(self) -> ProfileModel:
        if self.ready.line is None and self.base_url is None:
            raise KeyPathError("base_url", "needed when readiness is not a ready line with a (?P<url>...) group")
        return self
