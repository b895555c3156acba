"""Redaction judged on a capture alone (SPEC 4): what a saved trace must never carry.

Without a live run there are no planted canaries unless the user names them (``--canary``), so
besides those the spans are searched for well-known secret shapes (provider API keys, bearer
tokens, cloud access keys) and this suite's own canary format. A named canary is a content leak
(RED-01), and so is a suite content canary when the capture was taken with the switch on; a secret shape, a recorded auth header or a key query parameter is a
key leak (RED-08), whatever the switch. With ``exclude_request_data`` declared, content
attributes must be absent too (RED-01). Pure: spans in, a check result out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from testbed.checks.evidence import SpanView
from testbed.checks.redaction import check_content_names, check_secret_attributes, span_strings
from testbed.checks.result import CheckResult, FindingSink, conclude
from testbed.checks.rules import load_convention

NAME: Final = "redaction"
SPEC_IDS: Final = ("RED-01", "RED-08")
SECRET_PATTERNS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_-]{20,}")),
    ("an OpenAI-style API key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{16,}")),
    ("a suite API-key canary", re.compile(r"CNRY-KEY-[0-9a-f]{20}")),
)
SUITE_CANARY: Final = re.compile(r"CNRY-(?!KEY-)[A-Z]+-[0-9a-f]{20}")


def judge_redaction(spans: Sequence[SpanView], canaries: Iterable[str] = (), *, convention: str = "genai-1.41",
                    exclude_request_data: bool = False, scenario: str = "lint") -> CheckResult:
    sink = FindingSink(NAME, convention, scenario)
    named = [c for c in canaries if c]
    for s in spans:
        _scan_span(s, named, exclude_request_data, sink)
    check_secret_attributes(spans, (), sink)
    if exclude_request_data:
        check_content_names(spans, load_convention(convention), sink)
    return conclude(NAME, SPEC_IDS, sink.findings, judged={"spans": len(spans)},
                    details={"named_canaries": len(named), "exclude_request_data": exclude_request_data})


def _scan_span(s: SpanView, named: list[str], excluded: bool, sink: FindingSink) -> None:
    ids = {"trace_id": s.trace_id, "span_id": s.span_id}
    for loc, text in span_strings(s):
        for canary in named:
            if canary in text:
                sink.add("RED-01", "violation", "leak", "a named canary appears in a span", attribute=loc,
                         actual=canary, **ids)
        if excluded and (m := SUITE_CANARY.search(text)):
            sink.add("RED-01", "violation", "leak", "a content canary appears with Exclude Request Data on",
                     attribute=loc, actual=m.group(0), **ids)
        for what, pattern in SECRET_PATTERNS:
            m = pattern.search(text)
            if m:
                sink.add("RED-08", "violation", "leak", f"{what} appears in a span", attribute=loc,
                         actual=_masked(m.group(0)), **ids)
                break


def _masked(secret: str) -> str:
    """Enough of a secret to find it again, never the secret itself."""
    return f"{secret[:6]}…({len(secret)} chars)"
