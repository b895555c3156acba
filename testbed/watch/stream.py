"""What changed between two judgements of the growing span set, as terminal lines, pure.

Each time spans arrive, every span so far is judged again (a trace can arrive in pieces, so an
early judgement can change); only the finding groups whose counts moved are printed, new ones
with an example, so the terminal shows a stream of news rather than the whole list each time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from testbed.lint.grouping import FindingGroup, format_group

GroupKey = tuple[str, str, str]


def key(g: FindingGroup) -> GroupKey:
    return (g.spec_id, g.severity, g.message)


def news(before: Mapping[GroupKey, int], groups: Sequence[FindingGroup], spans: int, added: int) -> list[str]:
    """Lines for this round: a header, then each group that is new or changed its count."""
    lines = [f"[watch] {spans} spans judged (+{added}); {_tally(groups)}"]
    for g in groups:
        was = before.get(key(g), 0)
        if g.count == was:
            continue
        text = format_group(g) if was == 0 else format_group(_without_example(g))
        lines.append(f"  {'new' if was == 0 else f'+{g.count - was}':>4} " + text.replace("\n", "\n       "))
    gone = set(before) - {key(g) for g in groups}
    lines.extend(f"  gone {spec} {message}" for spec, _, message in sorted(gone))
    return lines


def counts(groups: Sequence[FindingGroup]) -> dict[GroupKey, int]:
    return {key(g): g.count for g in groups}


def _tally(groups: Sequence[FindingGroup]) -> str:
    by = {sev: sum(g.count for g in groups if g.severity == sev) for sev in ("violation", "warning", "info")}
    return ", ".join(f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in by.items())


def _without_example(g: FindingGroup) -> FindingGroup:
    return FindingGroup(g.spec_id, g.severity, g.message, g.count, {})
