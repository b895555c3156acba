"""Semantic-convention check (SEM-01..07, SEM-12, SEM-13, SEM-23, SEM-24): each defect kind the
check claims is seeded into otherwise conforming evidence and must be reported with its SPEC id
and severity; the conforming runs for every provider must pass without warnings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks.evidence import ScenarioSettings
from testbed.checks.semconv import SemconvCheck, type_problem
from testbed.checks.evidence import TypedValue
from tests.testbed.checks.builders import evidence, ids, with_span_attrs

CHECK = SemconvCheck()


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_conforming_spans_pass_without_warnings(provider: str, stream: bool) -> None:
    result = CHECK.run(evidence(3, provider, stream))
    assert result.outcome == "passed"
    assert [f for f in result.findings if f.severity != "info"] == []


DEFECTS = [
    pytest.param({"name": "chat"}, {}, (), ("SEM-01", "warning"), id="SEM-01-name-without-model"),
    pytest.param({"kind": 2}, {}, (), ("SEM-02", "warning"), id="SEM-02-server-kind"),
    pytest.param({"kind": 1}, {}, (), ("SEM-02", "warning"), id="SEM-02-internal-with-remote-address"),
    pytest.param({}, {}, ("gen_ai.provider.name",), ("SEM-04", "violation"), id="SEM-04-provider-missing"),
    pytest.param({}, {"gen_ai.provider.name": "anthropic"}, (), ("SEM-04", "violation"), id="SEM-04-wrong-provider"),
    pytest.param({}, {"gen_ai.operation.name": "completion", "gen_ai.provider.name": "openai"}, (),
                 ("SEM-03", "violation"), id="SEM-03-not-the-well-known-operation"),
    pytest.param({"status_code": 1}, {}, (), ("SEM-05", "warning"), id="SEM-05-status-ok-on-success"),
    pytest.param({"status_code": 2}, {}, (), ("SEM-05", "violation"), id="SEM-05-status-error-on-success"),
    pytest.param({}, {"error.type": "timeout"}, (), ("SEM-05", "warning"), id="SEM-05-error-type-on-success"),
    pytest.param({}, {}, ("gen_ai.request.model",), ("SEM-11", "violation"), id="SEM-11-request-model-missing"),
    pytest.param({}, {}, ("server.port",), ("SEM-12", "violation"), id="CR-server-port-missing-with-address"),
    pytest.param({}, {}, ("gen_ai.request.max_tokens",), ("SEM-12", "warning"), id="REC-max-tokens-missing"),
    pytest.param({}, {"gen_ai.usage.input_tokens": "11"}, (), ("SEM-12", "violation"), id="SEM-12-string-for-int"),
    pytest.param({}, {"gen_ai.usage.input_tokens": 11.0}, (), ("SEM-12", "warning"), id="SEM-12-double-for-int"),
    pytest.param({}, {"gen_ai.request.temperature": 1}, (), ("SEM-12", "info"), id="SEM-12-int-for-double"),
    pytest.param({}, {"gen_ai.response.finish_reasons": "stop"}, (), ("SEM-12", "violation"),
                 id="SEM-12-string-for-string-array"),
    pytest.param({}, {"llm.is_streaming": "False"}, (), ("SEM-12", "violation"), id="SEM-12-DEV-04-string-bool"),
    pytest.param({}, {"gen_ai.usage.total_tokens": 18}, (), ("SEM-13", "info"), id="SEM-13-total-tokens"),
    pytest.param({}, {"gen_ai.cost.total_cost": 0.1}, (), ("SEM-13", "info"), id="SEM-13-cost"),
    pytest.param({}, {"gen_ai.made_up": "x"}, (), ("SEM-13", "info"), id="SEM-13-unknown-gen-ai-name"),
    pytest.param({}, {"gen_ai.usage.prompt_tokens": 11}, ("gen_ai.usage.input_tokens",), ("SEM-23", "warning"),
                 id="SEM-23-deprecated-usage-name"),
]


@pytest.mark.parametrize(("fields", "put", "drop", "expected"), DEFECTS)
def test_seeded_defect_is_reported(fields: dict, put: dict, drop: tuple, expected: tuple[str, str]) -> None:
    ev = with_span_attrs(evidence(1), 0, drop=drop, put=put, **fields)
    assert expected in ids(CHECK.run(ev))


def test_failed_call_without_error_type_is_a_violation_SEM_06() -> None:
    ev = evidence(1)
    ev = replace(ev, journal=(replace(ev.journal[0], status=503, error_type="server_error"),))
    found = ids(CHECK.run(ev))
    assert ("SEM-06", "violation") in found and ("SEM-06", "warning") in found


def test_message_like_error_type_is_a_warning_SEM_07() -> None:
    ev = evidence(1)
    ev = replace(ev, journal=(replace(ev.journal[0], status=500),))
    ev = with_span_attrs(ev, 0, put={"error.type": "The server had an error while processing"}, status_code=2,
                         status_message="upstream 500")
    result = CHECK.run(ev)
    assert ("SEM-07", "warning") in ids(result)
    assert ("SEM-06", "violation") not in ids(result)


def test_deprecated_system_fails_under_genai_only_warns_under_legacy_and_findings_name_the_convention_SEM_23() -> None:
    ev = with_span_attrs(evidence(1), 0, drop=("gen_ai.provider.name",), put={"gen_ai.system": "openai"})
    strict = ids(CHECK.run(ev))
    assert ("SEM-04", "violation") in strict and ("SEM-23", "warning") in strict
    legacy = CHECK.run(replace(ev, settings=replace(ev.settings, convention="legacy")))
    assert ("SEM-04", "violation") not in ids(legacy) and ("SEM-23", "warning") in ids(legacy)
    assert legacy.outcome == "passed"
    assert {f.convention for f in CHECK.run(ev).findings} == {"genai-1.41"}
    assert {f.convention for f in legacy.findings} == {"legacy"}
    assert all(f.to_json()["convention"] == "legacy" for f in legacy.findings)


def test_legacy_maps_old_provider_values_to_new_ones_SEM_23() -> None:
    ev = evidence(1, "gemini")
    ev = with_span_attrs(ev, 0, drop=("gen_ai.provider.name",), put={"gen_ai.system": "gemini"})
    legacy = CHECK.run(replace(ev, settings=replace(ev.settings, convention="legacy")))
    assert ("SEM-04", "violation") not in ids(legacy)


def test_embeddings_span_with_output_tokens_is_a_warning_SEM_24() -> None:
    ev = evidence(1)
    ev = replace(ev, journal=(replace(ev.journal[0], path="/v1/embeddings", finish_reasons=()),))
    ev = with_span_attrs(ev, 0, name="embeddings gpt-4o-mini", drop=("gen_ai.response.finish_reasons",),
                         put={"gen_ai.operation.name": "embeddings"})
    found = ids(CHECK.run(ev))
    assert ("SEM-24", "warning") in found
    assert ("SEM-03", "violation") not in found


def test_gemini_accepts_chat_as_operation_SEM_03() -> None:
    ev = with_span_attrs(evidence(1, "gemini"), 0, name="chat gemini-2.0-flash",
                         put={"gen_ai.operation.name": "chat"})
    assert CHECK.run(ev).outcome == "passed"


def test_the_openinference_convention_checks_its_own_kind_and_types() -> None:
    ev = with_span_attrs(evidence(1), 0, put={"openinference.span.kind": "CHAIN", "llm.token_count.prompt": "3"})
    ev = replace(ev, settings=replace(ev.settings, convention="openinference"))
    found = ids(CHECK.run(ev))
    assert ("SEM-03", "violation") in found and ("SEM-12", "violation") in found


def test_no_genai_span_is_inconclusive_RUN_03() -> None:
    result = CHECK.run(replace(evidence(1), spans=()))
    assert result.outcome == "inconclusive" and result.reason


@pytest.mark.parametrize(("expected", "value", "severity"), [
    ("int", TypedValue("int", 1), None),
    ("double", TypedValue("int", 1), "info"),
    ("int", TypedValue("double", 1.0), "warning"),
    ("bool", TypedValue("string", "False"), "violation"),
    ("string[]", TypedValue("array", (TypedValue("int", 1),)), "violation"),
], ids=["int-ok", "double-as-int", "int-as-double", "bool-as-string", "array-of-ints"])
def test_type_fidelity_table_SEM_12(expected: str, value: TypedValue, severity: str | None) -> None:
    problem = type_problem(expected, value)
    assert (problem[0] if problem else None) == severity


def test_settings_default_to_the_genai_convention() -> None:
    assert ScenarioSettings().convention == "genai-1.41"


def test_a_span_that_lost_its_operation_name_is_still_judged_and_fails_SEM_03() -> None:
    """Selection by any gen_ai.* attribute: the LiteLLM shape with content logging off."""
    ev = evidence(2)
    stripped = tuple(replace(s, attributes={k: v for k, v in s.attributes.items()
                                            if k not in ("gen_ai.operation.name", "gen_ai.response.finish_reasons")})
                     if s.kind == 3 else s for s in ev.spans)
    result = CHECK.run(replace(ev, spans=stripped))
    assert result.outcome == "failed" and ("SEM-03", "violation") in ids(result)
    assert result.judged == {"spans": 2}


def test_spans_without_any_gen_ai_attribute_leave_semconv_inconclusive_RUN_03() -> None:
    ev = evidence(2)
    result = CHECK.run(replace(ev, spans=tuple(s for s in ev.spans if s.kind != 3)))
    assert result.outcome == "inconclusive" and result.judged == {"spans": 0}
