"""Redaction on a capture alone (RED-01, RED-08): named canaries, secret shapes (masked in the
finding, never repeated whole), recorded auth headers, and content attributes or suite canaries
when the capture was declared as made with Exclude Request Data on."""

from __future__ import annotations

import pytest

from testbed.lint.secrets_scan import judge_redaction
from tests.testbed.checks.builders import span, tv

KEY = "sk-proj-" + "a1B2" * 8


def _ids(result: object) -> set[tuple[str, str]]:
    return {(f.spec_id, f.severity) for f in getattr(result, "findings")}


@pytest.mark.parametrize(("value", "what"), [
    (f"calling with {KEY}", "OpenAI-style"),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "bearer"),
    ("AKIAABCDEFGHIJKLMNOP", "AWS"),
    ("sk-ant-api03-" + "x" * 30, "Anthropic"),
])
def test_a_secret_shape_anywhere_in_a_span_is_a_masked_RED_08_violation(value: str, what: str) -> None:
    result = judge_redaction([span(attributes={"llm.request.debug": value})])
    [f] = result.findings
    assert (f.spec_id, f.severity) == ("RED-08", "violation") and what in f.message
    assert value not in str(f.evidence) and "chars" in f.evidence["actual"]


def test_a_named_canary_is_a_RED_01_leak_and_a_clean_span_passes() -> None:
    leaked = span(attributes={"gen_ai.input.messages": tv('[{"content": "secret plan 42"}]')})
    assert ("RED-01", "violation") in _ids(judge_redaction([leaked], ["secret plan 42"]))
    clean = judge_redaction([span(attributes={"gen_ai.operation.name": "chat"})], ["secret plan 42"])
    assert clean.outcome == "passed" and clean.findings == ()


def test_with_exclude_request_data_declared_content_attributes_and_suite_canaries_are_leaks() -> None:
    s = span(attributes={"gen_ai.input.messages": "hi CNRY-USR-0123456789abcdef0123"})
    assert _ids(judge_redaction([s])) == set()
    assert ("RED-01", "violation") in _ids(judge_redaction([s], exclude_request_data=True))


def test_a_recorded_authorization_header_is_RED_08_whatever_its_value() -> None:
    s = span(attributes={"http.request.header.authorization": ["x"]})
    assert ("RED-08", "violation") in _ids(judge_redaction([s]))
