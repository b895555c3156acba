"""Value check (SEM-09, SEM-10, SEM-11, SEM-21, GW-04): span values against what the fake provider
reported in its journal, per provider usage mapping, and one CLIENT span per upstream request."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks.semconv_values import ValuesCheck, expected_usage, normalize_finish
from tests.testbed.checks.builders import evidence, ids, pair, with_span_attrs

CHECK = ValuesCheck()


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_conforming_values_pass(provider: str) -> None:
    result = CHECK.run(evidence(2, provider))
    assert result.outcome == "passed" and result.findings == ()


@pytest.mark.parametrize(("provider", "usage", "expected"), [
    ("openai", {"prompt_tokens": 10, "completion_tokens": 4, "prompt_tokens_details": {"cached_tokens": 6},
                "completion_tokens_details": {"reasoning_tokens": 2}},
     {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 4, "gen_ai.usage.cache_read.input_tokens": 6,
      "gen_ai.usage.reasoning.output_tokens": 2}),
    ("anthropic", {"input_tokens": 5, "output_tokens": 9, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 2},
     {"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 9, "gen_ai.usage.cache_read.input_tokens": 3,
      "gen_ai.usage.cache_creation.input_tokens": 2}),
    ("gemini", {"promptTokenCount": 8, "candidatesTokenCount": 4, "thoughtsTokenCount": 2},
     {"gen_ai.usage.input_tokens": 8, "gen_ai.usage.output_tokens": 6, "gen_ai.usage.reasoning.output_tokens": 2}),
], ids=["SEM-09-openai", "SEM-09-anthropic-includes-cache", "SEM-09-gemini-adds-thoughts"])
def test_usage_mapping_per_provider_SEM_09(provider: str, usage: dict, expected: dict) -> None:
    assert expected_usage(provider, usage) == expected


DEFECTS = [
    pytest.param("anthropic", {"gen_ai.usage.input_tokens": 5}, (), ("SEM-09", "violation"),
                 id="SEM-09-anthropic-input-without-cache"),
    pytest.param("openai", {"gen_ai.usage.output_tokens": 8}, (), ("SEM-09", "violation"), id="SEM-09-wrong-output"),
    pytest.param("openai", {}, ("gen_ai.usage.input_tokens",), ("SEM-09", "warning"), id="SEM-09-missing-input"),
    pytest.param("openai", {"gen_ai.response.finish_reasons": ["length"]}, (), ("SEM-10", "violation"),
                 id="SEM-10-wrong-reason"),
    pytest.param("openai", {"gen_ai.response.finish_reasons": []}, (), ("SEM-10", "warning"), id="SEM-10-empty"),
    pytest.param("openai", {"gen_ai.response.finish_reasons": ["stop", "stop"]}, (), ("SEM-10", "warning"),
                 id="SEM-10-wrong-count"),
    pytest.param("openai", {}, ("gen_ai.response.finish_reasons",), ("SEM-10", "warning"), id="SEM-10-missing"),
    pytest.param("openai", {"gen_ai.response.model": "my-alias"}, (), ("SEM-11", "violation"),
                 id="SEM-11-alias-as-response-model"),
    pytest.param("openai", {"gen_ai.request.model": "my-alias"}, (), ("SEM-11", "violation"),
                 id="SEM-11-alias-as-request-model"),
    pytest.param("openai", {"gen_ai.response.id": "gw-123"}, (), ("SEM-11", "violation"), id="SEM-11-own-response-id"),
    pytest.param("openai", {}, ("gen_ai.response.id",), ("SEM-11", "warning"), id="SEM-11-response-id-missing"),
]


@pytest.mark.parametrize(("provider", "put", "drop", "expected"), DEFECTS)
def test_seeded_value_defect_is_reported(provider: str, put: dict, drop: tuple, expected: tuple[str, str]) -> None:
    ev = with_span_attrs(evidence(1, provider), 0, drop=drop, put=put)
    assert expected in ids(CHECK.run(ev))


@pytest.mark.parametrize(("provider", "raw", "normalized"), [
    ("openai", "tool_calls", "tool_call"), ("anthropic", "end_turn", "stop"), ("anthropic", "refusal", "content_filter"),
    ("gemini", "MAX_TOKENS", "length"), ("gemini", "MALFORMED_FUNCTION_CALL", "error"),
], ids=lambda v: str(v))
def test_normalized_finish_reasons_follow_SEM_21(provider: str, raw: str, normalized: str) -> None:
    assert normalize_finish(provider, raw) == normalized


def test_a_normalized_finish_reason_is_accepted_SEM_10_SEM_21() -> None:
    ev = with_span_attrs(evidence(1, "anthropic"), 0, put={"gen_ai.response.finish_reasons": ["stop"]})
    assert CHECK.run(ev).outcome == "passed"


def test_hidden_retry_without_a_span_is_a_violation_GW_04() -> None:
    ev = evidence(1)
    retry = replace(ev.journal[0], headers={**ev.journal[0].headers, "traceparent": f"00-{ev.spans[0].trace_id}-{'ab' * 8}-01"})
    result = CHECK.run(replace(ev, journal=ev.journal + (retry,)))
    assert ("GW-04", "violation") in ids(result) and result.outcome == "failed"


def test_phantom_span_without_an_upstream_request_is_a_violation_GW_04() -> None:
    ev = evidence(1)
    phantom, _ = pair(7)
    assert ("GW-04", "violation") in ids(CHECK.run(replace(ev, spans=ev.spans + (phantom,))))


def test_without_traceparent_values_are_still_judged_on_pairs_made_by_response_id() -> None:
    ev = with_span_attrs(evidence(2), 0, put={"gen_ai.usage.output_tokens": 99})
    bare = tuple(replace(e, headers={}) for e in ev.journal)
    result = CHECK.run(replace(ev, journal=bare))
    assert ("SEM-09", "violation") in ids(result)
    assert result.details["pairing"]["by_means"] == {"response_id": 2}


def test_value_violation_on_a_weak_pair_is_a_warning_that_names_the_means() -> None:
    ev = with_span_attrs(evidence(1), 0, drop=("gen_ai.response.id",), put={"gen_ai.usage.output_tokens": 99},
                         trace_id="ab" * 16)
    result = CHECK.run(replace(ev, journal=(replace(ev.journal[0], headers={}),)))
    usage = [f for f in result.findings if f.spec_id == "SEM-09"]
    assert usage and all(f.severity == "warning" and f.evidence["pairing"] == "model_time" for f in usage)


def test_nothing_pairable_by_any_means_is_inconclusive_GW_04() -> None:
    ev = with_span_attrs(evidence(1), 0, drop=("gen_ai.response.id",), trace_id="ab" * 16,
                         start_ns=evidence(1).journal[0].time_ns + 10**9)
    result = CHECK.run(replace(ev, journal=(replace(ev.journal[0], headers={}),)))
    assert result.outcome == "inconclusive" and "paired" in result.reason
