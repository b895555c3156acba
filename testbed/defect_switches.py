"""Seeded-defect switches, shared by the gateway and the exporter (SPEC RUN-05).

They exist only for ``testbed selftest``: off by default, turned on by name only (a config key
``defects`` and an environment variable), validated against each component's closed set, logged
once at start and written into the resource as ``testbed.defects`` so no one mistakes a defective
run for a real one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from testbed.errors import ConfigError

log = logging.getLogger(__name__)

RESOURCE_ATTRIBUTE: Final = "testbed.defects"
"""Resource attribute naming the active defects (comma-separated, sorted)."""


def _switches(value: Any, path: str) -> list[tuple[str, str, bool]]:
    """(where, name, on) from a comma-separated string, a list of names or a mapping name -> bool."""
    if isinstance(value, str):
        return [(path, v.strip(), True) for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [(f"{path}[{i}]", v, True) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        for name, on in value.items():
            if not isinstance(on, bool):
                raise ConfigError(f"{path}.{name}: expected true or false")
        return [(f"{path}.{name}", name, on) for name, on in value.items()]
    raise ConfigError(f"{path}: expected a list of defect names")


def parse_defects(config_value: Any, environ: Mapping[str, str], env_name: str, known: frozenset[str]) -> frozenset[str]:
    """The config's ``defects`` merged with ``env_name``; an unknown name raises ConfigError with its path."""
    active: set[str] = set()
    for value, path in ((config_value, "defects"), (environ.get(env_name), env_name)):
        if value is None:
            continue
        for where, name, on in _switches(value, path):
            if not isinstance(name, str) or name not in known:
                raise ConfigError(f"{where}: unknown defect {name!r} (known: {', '.join(sorted(known))})")
            if on:
                active.add(name)
    return frozenset(active)


def tag_resource(resource: dict[str, Any], active: Iterable[str]) -> dict[str, Any]:
    """The resource with ``testbed.defects`` added when any defect is on."""
    names = sorted(active)
    return {**resource, RESOURCE_ATTRIBUTE: ",".join(names)} if names else resource


def announce(active: Iterable[str], component: str) -> None:
    names = sorted(active)
    if names:
        log.warning("seeded defects active: %s (%s; for testbed selftest only)", ", ".join(names), component)
