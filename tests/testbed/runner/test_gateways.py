"""Gateway profiles: strict loading with errors naming the file and key path, template rendering
with the stack's values, and the shipped reference profile's config being a valid gateway config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.gateway.config import parse_config
from testbed.runner.gateways import GatewayContext, load_profile, reference_config_text, render
from testbed.runner.run import REFERENCE_PROFILE
from testbed.runner.scenario import ScenarioError

GOOD: dict[str, Any] = {"name": "g", "command": ["run", "{{ config_path }}"], "ready": {"line": "ready (?P<url>\\S+)"}}


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_minimal_profile_loads_with_defaults(tmp_path: Path) -> None:
    p = load_profile(write(tmp_path, GOOD))
    assert p.convention == "genai-1.41" and not p.reference_stack and p.knobs == frozenset()


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        pytest.param({"command": []}, "command", "at least one item", id="empty-command"),
        pytest.param({"command": ["run", 3]}, "command[1]", "expected a string", id="command-item-type"),
        pytest.param({"knobs": ["turbo"]}, "knobs[0]", "got 'turbo'", id="unknown-knob"),
        pytest.param({"convention": "otel-99"}, "convention", "expected one of", id="unknown-convention"),
        pytest.param({"config": {"template": "missing.j2"}}, "config.template", "no such file", id="missing-template"),
        pytest.param({"ready": {}}, "ready.line", "ready line regex or an http", id="no-readiness"),
        pytest.param({"ready": {"http": "http://x/health"}}, "base_url", "needed", id="http-needs-base-url"),
        pytest.param({"colour": "blue"}, "colour", "unknown key", id="unknown-key"),
        pytest.param({"ready": {"lien": "x"}}, "ready.lien", "did you mean 'line'?", id="misspelt-key"),
        pytest.param({"ready": None}, "ready", "expected a mapping", id="ready-null"),
    ],
)
def test_broken_profiles_name_the_key_path(tmp_path: Path, change: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_profile(write(tmp_path, {**GOOD, **change}))
    assert info.value.path == path and words in str(info.value)


def test_templates_refuse_undefined_variables() -> None:
    assert render("{{ a }}-{{ b }}", {"a": 1, "b": 2}, "t") == "1-2"
    with pytest.raises(ScenarioError, match="template error"):
        render("{{ nope }}", {}, "t")


def test_the_reference_profile_renders_a_valid_gateway_config(tmp_path: Path) -> None:
    profile = load_profile(REFERENCE_PROFILE)
    ctx = GatewayContext("http://127.0.0.1:1", "http://127.0.0.1:2/v1/traces", "mw", "nats://127.0.0.1:3", "up",
                         "gw-key", str(tmp_path), exclude_request_data=True)
    assert profile.config_template is not None and profile.reference_stack
    text = render(Path(profile.config_template).read_text(encoding="utf-8"), {**ctx.variables(), "port": 0}, "t")
    config = parse_config(yaml.safe_load(text), environ={})
    assert config.exclude_request_data is True and "fallback-chat" in config.models
    assert config.models["gpt-4o-mini"].targets[0].base_url == "http://127.0.0.1:1/v1"


def test_the_stack_managed_reference_config_keeps_the_stack_placeholders() -> None:
    text = reference_config_text(load_profile(REFERENCE_PROFILE), capture_content=False)
    variables = {"providers_url": "http://p:1", "nats_url": "nats://n:2", "provider_api_key": "u",
                 "gateway_api_key": "g", "exclude_request_data": "false", "gateway_host": "127.0.0.1",
                 "gateway_port": "0"}
    config = parse_config(yaml.safe_load(text), variables=variables, environ={})
    assert config.capture_content is False and config.api_keys[0].key == "g"


def test_a_profile_declares_known_findings_scoped_by_scenario_RUN_02(tmp_path: Path) -> None:
    known = [{"spec_id": "SEM-04", "match": {"check": "semconv"}, "reason": "never sets it"},
             {"spec_id": "RED-09", "match": {"scenario": "redaction-*"}, "reason": "records headers"}]
    p = load_profile(write(tmp_path, {**GOOD, "expected_findings": known}))
    assert [s.spec_id for s in p.suppressions_for("baseline")] == ["SEM-04"]
    assert [s.spec_id for s in p.suppressions_for("redaction-on")] == ["SEM-04", "RED-09"]


def test_a_known_finding_without_a_reason_is_refused_RUN_02(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="reason"):
        load_profile(write(tmp_path, {**GOOD, "expected_findings": [{"spec_id": "SEM-04"}]}))


def _litellm_context(tmp_path: Path, exclude: bool) -> dict[str, Any]:
    ctx = GatewayContext("http://127.0.0.1:1", "http://127.0.0.1:2/v1/traces", "mw-key", "nats://127.0.0.1:3",
                         "up-key", "sk-gw", str(tmp_path), exclude_request_data=exclude)
    return {**ctx.variables(), "port": 4000, "config_path": str(tmp_path / "litellm.yaml")}


@pytest.mark.parametrize("exclude", [True, False])
def test_the_litellm_profile_maps_exclude_request_data_to_turn_off_message_logging(tmp_path: Path,
                                                                                  exclude: bool) -> None:
    profile = load_profile(Path(REFERENCE_PROFILE).parent / "litellm.yaml")
    assert profile.config_template is not None
    variables = _litellm_context(tmp_path, exclude)
    config = yaml.safe_load(render(Path(profile.config_template).read_text(encoding="utf-8"), variables, "t"))
    assert config["litellm_settings"]["turn_off_message_logging"] is exclude
    assert config["litellm_settings"]["callbacks"] == ["otel"]
    assert config["general_settings"]["master_key"] == "sk-gw"
    assert {m["litellm_params"]["api_base"] for m in config["model_list"]} <= {"http://127.0.0.1:1", "http://127.0.0.1:1/v1"}


def test_the_litellm_profile_sends_otlp_to_the_ingest_with_its_key(tmp_path: Path) -> None:
    profile = load_profile(Path(REFERENCE_PROFILE).parent / "litellm.yaml")
    variables = _litellm_context(tmp_path, False)
    env = {k: render(v, variables, "t") for k, v in profile.env.items()}
    assert env["OTEL_EXPORTER"] == "otlp_http" and env["OTEL_ENDPOINT"] == "http://127.0.0.1:2/v1/traces"
    assert env["OTEL_HEADERS"] == "Authorization=mw-key" and env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert profile.ready.http is not None and profile.ready.http.endswith("/health/liveliness")


def test_the_litellm_command_comes_from_the_environment_or_the_default_venv(tmp_path: Path) -> None:
    profile = load_profile(Path(REFERENCE_PROFILE).parent / "litellm.yaml")
    variables = _litellm_context(tmp_path, False)
    chosen = {**variables, "env": {"TESTBED_LITELLM": "/opt/litellm/bin/litellm"}}
    assert render(profile.command[0], chosen, "t") == "/opt/litellm/bin/litellm"
    default = {**variables, "env": {}, "cwd": "/src/suite"}
    assert render(profile.command[0], default, "t") == "/src/suite/.venv-litellm/bin/litellm"
