"""Exporter config files: strict keys with the key path in every error, env resolution for keys
left out, and the packaged default config."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import ConfigError
from testbed.exporter.config import load_config, parse_config


def test_packaged_default_config_loads_with_the_shipped_batch_delay() -> None:
    config = load_config(None, {})
    assert config.batch.schedule_delay_s == 0.2
    assert config.batch.max_export_batch_size == 512
    assert config.sender.compression == "gzip" and config.sender.protocol == "http/protobuf"
    assert config.bus.durable == "testbed-exporter" and config.bus.max_deliver == 10
    assert config.retry.deadline_s == 30.0


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"buss": {}}, "buss"),
        ({"otlp": {"endpont": "http://x"}}, "otlp.endpont"),
        ({"otlp": {"timeout_ms": "fast"}}, "otlp.timeout_ms"),
        ({"batch": {"max_concurrent_exports": 0}}, "batch.max_concurrent_exports"),
        ({"retry": {"jitter": 1.5}}, "retry.jitter"),
        ({"metrics": {"port": True}}, "metrics.port"),
        ({"otlp": {"headers": {"a": [1]}}}, "otlp.headers"),
        ({"otlp": {"protocol": "grpc"}}, "grpc"),
        ({"bus": []}, "bus"),
    ],
)
def test_bad_keys_and_values_name_their_path(data: dict, path: str) -> None:
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        parse_config(data, {})


def test_keys_left_out_come_from_the_environment_and_config_beats_env() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_EXPORTER_OTLP_COMPRESSION": "none"}
    config = parse_config({"otlp": {"compression": "gzip", "api_key": "k1"}}, env)
    assert config.sender.endpoint == "http://env:4318/v1/traces"
    assert config.sender.compression == "gzip"
    assert config.sender.api_key == "k1"


def test_api_key_and_headers_never_appear_in_the_config_repr() -> None:
    config = parse_config({"otlp": {"api_key": "sk-secret-1", "headers": {"authorization": "sk-secret-2"}}}, {})
    assert "sk-secret" not in repr(config)


def test_a_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "exporter.yaml"
    path.write_text("otlp:\n  nope: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"exporter\.yaml: otlp\.nope"):
        load_config(str(path), {})
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yaml"), {})


def test_a_misspelt_key_names_the_key_it_was_meant_to_be(tmp_path: Path) -> None:
    path = tmp_path / "exporter.yaml"
    path.write_text("otlp:\n  endpont: http://x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"exporter\.yaml: otlp\.endpont: unknown key 'endpont'; did you mean 'endpoint'\?"):
        load_config(str(path), {})
    with pytest.raises(ConfigError, match=r"^buss: unknown key 'buss'; did you mean 'bus'\?"):
        parse_config({"buss": {}}, {})


def test_null_means_left_out_so_the_environment_fills_it() -> None:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://env:4318/v1/traces"}
    config = parse_config({"otlp": {"endpoint": None}, "bus": None, "retry": {"jitter": None}}, env)
    assert config.sender.endpoint == "http://env:4318/v1/traces" and config.retry.jitter == 0.2
