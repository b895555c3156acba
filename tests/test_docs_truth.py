"""The docs say what the code does: the seeded defects the README and docs/checks.md list are the
selftest catalogue's, each under the check that must catch it; the SPEC ids a check is said to
cover are its own; every scenario, scenario set, fault kind and fault key the docs name exists.
Docs drift one edit at a time, so each claim is read from the docs' own tables and sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from testbed.checks import REGISTRY
from testbed.fault_catalogue import CATALOGUE as FAULT_KINDS
from testbed.fault_catalogue import COMMON_FIELDS, MATCH_KEYS, MODES, TARGETS, TIMELINE_FIELDS
from testbed.runner.cli_entry import SCENARIOS_DIR, scenario_sets
from testbed.runner.scenario import load_scenarios, parse_scenario
from testbed.selftest.catalogue import CATALOGUE as DEFECTS

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
SCENARIOS = load_scenarios(SCENARIOS_DIR)
SETS = scenario_sets(SCENARIOS)
CONVENTIONS = {p.stem for p in (ROOT / "testbed" / "checks" / "rules").glob("*.yaml")}
NOT_SCENARIOS = {
    "genai-next": "a convention SPEC reserves",
    "exporter-2": "the part name of a second exporter",
    "fallback-chat": "a model alias of the fallback scenario",
}
"""Backticked names that look like scenarios and are something else."""


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def table(text: str, header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts with ``header``, as cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def outside_brackets(cell: str) -> str:
    """The cell without its (explanations), nested ones too: "`name` (what it breaks); `other`" -> names."""
    while (shorter := re.sub(r"\([^()]*\)", "", cell)) != cell:
        cell = shorter
    return cell


def spec_ids(cell: str) -> set[str]:
    """``SEM-01..07, SEM-12`` or ``OTLP-02, 04, 08..11, MW-02..04`` -> every id they stand for."""
    out: set[str] = set()
    prefix = ""
    for item in re.sub(r"\(.*?\)", "", cell).split(","):
        m = re.fullmatch(r"\s*(?:([A-Z]+)-)?(\d+)(?:\.\.(?:[A-Z]+-)?(\d+))?\s*", item)
        assert m, f"not a SPEC id or range: {item!r}"
        prefix = m.group(1) or prefix
        first, last = int(m.group(2)), int(m.group(3) or m.group(2))
        out |= {f"{prefix}-{n:02d}" for n in range(first, last + 1)}
    return out


def check_tables() -> Iterator[tuple[str, list[list[str]]]]:
    yield "README.md", table(read("README.md"), "| check | SPEC ids | seeded defects")
    yield "docs/checks.md", table(read("docs/checks.md"), "| check | SPEC ids | evidence | seeded defects")


@pytest.mark.parametrize(("doc", "rows"), list(check_tables()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_defects_listed_per_check_are_the_catalogues(doc: str, rows: list[list[str]]) -> None:
    listed = {name: ticked(row[0])[0] for row in rows for name in ticked(outside_brackets(row[-1]))}
    assert listed == {d.name: d.check for d in DEFECTS}, doc


@pytest.mark.parametrize(("doc", "rows"), list(check_tables()), ids=lambda v: v if isinstance(v, str) else "")
def test_only_warning_level_defects_are_marked_warned(doc: str, rows: list[list[str]]) -> None:
    warned = {name for row in rows for name in re.findall(r"`([a-z_]+)`\s*\(\*warned\*", row[-1])}
    assert warned == {d.name for d in DEFECTS if d.severity == "warning"}, doc


@pytest.mark.parametrize(("doc", "rows"), list(check_tables()), ids=lambda v: v if isinstance(v, str) else "")
def test_each_check_is_said_to_cover_exactly_its_spec_ids(doc: str, rows: list[list[str]]) -> None:
    said = {ticked(row[0])[0]: spec_ids(row[1]) for row in rows}
    assert said == {name: set(check.spec_ids) for name, check in REGISTRY.items()}, doc


@pytest.mark.parametrize("cell", ["OTLP-02..16"])
def test_a_range_wider_than_the_check_is_caught(cell: str) -> None:
    assert spec_ids(cell) != set(REGISTRY["exporter"].spec_ids)


def test_the_readmes_default_set_is_the_scenarios_marked_default() -> None:
    text = read("README.md")
    listed = re.search(r"The default set: (.*?)\.\n", text, re.S)
    assert listed is not None
    names = [n.strip() for n in listed.group(1).split(",")]
    assert sorted(names) == sorted(SETS["default"])
    count = re.search(r"marked `default: true` \((\d+) of them", text)
    assert count is not None and int(count.group(1)) == len(SETS["default"])


def test_the_runner_docs_list_every_set_with_its_scenarios() -> None:
    rows = table(read("docs/runner.md"), "| set | scenarios |")
    said = {ticked(row[0])[0]: sorted(ticked(row[1])) for row in rows}
    assert set(said) == set(SETS)
    named = {k: sorted(v) for k, v in SETS.items() if k != "default"}
    assert {k: v for k, v in said.items() if k != "default"} == named


def _run_commands() -> Iterator[tuple[Path, str]]:
    for doc in DOCS:
        for m in re.finditer(r"testbed run((?: +[^\s`#|]+)*)", doc.read_text(encoding="utf-8")):
            yield doc, m.group(1)


def test_every_scenario_and_set_a_testbed_run_command_names_exists() -> None:
    wrong = []
    for doc, args in _run_commands():
        words = args.split()
        for i, w in enumerate(words):
            after = words[i - 1] if i else ""
            if w.startswith("-") or w.startswith("[") or w.isupper() or w.rstrip(".").isupper():
                continue
            if after == "--set":
                ok = w in SETS
            elif after in ("--gateway", "--out"):
                ok = True
            else:
                ok = w in SCENARIOS or w.endswith(".yaml")
            if not ok:
                wrong.append(f"{doc.relative_to(ROOT)}: testbed run …{w}")
    assert not wrong


def test_every_backticked_scenario_name_in_the_docs_exists() -> None:
    families = {n.split("-")[0] for n in SCENARIOS}
    wrong = []
    for doc in DOCS:
        for name in re.findall(r"`([a-z0-9]+(?:-[a-z0-9.]+)+)`", doc.read_text(encoding="utf-8")):
            name = name.removesuffix(".yaml")
            other = name in SCENARIOS or name in CONVENTIONS or name in NOT_SCENARIOS
            if name.split("-")[0] in families and not other:
                wrong.append(f"{doc.relative_to(ROOT)}: {name}")
    assert not wrong


def test_the_defect_catalogue_names_shipped_scenarios() -> None:
    assert {d.scenario for d in DEFECTS} <= set(SCENARIOS)


def test_the_example_scenario_file_in_the_runner_docs_loads() -> None:
    block = re.search(r"```yaml\n(.*?)```", read("docs/runner.md"), re.S)
    assert block is not None
    parse_scenario(yaml.safe_load(block.group(1)), "docs/runner.md")


def test_the_fault_fields_targets_kinds_and_modes_in_the_runner_docs_exist() -> None:
    text = read("docs/runner.md")
    common = re.search(r"Common fields: (.*?)\. ", text, re.S)
    assert common is not None
    fields = {f for f in ticked(common.group(1)) if re.fullmatch(r"[a-z_]+", f)}  # not the default name
    assert "kind" in fields and fields <= COMMON_FIELDS | TIMELINE_FIELDS | set().union(*MATCH_KEYS.values())
    rows = table(text, "| target | how it is applied |")
    assert [ticked(r[0])[0] for r in rows] == list(TARGETS)
    kinds = {k for r in rows for k in re.findall(r"`([a-z_]+)`:", r[1])}  # "`bus_down`: nats-server stops"
    assert kinds and kinds <= set(FAULT_KINDS)
    modes = re.search(r"### Modes\n(.*?)\n\n", text, re.S)
    assert modes is not None
    named = {m for m in re.findall(r"`([a-z_]+)` =", modes.group(1))}
    assert named and named <= MODES


def test_no_doc_names_the_retired_budget_key() -> None:
    for doc in ("README.md", "docs/checks.md", "docs/runner.md", "docs/reports.md"):
        assert "overhead_p99_ms" not in read(doc), doc
