"""Confirming from the spans that a defect was switched on (RUN-05).

Every defective component writes its switches into the resource attribute ``testbed.defects``
(``testbed.defect_switches``). After a run, the selftest reads the spans the ingest stored and
counts them per tag value; the judge then requires every span of a defect run to carry the switch
and no span of a clean run to carry any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp

from testbed.defect_switches import RESOURCE_ATTRIBUTE
from testbed.runner import collect


def tag_counts(spans: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Span count per ``testbed.defects`` value of the ingest's span JSON; ``""`` for untagged."""
    counts: Counter[str] = Counter()
    for span in spans:
        res = span.get("resource") or {}
        attrs = res.get("attributes", res) if isinstance(res, Mapping) else {}
        typed = attrs.get(RESOURCE_ATTRIBUTE) if isinstance(attrs, Mapping) else None
        value = typed.get("value") if isinstance(typed, Mapping) else typed
        counts[value if isinstance(value, str) else ""] += 1
    return dict(counts)


async def ingest_tags(middleware_url: str) -> dict[str, int]:
    """The tag counts of every span the ingest holds (it is reset at the start of each run)."""
    async with aiohttp.ClientSession() as http:
        return tag_counts(await collect.read_spans(http, middleware_url))
