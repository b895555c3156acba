"""Settings of one ingest app, and parsing of ``--api-key`` values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from fake_middleware.auth import AUTH_MODES
from fake_middleware.otlp import DEFAULT_MAX_REQUEST_BYTES
from fake_middleware.store import DEFAULT_MAX_REQUESTS, DEFAULT_RAW_BYTES_LIMIT

DEFAULT_TENANT: Final = "default"


@dataclass(frozen=True, slots=True)
class Settings:
    """What an ingest is started with. ``keys`` maps tenant -> API key; empty means no auth."""

    keys: Mapping[str, str] = field(default_factory=dict)
    auth_mode: str = "raw_or_bearer"
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    raw_bytes_limit: int = DEFAULT_RAW_BYTES_LIMIT
    max_requests: int = DEFAULT_MAX_REQUESTS
    fault_seed: int = 0
    long_poll_max_s: float = 60.0
    admin_key: str | None = field(default=None, repr=False)
    """When set, the query, fault and reset routes need it in ``X-Admin-Key`` (testbed.admin_key)."""

    def __post_init__(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise ValueError(f"auth_mode: {self.auth_mode!r} is not one of {AUTH_MODES}")
        if self.max_request_bytes <= 0:
            raise ValueError("max_request_bytes: must be positive")

    def __repr__(self) -> str:
        # Keys are secrets; a repr ends up in logs and tracebacks.
        return (f"Settings(tenants={sorted(self.keys)}, auth_mode={self.auth_mode!r}, "
                f"max_request_bytes={self.max_request_bytes}, admin_key={'set' if self.admin_key else 'off'})")


def parse_keys(values: Iterable[str]) -> dict[str, str]:
    """``KEY`` or ``TENANT=KEY`` values as tenant -> key; a bare key belongs to tenant ``default``."""
    keys: dict[str, str] = {}
    for value in values:
        tenant, sep, key = value.partition("=")
        if not sep:
            tenant, key = DEFAULT_TENANT, value
        if not tenant or not key:
            raise ValueError("--api-key: expected KEY or TENANT=KEY")
        if tenant in keys:
            raise ValueError(f"--api-key: tenant {tenant!r} given twice")
        keys[tenant] = key
    return keys
