"""The watch stream's news, pure: a round prints a header with the tally, new groups with an
example, grown groups with their increase, vanished groups as gone, and nothing for the rest."""

from __future__ import annotations

from testbed.lint.grouping import FindingGroup
from testbed.watch.stream import counts, news

A = FindingGroup("SEM-04", "violation", "required attribute gen_ai.provider.name is missing", 3, {"span_id": "ab"})
B = FindingGroup("SEM-12", "warning", "recommended attribute server.address is missing", 1, {})


def test_first_round_shows_every_group_as_new_with_its_example() -> None:
    lines = news({}, [A, B], spans=3, added=3)
    assert lines[0] == "[watch] 3 spans judged (+3); 3 violations, 1 warning, 0 infos"
    assert any("new" in x and "SEM-04" in x for x in lines) and any("span_id=ab" in x for x in lines)


def test_a_later_round_shows_only_what_moved() -> None:
    grown = FindingGroup(A.spec_id, A.severity, A.message, 5, A.example)
    lines = news(counts([A, B]), [grown, B], spans=5, added=2)
    assert len(lines) == 2 and "+2" in lines[1] and "SEM-04" in lines[1] and "e.g." not in lines[1]


def test_a_group_that_vanishes_is_reported_gone() -> None:
    lines = news(counts([A, B]), [B], spans=4, added=1)
    assert lines[-1].startswith("  gone SEM-04")
