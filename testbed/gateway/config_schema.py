"""The schema of the reference gateway's config file (pure). docs/gateway.md documents every key.

Values are checked after ``${name:-default}`` placeholders are filled (``testbed.gateway.config``),
so the models see real types. For editors, :func:`json_schema` also lets a non-string value be
written as a placeholder (``port: ${gateway_port:-8080}``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from testbed.schema import Items, KeyPathError, SchemaModel

__all__ = ["DEFAULT_BUS_URL", "DEFAULT_QUEUE_SIZE", "GatewayConfigModel", "PROVIDER_FORMATS", "json_schema"]

PROVIDER_FORMATS: Final = ("openai", "anthropic", "gemini")
DEFAULT_QUEUE_SIZE: Final = 10_000
DEFAULT_BUS_URL: Final = "nats://127.0.0.1:4222"
PLACEHOLDER_PATTERN: Final = r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"


def _http_url(value: str) -> str:
    value = value.rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value


class ListenModel(SchemaModel):
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class ApiKeyModel(SchemaModel):
    """A client key; ``allowed_models`` None allows every model, ``exclude_request_data`` None follows the switch."""

    key: str = Field(min_length=1)
    name: str | None = None
    allowed_models: Items[str] | None = None
    exclude_request_data: bool | None = None


class TargetModel(SchemaModel):
    """One upstream a model name routes to."""

    id: str | None = None
    provider: Literal[PROVIDER_FORMATS]  # type: ignore[valid-type]
    model: str
    base_url: Annotated[str, AfterValidator(_http_url)]
    api_key: str = ""
    weight: float = Field(1.0, ge=0)
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(0, ge=0)


class RouteModel(SchemaModel):
    """The targets of one model name, tried by weight, then in order on failure."""

    targets: Annotated[Items[TargetModel], Field(min_length=1)]

    @model_validator(mode="after")
    def _one_weighted(self) -> RouteModel:
        if all(t.weight == 0 for t in self.targets):
            raise KeyPathError("targets", "at least one target needs a weight > 0")
        return self


class BusModel(SchemaModel):
    url: str = DEFAULT_BUS_URL
    queue_size: int = Field(DEFAULT_QUEUE_SIZE, gt=0)
    max_payload: int | None = Field(None, gt=0)
    publish_timeout_s: float = Field(5.0, gt=0)
    create_stream: bool = True


class TraceModel(SchemaModel):
    restart_inbound: bool = False


class UpstreamModel(SchemaModel):
    max_connections: int = Field(512, gt=0)
    keepalive_s: float = Field(30.0, gt=0)


class GatewayConfigModel(SchemaModel):
    """The reference gateway's config file."""

    listen: ListenModel = ListenModel()
    api_keys: Items[ApiKeyModel] = ()
    exclude_request_data: bool = False
    capture_content: bool = True
    models: dict[str, RouteModel] = {}
    bus: BusModel = BusModel()
    resource: dict[str, str | int | float | bool] = {}
    trace: TraceModel = TraceModel()
    upstream: UpstreamModel = UpstreamModel()
    defects: Any = Field(None, description="Seeded defects for testbed selftest: a list of names, or name: true")

    @model_validator(mode="after")
    def _keys_fit_models(self) -> GatewayConfigModel:
        seen: set[str] = set()
        for i, key in enumerate(self.api_keys):
            if key.key in seen:
                raise KeyPathError(f"api_keys[{i}].key", "duplicate key")
            seen.add(key.key)
            for j, model in enumerate(key.allowed_models or ()):
                if model not in self.models:
                    raise KeyPathError(f"api_keys[{i}].allowed_models[{j}]", f"unknown model {model!r}")
        return self


def json_schema() -> dict[str, Any]:
    """The model's JSON Schema, where every number or boolean may also be a ``${...}`` placeholder."""
    return _with_placeholders(GatewayConfigModel.model_json_schema())


def _with_placeholders(node: Any) -> Any:
    if isinstance(node, list):
        return [_with_placeholders(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _with_placeholders(value) for key, value in node.items()}
    if out.get("type") in ("integer", "number", "boolean"):
        keep = {k: out.pop(k) for k in ("default", "description", "title") if k in out}
        return {**keep, "anyOf": [out, {"type": "string", "pattern": PLACEHOLDER_PATTERN}]}
    return out
