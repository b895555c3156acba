"""The reference AI gateway: an OpenAI-compatible front routing to OpenAI-, Anthropic- and
Gemini-format providers, publishing one TraceEvent per request to NATS JetStream after the
response is delivered (SPEC sections 2-4).

Data flows client -> gateway -> provider, then gateway -> bus. Pure modules: ``config``,
``routing``, ``tracecontext``, ``providers``, ``content``, ``events``, ``resource_attrs``. I/O edges:
``upstream`` (aiohttp client), ``publisher`` (NATS), ``app``/``handlers``/``chat`` (aiohttp server).
"""

from __future__ import annotations

from importlib import resources

from testbed.gateway.app import create_app
from testbed.gateway.config import GatewayConfig, load_config, parse_config
from testbed.gateway.main import run_gateway
from testbed.gateway.server import GatewayServer


def default_config_path() -> str:
    """Path of the shipped example config (package data)."""
    return str(resources.files(__package__).joinpath("default_config.yaml"))


__all__ = [
    "GatewayConfig",
    "GatewayServer",
    "create_app",
    "default_config_path",
    "load_config",
    "parse_config",
    "run_gateway",
]
