"""Seeded-defect switches, shared by the gateway and the exporter (SPEC RUN-05, RUN-07).

They exist only for ``testbed selftest``: off by default, turned on by name only (a config key
``defects`` and an environment variable), validated against each component's closed set, logged
once at start and written into the resource as ``testbed.defects`` so no one mistakes a defective
run for a real one, and so the selftest can confirm from the spans that the defect was on.

A switch may carry a grade that makes its defect rarer or smaller (RUN-07): ``name@1/100`` breaks
1 item in 100 (requests or spans, counted by a :class:`Tally`), ``name@5ms`` shrinks a delay to
5 ms. Only the names a component lists as graded accept a grade, and only of their kind. A graded
switch is active under its full spelling (``wrong_usage@1/100``), never under the bare name, so
the ungraded code paths stay off and only the defect module that reads the grade acts on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from testbed.errors import ConfigError

log = logging.getLogger(__name__)

RESOURCE_ATTRIBUTE: Final = "testbed.defects"
"""Resource attribute naming the active defects (comma-separated, sorted)."""

GradeKind = Literal["rarity", "duration"]
_RARITY = re.compile(r"1/([1-9][0-9]*)")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)ms")


@dataclass(frozen=True, slots=True)
class Grade:
    """How rare (1 in ``every``) or how small (``seconds``) a graded defect is."""

    kind: GradeKind
    every: int = 1
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"1/{self.every}" if self.kind == "rarity" else f"{self.seconds * 1000:g}ms"


def parse_grade(text: str) -> Grade:
    """``1/N`` (N >= 1) or ``Xms`` (X > 0); ValueError on anything else."""
    if m := _RARITY.fullmatch(text):
        return Grade("rarity", every=int(m.group(1)))
    if (m := _DURATION.fullmatch(text)) and float(m.group(1)) > 0:
        return Grade("duration", seconds=float(m.group(1)) / 1000)
    raise ValueError(f"bad grade {text!r} (expected 1/N or a duration like 5ms)")


def split_switch(switch: str) -> tuple[str, Grade | None]:
    """``name@grade`` -> (name, Grade); a bare name -> (name, None). ValueError on a bad grade."""
    name, sep, grade = switch.partition("@")
    return name, (parse_grade(grade) if sep else None)


def grade_of(active: Iterable[str], name: str) -> Grade | None:
    """The grade ``name`` is switched on with, or None when it is not switched on graded."""
    for switch in active:
        base, sep, grade = switch.partition("@")
        if sep and base == name:
            return parse_grade(grade)
    return None


@dataclass(slots=True)
class Tally:
    """Per-defect counters for rarity grades: :meth:`hit` is true on every ``every``-th call, so a
    run of M items breaks exactly M // every of them (deterministic, unlike a random draw)."""

    counts: dict[str, int] = field(default_factory=dict)

    def hit(self, name: str, grade: Grade | None) -> bool:
        if grade is None:
            return True
        n = self.counts.get(name, 0) + 1
        self.counts[name] = n
        return n % grade.every == 0


class Switches(frozenset[str]):
    """The active switches of one component start, with the :class:`Tally` its rarity grades count
    on. A frozenset, so ``name in switches`` and equality behave as before."""

    tally: Tally

    def __new__(cls, names: Iterable[str] = ()) -> Switches:
        self = super().__new__(cls, names)
        self.tally = Tally()
        return self


def tally_of(active: frozenset[str]) -> Tally:
    """The tally of ``active``; a fresh one for a plain frozenset (so every rarity grade misses)."""
    return active.tally if isinstance(active, Switches) else Tally()


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


def _validate(where: str, switch: Any, known: frozenset[str], graded: Mapping[str, GradeKind]) -> None:
    if not isinstance(switch, str):
        raise ConfigError(f"{where}: unknown defect {switch!r} (known: {', '.join(sorted(known))})")
    try:
        name, grade = split_switch(switch)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if name not in known:
        raise ConfigError(f"{where}: unknown defect {name!r} (known: {', '.join(sorted(known))})")
    if grade is not None and graded.get(name) != grade.kind:
        allowed = f"a {graded[name]} grade" if name in graded else "no grade"
        raise ConfigError(f"{where}: {name} takes {allowed}, not {grade.label!r}")


def parse_defects(config_value: Any, environ: Mapping[str, str], env_name: str, known: frozenset[str],
                  graded: Mapping[str, GradeKind] | None = None) -> Switches:
    """The config's ``defects`` merged with ``env_name``; an unknown name or a grade the name does
    not take raises ConfigError with its path. ``graded`` maps the names that take a grade to its kind."""
    active: set[str] = set()
    for value, path in ((config_value, "defects"), (environ.get(env_name), env_name)):
        if value is None:
            continue
        for where, switch, on in _switches(value, path):
            _validate(where, switch, known, graded or {})
            if on:
                active.add(switch)
    return Switches(active)


def tag_resource(resource: dict[str, Any], active: Iterable[str]) -> dict[str, Any]:
    """The resource with ``testbed.defects`` added when any defect is on."""
    names = sorted(active)
    return {**resource, RESOURCE_ATTRIBUTE: ",".join(names)} if names else resource


def announce(active: Iterable[str], component: str) -> None:
    names = sorted(active)
    if names:
        log.warning("seeded defects active: %s (%s; for testbed selftest only)", ", ".join(names), component)
