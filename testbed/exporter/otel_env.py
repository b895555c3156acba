"""OpenTelemetry environment variables the exporter honours, and the one precedence rule.

Every variable name is a constant here, documented with its default (SPEC 5.1). Every setting is
resolved the same way::

    explicit argument (config file) > signal-specific variable > generic variable > default

Endpoint rules (OpenTelemetry specification, ``protocol/exporter.md``): the generic
``OTEL_EXPORTER_OTLP_ENDPOINT`` is a base URL to which ``v1/traces`` is appended; the
signal-specific ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and an endpoint from the config file are used
as-is (a URL with no path posts to ``/``). Headers use the W3C Baggage format with percent-decoded
values. The timeout is an integer in milliseconds, ``0`` meaning no limit. ``grpc`` is refused with
a :class:`~testbed.errors.ConfigError`, as is any value the specification does not allow.

This module is pure: the environment is passed in as a mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from testbed.errors import ConfigError

OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Base URL of every signal; ``v1/traces`` is appended. Default ``http://localhost:4318``."""

OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
"""Full traces URL, used as-is (no path means ``/``). Default: derived from the generic endpoint."""

OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"
"""``k1=v1,k2=v2`` (W3C Baggage, values percent-decoded). Default: no headers."""

OTEL_EXPORTER_OTLP_TRACES_HEADERS: Final = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
"""Traces-only headers; replaces (does not merge with) the generic headers. Default: unset."""

OTEL_EXPORTER_OTLP_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TIMEOUT"
"""Per-request timeout, integer milliseconds, ``0`` = no limit. Default ``10000``."""

OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
"""Traces-only per-request timeout in milliseconds. Default: unset."""

OTEL_EXPORTER_OTLP_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_COMPRESSION"
"""``gzip`` or ``none``. The specification leaves the default to the SDK; ours is ``gzip``."""

OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
"""Traces-only compression. Default: unset."""

OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""``http/protobuf`` (default) or ``http/json``; ``grpc`` is refused at start."""

OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
"""Traces-only protocol. Default: unset."""

OTEL_BSP_SCHEDULE_DELAY: Final = "OTEL_BSP_SCHEDULE_DELAY"
"""Longest wait before a partial batch is sent, ms. Spec default 5000; the exporter ships 200."""

OTEL_BSP_EXPORT_TIMEOUT: Final = "OTEL_BSP_EXPORT_TIMEOUT"
"""Deadline of one batch export, retries included, ms. Default ``30000`` (EXP-01)."""

OTEL_BSP_MAX_QUEUE_SIZE: Final = "OTEL_BSP_MAX_QUEUE_SIZE"
"""Most spans pulled from the bus but not finished; when reached the exporter stops pulling
(instead of dropping, as the SDK would). Default ``2048``."""

OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Final = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
"""Most spans in one export request. Default ``512``."""

DEFAULT_ENDPOINT: Final = "http://localhost:4318"
DEFAULT_TIMEOUT_MS: Final = 10_000
DEFAULT_COMPRESSION: Final = "gzip"
DEFAULT_PROTOCOL: Final = "http/protobuf"
DEFAULT_SCHEDULE_DELAY_MS: Final = 200
DEFAULT_EXPORT_TIMEOUT_MS: Final = 30_000
DEFAULT_MAX_QUEUE_SIZE: Final = 2048
DEFAULT_MAX_EXPORT_BATCH_SIZE: Final = 512

TRACES_PATH: Final = "v1/traces"

Compression = Literal["gzip", "none"]
Protocol = Literal["http/protobuf", "http/json"]


@dataclass(frozen=True, slots=True)
class OtlpExplicit:
    """Values given explicitly (by the config file); ``None`` means "not given"."""

    endpoint: str | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    timeout_ms: int | None = None
    compression: str | None = None
    protocol: str | None = None
    origin: str = ""
    """Prefix naming where explicit values came from in errors (``otlp.`` gives ``otlp.protocol``)."""


@dataclass(frozen=True, slots=True)
class OtlpSettings:
    """Resolved OTLP/HTTP traces exporter settings."""

    endpoint: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    timeout_s: float | None
    """Per-request timeout in seconds; ``None`` means no limit."""
    compression: Compression
    protocol: Protocol


@dataclass(frozen=True, slots=True)
class BatchExplicit:
    schedule_delay_ms: int | None = None
    export_timeout_ms: int | None = None
    max_queue_size: int | None = None
    max_export_batch_size: int | None = None
    origin: str = ""


@dataclass(frozen=True, slots=True)
class BatchSettings:
    schedule_delay_s: float
    export_timeout_s: float
    max_queue_size: int
    max_export_batch_size: int


def pick(
    explicit: object | None, env: Mapping[str, str], specific: str | None, generic: str | None, name: str = "config"
) -> tuple[object | None, str]:
    """The one precedence rule: the first value given, and where it came from (for errors)."""
    if explicit is not None:
        return explicit, name
    for name in (specific, generic):
        if name is not None:
            raw = env.get(name)
            if raw is not None and raw.strip() != "":
                return raw.strip(), name
    return None, "default"


def traces_endpoint(explicit: str | None, env: Mapping[str, str]) -> str:
    """The URL to POST traces to (SPEC 5.1)."""
    if explicit is not None:
        return _as_is(explicit, "endpoint")
    specific = env.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
    if specific:
        return _as_is(specific, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    generic = env.get(OTEL_EXPORTER_OTLP_ENDPOINT, "").strip() or DEFAULT_ENDPOINT
    return append_traces_path(_as_is(generic, OTEL_EXPORTER_OTLP_ENDPOINT))


def _as_is(url: str, source: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{source}: {url!r} is not an http(s) URL")
    return urlunsplit(parts._replace(path=parts.path or "/"))


def append_traces_path(base: str) -> str:
    """``http://h:4318/mw`` -> ``http://h:4318/mw/v1/traces`` (the generic-endpoint rule)."""
    parts = urlsplit(base)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit(parts._replace(path=path + TRACES_PATH))


