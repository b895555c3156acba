"""Client-visible truth (FRONT-01..03, SPEC 9.5): what the client was told against what the provider
sent, translated to the OpenAI format, and against the span. The mutation that turned Anthropic's
streamed ``max_tokens`` into ``stop`` for the client while the span stayed right must fail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks.client_view import ClientViewCheck, front_finish, front_usage
from testbed.checks.evidence import Canary, Evidence
from tests.testbed.checks.builders import evidence, ids

CHECK = ClientViewCheck()


def with_client(ev: Evidence, **fields: object) -> Evidence:
    return replace(ev, client=tuple(replace(c, **fields) for c in ev.client))  # type: ignore[arg-type]


def max_tokens_stream() -> Evidence:
    """Anthropic streams that stopped on max_tokens; span and client both right."""
    ev = evidence(2, "anthropic", stream=True)
    journal = tuple(replace(e, finish_reasons=("max_tokens",)) for e in ev.journal)
    spans = tuple(replace(s, attributes={**s.attributes, "gen_ai.response.finish_reasons":
                                         replace(s.attributes["gen_ai.response.finish_reasons"],
                                                 value=(replace(s.attributes["gen_ai.response.finish_reasons"].value[0],
                                                                value="max_tokens"),))})
                  if s.kind == 3 else s for s in ev.spans)
    return with_client(replace(ev, journal=journal, spans=spans), finish_reasons=("length",))


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_truthful_answer_passes(provider: str, stream: bool) -> None:
    result = CHECK.run(evidence(2, provider, stream=stream))
    assert result.outcome == "passed" and result.findings == () and result.judged == {"answers": 2}


def test_anthropic_max_tokens_told_as_length_passes() -> None:
    assert CHECK.run(max_tokens_stream()).outcome == "passed"


def test_anthropic_streamed_max_tokens_turned_into_stop_for_the_client_is_caught_FRONT_01() -> None:
    result = CHECK.run(with_client(max_tokens_stream(), finish_reasons=("stop",)))
    assert result.outcome == "failed" and ("FRONT-01", "violation") in ids(result)
    assert any("span and the client disagree" in f.message for f in result.findings)


def test_client_usage_other_than_the_providers_is_a_violation_FRONT_02() -> None:
    result = CHECK.run(with_client(evidence(1, "anthropic"), prompt_tokens=5))  # cache tokens left out
    assert ("FRONT-02", "violation") in ids(result)


def test_usage_missing_for_the_client_is_a_warning_FRONT_02() -> None:
    assert ("FRONT-02", "warning") in ids(CHECK.run(with_client(evidence(1), completion_tokens=None)))


def test_a_stream_answered_as_one_body_is_a_violation_FRONT_03() -> None:
    assert ("FRONT-03", "violation") in ids(CHECK.run(with_client(evidence(1, stream=True), streamed=False)))


def test_empty_evidence_is_inconclusive_RUN_03() -> None:
    assert CHECK.run(Evidence()).outcome == "inconclusive"


def test_answers_that_cannot_be_tied_to_an_upstream_request_are_inconclusive_RUN_03() -> None:
    result = CHECK.run(replace(evidence(2), journal=()))
    assert result.outcome == "inconclusive" and result.judged == {"answers": 0}


def test_the_front_translation_follows_spec_9_5() -> None:
    assert [front_finish("anthropic", r) for r in ("end_turn", "max_tokens", "tool_use")] == ["stop", "length", "tool_calls"]
    assert front_finish("gemini", "MAX_TOKENS") == "length" and front_finish("openai", "length") == "length"
    assert front_usage("anthropic", {"input_tokens": 5, "output_tokens": 9, "cache_read_input_tokens": 3}) == \
        {"prompt_tokens": 8, "completion_tokens": 9}


def test_answers_are_tied_by_the_requests_canaries_when_no_header_reaches_the_provider() -> None:
    """A gateway that forwards neither the correlation header nor traceparent still forwards the prompt."""
    ev = evidence(2)
    canaries = tuple(Canary(f"CNRY-USR-{i:020x}", "USR", f"req-{i}") for i in range(2))
    journal = tuple(replace(e, headers={}, body={**e.body, "messages": [{"role": "user", "content": f"hi {c.value}"}]})
                    for e, c in zip(ev.journal, canaries))
    ev = replace(ev, journal=journal, canaries=canaries)
    assert CHECK.run(ev).judged == {"answers": 2}
    wrong = replace(ev, client=(replace(ev.client[0], finish_reasons=("length",)), ev.client[1]))
    assert ("FRONT-01", "violation") in ids(CHECK.run(wrong))
