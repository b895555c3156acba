"""No span arrives twice (OTLP-05, LOSS-03), for scenarios that promise it.

LOSS-03 reports duplicates as info, because a SIGKILLed exporter may legitimately send again what
it exported but had not acked (EXP-05). A scenario with no kill (a long ingest ``down`` or ``hang``,
healed) has no such excuse: a span that arrives twice was exported twice after a success, which is
what OTLP-05 forbids. Listing this check in such a scenario turns every duplicate into a violation.
Judged at the ingest only, so it holds for any gateway and exporter under test: copies among the
stored spans, and the ingest's own count of spans received again with a known (trace_id, span_id)
(an ingest that keeps one copy per span still counts the others).
"""

from __future__ import annotations

from collections import Counter
from typing import Final

from testbed.checks.evidence import Evidence
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.counters import INGEST_SPANS_DUPLICATE

NAME = "duplicates"
SPEC_IDS = ("OTLP-05", "LOSS-03")
_SAMPLE: Final = 5


class DuplicatesCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        counts = Counter((s.trace_id, s.span_id) for s in evidence.spans)
        if not counts:
            return conclude(NAME, SPEC_IDS, [], judged={"spans": 0}, inconclusive="no span reached the ingest")
        twice = {key: n for key, n in counts.items() if n > 1}
        stored = sum(n - 1 for n in twice.values())
        counted = evidence.counters.total(INGEST_SPANS_DUPLICATE) if evidence.counters.available else 0.0
        extra = max(stored, round(counted))
        if extra:
            sink.add("OTLP-05", "violation", "value",
                     f"{extra} span cop(ies) arrived again with no exporter kill to excuse it",
                     actual=extra, sample=[f"{t}/{s}" for t, s in list(twice)[:_SAMPLE]] or None)
        judged = {"spans": len(counts)}
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged,
                        details={"unique": len(counts), "extra_copies": extra})
