"""Gateway configuration: YAML -> frozen dataclasses, strict keys, errors that name the key path.

``load_config(path, variables=...)`` reads a file; ``parse_config(data, ...)`` validates a mapping.
String values may hold ``${NAME}`` or ``${NAME:-default}``: ``NAME`` is looked up in ``variables``
first, then in the environment, so the stack can point the base URLs at the fake providers without
editing the file. A value that is exactly one reference takes the YAML type of its expansion
(``port: ${port:-0}`` is an int, ``exclude_request_data: ${exclude:-false}`` a bool). An unknown key, a wrong type or an unknown variable raises
:class:`testbed.errors.ConfigError` naming the path (``models.fast.targets[1].weight``).
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
from testbed.gateway.defects import gateway_defects

ProviderFormat = Literal["openai", "anthropic", "gemini"]
PROVIDER_FORMATS: Final = ("openai", "anthropic", "gemini")
DEFAULT_QUEUE_SIZE: Final = 10_000
DEFAULT_BUS_URL: Final = "nats://127.0.0.1:4222"
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
        return parse_config(data, variables=variables, environ=environ)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(
    data: Any, *, variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> GatewayConfig:
    """Validate a mapping (as loaded from YAML) into a :class:`GatewayConfig`."""
    lookup = _Lookup(dict(variables or {}), os.environ if environ is None else environ)
    data = lookup.substitute(data if data is not None else {}, "")
    top = _mapping(data, "")
    _only(top, "", {"listen", "api_keys", "exclude_request_data", "capture_content", "models", "bus",
                    "resource", "trace", "upstream", "defects"})
    listen = _mapping(top.get("listen", {}), "listen")
    _only(listen, "listen", {"host", "port"})
    models = _models(top.get("models", {}))
    return GatewayConfig(
        host=_typed(listen.get("host", "127.0.0.1"), str, "listen.host"),
        port=_port(listen.get("port", 0), "listen.port"),
        api_keys=_api_keys(top.get("api_keys", []), set(models)),
        exclude_request_data=_typed(top.get("exclude_request_data", False), bool, "exclude_request_data"),
        capture_content=_typed(top.get("capture_content", True), bool, "capture_content"),
        models=models,
        bus=_bus(top.get("bus", {})),
        resource=_resource(top.get("resource", {})),
        trace=_trace(top.get("trace", {})),
        upstream=_upstream(top.get("upstream", {})),
        defects=gateway_defects(top.get("defects"), lookup.environ),
    )


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


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path or '<root>'}: expected a mapping, got {type(value).__name__}")
    return value


def _only(mapping: dict[str, Any], path: str, allowed: set[str]) -> None:
    for key in mapping:
        if key not in allowed:
            raise ConfigError(f"{_join(path, str(key))}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _required(mapping: dict[str, Any], key: str, path: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise ConfigError(f"{_join(path, key)}: required")
    return mapping[key]


def _typed(value: Any, kind: type, path: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{path}: expected {kind.__name__}, got bool")
    if kind is float and isinstance(value, int):
        return float(value)
    if not isinstance(value, kind):
        raise ConfigError(f"{path}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _positive(value: Any, path: str, kind: type = float) -> Any:
    number = _typed(value, kind, path)
    if number <= 0:
        raise ConfigError(f"{path}: must be > 0")
    return number


def _port(value: Any, path: str) -> int:
    port = _typed(value, int, path)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{path}: must be 0..65535")
    return port


def _api_keys(value: Any, model_names: set[str]) -> tuple[ApiKeyConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError("api_keys: expected a list")
    keys: list[ApiKeyConfig] = []
    for i, raw in enumerate(value):
        path = f"api_keys[{i}]"
        item = _mapping(raw, path)
        _only(item, path, {"key", "name", "allowed_models", "exclude_request_data"})
        key = _typed(_required(item, "key", path), str, f"{path}.key")
        if not key:
            raise ConfigError(f"{path}.key: must not be empty")
        if any(k.key == key for k in keys):
            raise ConfigError(f"{path}.key: duplicate key")
        allowed = item.get("allowed_models")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(m, str) for m in allowed):
                raise ConfigError(f"{path}.allowed_models: expected a list of model names")
            for j, model in enumerate(allowed):
                if model not in model_names:
                    raise ConfigError(f"{path}.allowed_models[{j}]: unknown model {model!r}")
            allowed = tuple(allowed)
        exclude = item.get("exclude_request_data")
        if exclude is not None:
            _typed(exclude, bool, f"{path}.exclude_request_data")
        name = _typed(item.get("name", f"key-{i}"), str, f"{path}.name")
        keys.append(ApiKeyConfig(key=key, name=name, allowed_models=allowed, exclude_request_data=exclude))
    return tuple(keys)


def _models(value: Any) -> dict[str, ModelConfig]:
    models: dict[str, ModelConfig] = {}
    for name, raw in _mapping(value, "models").items():
        path = f"models.{name}"
        item = _mapping(raw, path)
        _only(item, path, {"targets"})
        targets = _required(item, "targets", path)
        if not isinstance(targets, list) or not targets:
            raise ConfigError(f"{path}.targets: expected a non-empty list")
        parsed = tuple(_target(t, f"{path}.targets[{i}]") for i, t in enumerate(targets))
        if all(t.weight == 0 for t in parsed):
            raise ConfigError(f"{path}.targets: at least one target needs a weight > 0")
        models[str(name)] = ModelConfig(name=str(name), targets=parsed)
    return models


def _target(raw: Any, path: str) -> TargetConfig:
    item = _mapping(raw, path)
    _only(item, path, {"id", "provider", "model", "base_url", "api_key", "weight", "timeout_s", "retries"})
    provider = _typed(_required(item, "provider", path), str, f"{path}.provider")
    if provider not in PROVIDER_FORMATS:
        raise ConfigError(f"{path}.provider: must be one of {', '.join(PROVIDER_FORMATS)}")
    base_url = _typed(_required(item, "base_url", path), str, f"{path}.base_url").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
        raise ConfigError(f"{path}.base_url: expected an http(s) URL")
    weight = _typed(item.get("weight", 1.0), float, f"{path}.weight")
    if weight < 0:
        raise ConfigError(f"{path}.weight: must be >= 0")
    retries = _typed(item.get("retries", 0), int, f"{path}.retries")
    if retries < 0:
        raise ConfigError(f"{path}.retries: must be >= 0")
    model = _typed(_required(item, "model", path), str, f"{path}.model")
    return TargetConfig(
        id=_typed(item.get("id", f"{provider}:{model}"), str, f"{path}.id"),
        provider=provider,  # type: ignore[arg-type]
        model=model,
        base_url=base_url,
        api_key=_typed(item.get("api_key", ""), str, f"{path}.api_key"),
        weight=weight,
        timeout_s=_positive(item.get("timeout_s", 60.0), f"{path}.timeout_s"),
        retries=retries,
    )


def _bus(value: Any) -> BusConfig:
    item = _mapping(value, "bus")
    _only(item, "bus", {"url", "queue_size", "max_payload", "publish_timeout_s", "create_stream"})
    max_payload = item.get("max_payload")
    return BusConfig(
        url=_typed(item.get("url", DEFAULT_BUS_URL), str, "bus.url"),
        queue_size=_positive(item.get("queue_size", DEFAULT_QUEUE_SIZE), "bus.queue_size", int),
        max_payload=None if max_payload is None else _positive(max_payload, "bus.max_payload", int),
        publish_timeout_s=_positive(item.get("publish_timeout_s", 5.0), "bus.publish_timeout_s"),
        create_stream=_typed(item.get("create_stream", True), bool, "bus.create_stream"),
    )


def _resource(value: Any) -> dict[str, str]:
    item = _mapping(value, "resource")
    out: dict[str, str] = {}
    for key, raw in item.items():
        if not isinstance(raw, (str, int, float, bool)):
            raise ConfigError(f"resource.{key}: expected a scalar")
        out[str(key)] = str(raw)
    return out


def _trace(value: Any) -> TraceConfig:
    item = _mapping(value, "trace")
    _only(item, "trace", {"restart_inbound"})
    return TraceConfig(restart_inbound=_typed(item.get("restart_inbound", False), bool, "trace.restart_inbound"))


def _upstream(value: Any) -> UpstreamConfig:
    item = _mapping(value, "upstream")
    _only(item, "upstream", {"max_connections", "keepalive_s"})
    return UpstreamConfig(
        max_connections=_positive(item.get("max_connections", 512), "upstream.max_connections", int),
        keepalive_s=_positive(item.get("keepalive_s", 30.0), "upstream.keepalive_s"),
    )
