"""Configuration the stack hands to the gateway and the exporter it starts.

The gateway reads its shipped ``default_config.yaml`` (or a file given in the stack settings),
whose ``${name:-default}`` placeholders are filled from the environment built here; the exporter
gets a generated YAML file pointing at the bus and at the fake ingest with its API key.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testbed.runner.stack import StackSettings


def default_gateway_config_path() -> str:
    """The gateway configuration shipped with the package."""
    return str(resources.files("testbed.gateway").joinpath("default_config.yaml"))


def gateway_env(settings: StackSettings, providers_url: str, nats_url: str, host: str) -> dict[str, str]:
    """Environment variables that fill the gateway configuration's placeholders."""
    return {
        "gateway_host": host,
        "gateway_port": "0",
        "gateway_api_key": settings.gateway_api_key,
        "provider_api_key": settings.provider_api_key,
        "providers_url": providers_url,
        "nats_url": nats_url,
        "exclude_request_data": "true" if settings.exclude_request_data else "false",
    }


def exporter_config(settings: StackSettings, middleware_url: str, nats_url: str, host: str) -> dict[str, Any]:
    """The exporter's YAML document: bus in, fake ingest out, metrics on a free port."""
    config: dict[str, Any] = {
        "bus": {"url": nats_url},
        "otlp": {"endpoint": f"{middleware_url}/v1/traces", "api_key": settings.middleware_api_key},
        "metrics": {"host": host, "port": 0},
        # Delta points, flushed often: each scenario's points reach the ingest before its drain ends (MET-04).
        "genai_metrics": {"temporality": "delta", "interval_ms": 250},
    }
    for section, values in settings.exporter_overrides.items():
        if isinstance(values, dict) and isinstance(config.get(section), dict):
            config[section].update(values)
        else:
            config[section] = values  # a new section, or a list-valued one such as ``defects``
    return config
