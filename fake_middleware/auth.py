"""Ingest authentication (SPEC MW-02, MW-03, FLT-12, OTLP-14). Pure.

Middleware expects the raw API key in ``Authorization``. Modes: ``raw`` accepts only the raw key,
``bearer`` only ``Bearer <key>``, ``raw_or_bearer`` (the default) both. Keys map to tenants; every
key is compared in constant time (``hmac.compare_digest``), all of them, so timing does not tell
which tenant nearly matched. With no keys configured the ingest is open (tenant ``""``).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

AuthForm = Literal["raw", "bearer", "missing"]
AUTH_MODES: Final = ("raw", "raw_or_bearer", "bearer")


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The header's form (recorded per request, never the key) and the tenant, None when refused."""

    form: AuthForm
    tenant: str | None
    reason: str = ""


def header_form(header: str | None) -> tuple[AuthForm, str]:
    """The form of an Authorization value and the key it carries."""
    if header is None or not header.strip():
        return "missing", ""
    value = header.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return "bearer", rest.strip()
    return "raw", value


def authenticate(header: str | None, keys: Mapping[str, str], mode: str) -> AuthResult:
    """Check an Authorization value against ``keys`` (tenant -> key) under ``mode``."""
    form, presented = header_form(header)
    if not keys:
        return AuthResult(form, "")
    if form == "missing":
        return AuthResult(form, None, "missing Authorization header")
    if (form == "bearer" and mode == "raw") or (form == "raw" and mode == "bearer"):
        return AuthResult(form, None, f"{form} Authorization form not accepted (auth mode {mode})")
    tenant: str | None = None
    given = presented.encode("utf-8", "surrogateescape")
    for name, key in keys.items():
        if hmac.compare_digest(given, key.encode("utf-8")) and tenant is None:
            tenant = name
    return AuthResult(form, tenant, "" if tenant is not None else "unknown API key")
