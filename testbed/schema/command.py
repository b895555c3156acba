"""``testbed schema KIND``: print the JSON Schema of a configuration file, or ``--check`` files.

The schema is the one the loader validates with (``model_json_schema()`` of its model), so an
editor that uses it flags what ``testbed run`` would refuse. ``--check`` runs the real loader on
each file (the shipped ones when none are named), so cross-key rules (a fault starts before the
load ends) are checked too, and prints every error, not only the first file's.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Final

from testbed.errors import ConfigError

__all__ = ["KINDS", "check_files", "schema_of", "schema_main"]

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of configuration file: its schema, its loader and the files the project ships."""

    help: str
    schema: Callable[[], dict[str, Any]]
    load: Callable[[Path], object]
    shipped: Callable[[], list[Path]]


def _attr(dotted: str) -> Any:
    """``module:name``, imported on first use: ``testbed --help`` must not import every loader."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def _model_schema(dotted: str) -> dict[str, Any]:
    return _attr(dotted).model_json_schema()  # type: ignore[no-any-return]


def _path_loader(dotted: str, path: Path) -> object:
    return _attr(dotted)(path)


def _shipped_yaml(directory: str) -> list[Path]:
    from testbed.shipped import shipped_dir

    return sorted(shipped_dir(directory).glob("*.yaml"))


def _packaged(package: str, name: str) -> list[Path]:
    return [Path(str(resources.files(package).joinpath(name)))]


def _gateway_schema() -> dict[str, Any]:
    return _attr("testbed.gateway.config_schema:json_schema")()  # type: ignore[no-any-return]


def _load_gateway(path: Path) -> object:
    # The placeholders' defaults, whatever this shell exports.
    return _attr("testbed.gateway.config:load_config")(str(path), environ={})


def _load_exporter(path: Path) -> object:
    return _attr("testbed.exporter.config:load_config")(str(path), {})


def _load_rules(path: Path) -> object:
    from testbed.schema import load_file

    return load_file(_attr("testbed.checks.rules:RULES_MODEL"), path)


def _shipped_rules() -> list[Path]:
    return sorted(Path(str(p)) for p in resources.files("testbed.checks").joinpath("rules").iterdir()
                  if p.name.endswith(".yaml"))


def _suppressions_schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    from testbed.checks.suppress import SUPPRESSION_MODEL

    return TypeAdapter(list[SUPPRESSION_MODEL]).json_schema()  # type: ignore[valid-type]


def _load_suppressions(path: Path) -> object:
    import yaml

    from testbed.checks.suppress import parse_suppressions
    from testbed.schema import SchemaError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SchemaError(str(path), "", f"cannot read the file ({exc})") from None
    return parse_suppressions(data, "", str(path))


KINDS: Final[dict[str, Kind]] = {
    "scenario": Kind("a scenario file (scenarios/*.yaml)",
                     partial(_model_schema, "testbed.runner.scenario_schema:ScenarioModel"),
                     partial(_path_loader, "testbed.runner.scenario:load_scenario"),
                     partial(_shipped_yaml, "scenarios")),
    "profile": Kind("a gateway profile (profiles/*.yaml)",
                    partial(_model_schema, "testbed.runner.profile_schema:ProfileModel"),
                    partial(_path_loader, "testbed.runner.gateways:load_profile"),
                    partial(_shipped_yaml, "profiles")),
    "gateway": Kind("the reference gateway's config", _gateway_schema, _load_gateway,
                    partial(_packaged, "testbed.gateway", "default_config.yaml")),
    "exporter": Kind("the reference exporter's config",
                     partial(_model_schema, "testbed.exporter.config_schema:ExporterConfigModel"), _load_exporter,
                     partial(_packaged, "testbed.exporter", "default_config.yaml")),
    "behaviours": Kind("a fake-provider behaviours file",
                       partial(_model_schema, "fake_providers.behaviours:BEHAVIOURS_MODEL"),
                       partial(_path_loader, "fake_providers.settings:load_behaviours_file"), list),
    "rules": Kind("a convention's rules file (testbed/checks/rules/*.yaml)",
                  partial(_model_schema, "testbed.checks.rules:RULES_MODEL"), _load_rules, _shipped_rules),
    "suppressions": Kind("a list of expected findings", _suppressions_schema, _load_suppressions, list),
}


def schema_of(kind: str) -> dict[str, Any]:
    """The JSON Schema of ``kind``, marked with its dialect so editors need no setting."""
    return {"$schema": DIALECT, **KINDS[kind].schema()}


def check_files(kind: str, files: Sequence[str | Path]) -> list[str]:
    """Load each file (the shipped ones of ``kind`` when none); one error message per bad file."""
    spec = KINDS[kind]
    paths = [Path(f) for f in files] or spec.shipped()
    errors: list[str] = []
    for path in paths:
        try:
            spec.load(path)
        except ConfigError as exc:
            errors.append(str(exc))
    return errors


def schema_main(kind: str, check: Sequence[str] | None = None) -> int:
    """Print the schema (exit 0); with ``check`` (a list, maybe empty) load those files or the
    shipped ones: exit 0 when all load, else 2 with every error printed."""
    if check is None:
        try:
            sys.stdout.write(json.dumps(schema_of(kind), indent=2) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `testbed schema scenario | head`: the reader had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    count = len(check) or len(KINDS[kind].shipped())
    if count == 0:
        print(f"testbed schema: no shipped {kind} file; name the files to check", file=sys.stderr)
        return 2
    errors = check_files(kind, check)
    for message in errors:
        print(message, file=sys.stderr)
    print(f"{kind}: {count - len(errors)} of {count} file(s) valid")
    return 2 if errors else 0
