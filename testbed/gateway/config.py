"""Gateway configuration: YAML -> frozen dataclasses, strict keys, errors that name the key path.

``load_config(path, variables=...)`` reads a file; ``parse_config(data, ...)`` validates a mapping.
String values may hold ``${NAME}`` or ``${NAME:-default}``: ``NAME`` is looked up in ``variables``
first, then in the environment, so the stack can point the base URLs at the fake providers without
editing the file. A value that is exactly one reference takes the YAML type of its expansion
(``port: ${port:-0}`` is an int, ``exclude_request_data: ${exclude:-false}`` a bool). The filled-in
mapping is then validated against :mod:`testbed.gateway.config_schema`; an unknown key, a wrong
type or an unknown variable raises :class:`testbed.errors.ConfigError` naming the path
(``models.fast.targets[1].weight``), and a misspelt key gets a "did you mean".
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import yaml

from testbed.errors import ConfigError
from testbed.gateway.config_schema import (
    DEFAULT_BUS_URL, DEFAULT_QUEUE_SIZE, GatewayConfigModel, TargetModel,
)
from testbed.gateway.defects import gateway_defects
from testbed.schema import SchemaError, validate

ProviderFormat = Literal["openai", "anthropic", "gemini"]
_VAR_RE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class ApiKeyConfig:
    key: str
    name: str
    allowed_models: tuple[str, ...] | None = None
    """None allows every configured model."""
    exclude_request_data: bool | None = None
    """None follows the global switch."""


@dataclass(frozen=True, slots=True)
class TargetConfig:
    id: str
    provider: ProviderFormat
    model: str
    base_url: str
    api_key: str = field(repr=False)
    weight: float = 1.0
    timeout_s: float = 60.0
    retries: int = 0
    """Re-sends to this same target on a retryable failure before falling back."""

    @property
    def server_address(self) -> str | None:
        return urlsplit(self.base_url).hostname

    @property
    def server_port(self) -> int | None:
        parts = urlsplit(self.base_url)
        if parts.port is not None:
            return parts.port
        return {"http": 80, "https": 443}.get(parts.scheme)


@dataclass(frozen=True, slots=True)
class ModelConfig:
    name: str
    targets: tuple[TargetConfig, ...]


@dataclass(frozen=True, slots=True)
class BusConfig:
    url: str = DEFAULT_BUS_URL
    queue_size: int = DEFAULT_QUEUE_SIZE
    max_payload: int | None = None
    """Cap on one event's bytes; the server's own ``max_payload`` applies when lower."""
    publish_timeout_s: float = 5.0
    create_stream: bool = True
    """Create the JetStream stream when it is missing (never reshapes an existing one)."""


@dataclass(frozen=True, slots=True)
class TraceConfig:
    restart_inbound: bool = False


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    max_connections: int = 512
    keepalive_s: float = 30.0


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    host: str = "127.0.0.1"
    port: int = 0
    api_keys: tuple[ApiKeyConfig, ...] = ()
    exclude_request_data: bool = False
    capture_content: bool = True
    models: Mapping[str, ModelConfig] = field(default_factory=dict)
    bus: BusConfig = field(default_factory=BusConfig)
    resource: Mapping[str, str] = field(default_factory=dict)
    trace: TraceConfig = field(default_factory=TraceConfig)
    upstream: UpstreamConfig = field(default_factory=UpstreamConfig)
    defects: frozenset[str] = frozenset()
    """Seeded defects for ``testbed selftest`` (``testbed.gateway.defects``); empty in real use."""


def load_config(
    path: str, *, variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> GatewayConfig:
    """Read and validate a YAML config file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_config(data, variables=variables, environ=environ, file=path)
    except SchemaError:
        raise
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(
    data: Any, *, variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
    file: str = "",
) -> GatewayConfig:
    """Validate a mapping (as loaded from YAML) into a :class:`GatewayConfig`; ``file`` names it in errors."""
    lookup = _Lookup(dict(variables or {}), os.environ if environ is None else environ)
    data = lookup.substitute(data if data is not None else {}, "")
    m = validate(GatewayConfigModel, data, file)
    return GatewayConfig(
        host=m.listen.host, port=m.listen.port,
        api_keys=tuple(ApiKeyConfig(key=k.key, name=k.name if k.name is not None else f"key-{i}",
                                    allowed_models=k.allowed_models, exclude_request_data=k.exclude_request_data)
                       for i, k in enumerate(m.api_keys)),
        exclude_request_data=m.exclude_request_data, capture_content=m.capture_content,
        models={name: ModelConfig(name=name, targets=tuple(_target(t) for t in route.targets))
                for name, route in m.models.items()},
        bus=BusConfig(**m.bus.model_dump()),
        resource={key: str(value) for key, value in m.resource.items()},
        trace=TraceConfig(restart_inbound=m.trace.restart_inbound),
        upstream=UpstreamConfig(**m.upstream.model_dump()),
        defects=gateway_defects(m.defects, lookup.environ),
    )


def _target(t: TargetModel) -> TargetConfig:
    return TargetConfig(id=t.id if t.id is not None else f"{t.provider}:{t.model}", provider=t.provider,
                        model=t.model, base_url=t.base_url, api_key=t.api_key, weight=t.weight,
                        timeout_s=t.timeout_s, retries=t.retries)


@dataclass(frozen=True, slots=True)
class _Lookup:
    variables: dict[str, str]
    environ: Mapping[str, str]

    def substitute(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            whole = _VAR_RE.fullmatch(value)
            if whole is not None:
                # a value that is one reference takes the YAML type of what it expands to
                return _scalar(self._one(whole, path))
            return _VAR_RE.sub(lambda m: self._one(m, path), value)
        if isinstance(value, dict):
            return {k: self.substitute(v, _join(path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    def _one(self, match: re.Match[str], path: str) -> str:
        name, default = match.group(1), match.group(2)
        if name in self.variables:
            return str(self.variables[name])
        if name in self.environ:
            return self.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path or '<root>'}: unknown variable ${{{name}}}")


def _scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (bool, int, float)) and text.strip() else text


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