def parse_headers(raw: str, source: str = "headers") -> tuple[tuple[str, str], ...]:
    """W3C Baggage-format ``k1=v1,k2=v2``: keys trimmed, values percent-decoded; properties after
    ``;`` are ignored as the baggage format allows them."""
    out: list[tuple[str, str]] = []
    for member in raw.split(","):
        if not member.strip():
            continue
        key, sep, value = member.partition("=")
        key = unquote(key.strip())
        if not sep or not key:
            raise ConfigError(f"{source}: header entry {member.strip()[:40]!r} is not key=value")
        out.append((key, unquote(value.split(";", 1)[0].strip())))
    return tuple(out)


def _int_value(value: object, source: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{source}: {value!r} is not an integer")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{source}: {value!r} is not an integer") from None
    if number < minimum:
        raise ConfigError(f"{source}: {value!r} must be an integer >= {minimum}")
    return number


def _choice(value: object, source: str, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text == "grpc":
        raise ConfigError(f"{source}: protocol 'grpc' is not supported; use http/protobuf or http/json")
    if text not in allowed:
        raise ConfigError(f"{source}: {value!r} is not one of {', '.join(allowed)}")
    return text


def resolve_otlp(explicit: OtlpExplicit, env: Mapping[str, str]) -> OtlpSettings:
    """Resolve every OTLP setting by the precedence rule; raise ConfigError naming the source."""
    headers_value, headers_source = pick(
        explicit.headers, env, OTEL_EXPORTER_OTLP_TRACES_HEADERS, OTEL_EXPORTER_OTLP_HEADERS, explicit.origin + "headers"
    )
    if headers_value is None:
        headers: tuple[tuple[str, str], ...] = ()
    elif isinstance(headers_value, Mapping):
        headers = tuple((str(k), str(v)) for k, v in headers_value.items())
    else:
        headers = parse_headers(str(headers_value), headers_source)
    timeout_value, timeout_source = pick(
        explicit.timeout_ms, env, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT,
        explicit.origin + "timeout_ms",
    )
    timeout_ms = DEFAULT_TIMEOUT_MS if timeout_value is None else _int_value(timeout_value, timeout_source, 0)
    compression_value, compression_source = pick(
        explicit.compression, env, OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, OTEL_EXPORTER_OTLP_COMPRESSION,
        explicit.origin + "compression",
    )
    protocol_value, protocol_source = pick(
        explicit.protocol, env, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL,
        explicit.origin + "protocol",
    )
    return OtlpSettings(
        endpoint=_traces_endpoint_from(explicit, env),
        headers=headers,
        timeout_s=None if timeout_ms == 0 else timeout_ms / 1000.0,
        compression=_choice(compression_value or DEFAULT_COMPRESSION, compression_source, ("gzip", "none")),  # type: ignore[arg-type]
        protocol=_choice(protocol_value or DEFAULT_PROTOCOL, protocol_source, ("http/protobuf", "http/json")),  # type: ignore[arg-type]
    )


def _traces_endpoint_from(explicit: OtlpExplicit, env: Mapping[str, str]) -> str:
    if explicit.endpoint is not None:
        return _as_is(explicit.endpoint, explicit.origin + "endpoint")
    return traces_endpoint(None, env)


def resolve_batch(explicit: BatchExplicit, env: Mapping[str, str]) -> BatchSettings:
    """Resolve the OTEL_BSP_* batch settings (config > variable > default)."""
    keys = {
        OTEL_BSP_SCHEDULE_DELAY: "schedule_delay_ms",
        OTEL_BSP_EXPORT_TIMEOUT: "export_timeout_ms",
        OTEL_BSP_MAX_QUEUE_SIZE: "max_queue_size",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "max_export_batch_size",
    }

    def one(value: int | None, name: str, default: int, minimum: int) -> int:
        chosen, source = pick(value, env, None, name, explicit.origin + keys[name])
        return default if chosen is None else _int_value(chosen, source, minimum)

    max_queue_size = one(explicit.max_queue_size, OTEL_BSP_MAX_QUEUE_SIZE, DEFAULT_MAX_QUEUE_SIZE, 1)
    batch_size = one(explicit.max_export_batch_size, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, DEFAULT_MAX_EXPORT_BATCH_SIZE, 1)
    return BatchSettings(
        schedule_delay_s=one(explicit.schedule_delay_ms, OTEL_BSP_SCHEDULE_DELAY, DEFAULT_SCHEDULE_DELAY_MS, 0) / 1000.0,
        export_timeout_s=one(explicit.export_timeout_ms, OTEL_BSP_EXPORT_TIMEOUT, DEFAULT_EXPORT_TIMEOUT_MS, 1) / 1000.0,
        max_queue_size=max_queue_size,
        # The batch processor spec: a batch larger than the queue is clamped to the queue size.
        max_export_batch_size=min(batch_size, max_queue_size),
    )
