"""Gateway config loading: strict keys, typed values, ``${var}`` substitution, and errors that name
the key path (STYLE: "every error names the key path")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from testbed.errors import ConfigError
from testbed.gateway import default_config_path, load_config, parse_config


def minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "api_keys": [{"key": "sk-a", "name": "a"}],
        "models": {"m": {"targets": [{"id": "t", "provider": "openai", "model": "up",
                                      "base_url": "http://127.0.0.1:1/v1", "api_key": "k"}]}},
    }
    data.update(overrides)
    return data


def test_a_minimal_config_gets_the_documented_defaults() -> None:
    config = parse_config(minimal(), environ={})
    assert config.exclude_request_data is False
    assert config.capture_content is True
    assert config.bus.queue_size == 10_000
    assert config.trace.restart_inbound is False
    target = config.models["m"].targets[0]
    assert (target.weight, target.timeout_s, target.retries) == (1.0, 60.0, 0)
    assert (target.server_address, target.server_port) == ("127.0.0.1", 1)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        pytest.param(lambda d: d.update(colour="red"), "colour", id="unknown-top-level-key"),
        pytest.param(lambda d: d["models"]["m"]["targets"][0].update(weight="heavy"),
                     "models.m.targets[0].weight", id="weight-not-a-number"),
        pytest.param(lambda d: d["models"]["m"]["targets"][0].update(provider="cohere"),
                     "models.m.targets[0].provider", id="unknown-provider-format"),
        pytest.param(lambda d: d["models"]["m"]["targets"][0].pop("model"),
                     "models.m.targets[0].model", id="missing-upstream-model"),
        pytest.param(lambda d: d["models"]["m"]["targets"][0].update(base_url="ftp://x"),
                     "models.m.targets[0].base_url", id="base-url-not-http"),
        pytest.param(lambda d: d["models"]["m"]["targets"][0].update(timeout_s=0),
                     "models.m.targets[0].timeout_s", id="zero-timeout"),
        pytest.param(lambda d: d["models"]["m"].update(targets=[]), "models.m.targets", id="no-targets"),
        pytest.param(lambda d: d["api_keys"][0].update(allowed_models=["nope"]),
                     "api_keys[0].allowed_models[0]", id="key-allows-unknown-model"),
        pytest.param(lambda d: d["api_keys"].append({"key": "sk-a"}), "api_keys[1].key", id="duplicate-key"),
        pytest.param(lambda d: d.update(bus={"queue_size": -1}), "bus.queue_size", id="negative-queue"),
        pytest.param(lambda d: d.update(exclude_request_data="yes"), "exclude_request_data", id="switch-not-bool"),
        pytest.param(lambda d: d.update(trace={"restart": True}), "trace.restart", id="unknown-trace-key"),
        pytest.param(lambda d: d.update(listen={"port": 70000}), "listen.port", id="port-out-of-range"),
    ],
)
def test_an_invalid_config_is_rejected_with_its_key_path(mutate: Any, path: str) -> None:
    data = minimal()
    mutate(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={})
    assert str(caught.value).startswith(path + ":"), str(caught.value)


def test_variables_win_over_the_environment_and_defaults_fill_the_rest() -> None:
    data = minimal(bus={"url": "${nats_url:-nats://default:4222}"})
    data["models"]["m"]["targets"][0]["base_url"] = "${providers_url}/v1"
    config = parse_config(data, variables={"providers_url": "http://127.0.0.1:9"},
                          environ={"providers_url": "http://wrong:1"})
    assert config.models["m"].targets[0].base_url == "http://127.0.0.1:9/v1"
    assert config.bus.url == "nats://default:4222"


def test_a_whole_value_reference_takes_the_type_of_its_expansion() -> None:
    data = minimal(exclude_request_data="${exclude}", listen={"port": "${port:-0}"})
    config = parse_config(data, environ={"exclude": "true"})
    assert config.exclude_request_data is True
    assert config.port == 0


def test_an_unknown_variable_names_where_it_was_used() -> None:
    data = minimal()
    data["models"]["m"]["targets"][0]["api_key"] = "${missing_key}"
    with pytest.raises(ConfigError, match=r"models\.m\.targets\[0\]\.api_key: unknown variable"):
        parse_config(data, environ={})


def test_a_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text("models: [oops", encoding="utf-8")
    with pytest.raises(ConfigError, match="gw.yaml"):
        load_config(str(path))


def test_the_shipped_config_routes_a_model_to_each_provider_format_and_has_a_fallback_alias() -> None:
    config = load_config(default_config_path(), variables={"providers_url": "http://127.0.0.1:5"}, environ={})
    formats = {t.provider for m in config.models.values() for t in m.targets}
    assert formats == {"openai", "anthropic", "gemini"}
    assert len(config.models["fast"].targets) >= 2
    assert all(t.base_url.startswith("http://127.0.0.1:5") for m in config.models.values() for t in m.targets)


def test_target_api_keys_are_not_in_the_repr() -> None:
    data = minimal()
    data["models"]["m"]["targets"][0]["api_key"] = "sk-secret-upstream"
    config = parse_config(data, environ={})
    assert "sk-secret-upstream" not in repr(config.models)


def test_a_misspelt_key_names_the_key_it_was_meant_to_be() -> None:
    data = minimal()
    data["models"]["m"]["targets"][0]["base_ulr"] = data["models"]["m"]["targets"][0].pop("base_url")
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={})
    assert str(caught.value).startswith("models.m.targets[0].base_ulr: unknown key 'base_ulr'; did you mean 'base_url'?")


def test_a_file_error_starts_with_the_file_and_the_key_path(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text("listen: {prot: 1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gw\.yaml: listen\.prot: unknown key 'prot'; did you mean 'port'\?"):
        load_config(str(path), environ={})


def test_the_editor_schema_accepts_placeholders_where_numbers_and_switches_go() -> None:
    from testbed.gateway.config_schema import json_schema

    port = json_schema()["$defs"]["ListenModel"]["properties"]["port"]
    kinds = [branch.get("type") for branch in port["anyOf"]]
    assert kinds == ["integer", "string"] and port["anyOf"][0]["maximum"] == 65535
    pattern = re.compile(port["anyOf"][1]["pattern"])
    assert pattern.search("${gateway_port:-8080}") and not pattern.search("8080")
