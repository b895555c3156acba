"""Error bodies in each provider's own format, and the statuses' default types (pure).

- OpenAI (OAI-08): ``{"error": {"message", "type", "param", "code"}}``.
- Anthropic (ANT-07): ``{"type": "error", "error": {"type", "message"}, "request_id"}``.
- Gemini (GEM-05): ``{"error": {"code", "message", "status", "details"?}}``.

Every message ends with the ERR canary of the request and echoes its USR canaries (SPEC section 4),
so redaction checks can see an error message leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fake_providers.wire import Provider

OPENAI_TYPES: Final[dict[int, tuple[str, str | None]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"),
}
ANTHROPIC_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
GEMINI_STATUSES: Final[dict[int, str]] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
GEMINI_CODES: Final[dict[str, int]] = {status: code for code, status in reversed(GEMINI_STATUSES.items())}

# Mid-stream error types when a behaviour does not name one (OAI-07, ANT-08).
MID_STREAM_DEFAULTS: Final[dict[Provider, str]] = {
    Provider.OPENAI: "server_error",
    Provider.ANTHROPIC: "overloaded_error",
    Provider.GEMINI: "INTERNAL",
}


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One error to render: status, message (canaries already appended) and optional overrides."""

    status: int
    message: str
    error_type: str | None = None
    param: str | None = None
    code: str | None = None
    retry_delay_s: float | None = None


def with_canaries(message: str, err_canary: str, usr_canaries: list[str]) -> str:
    return " ".join([message, f"[{err_canary}]", *usr_canaries])


def openai_type(status: int) -> tuple[str, str | None]:
    if status in OPENAI_TYPES:
        return OPENAI_TYPES[status]
    return ("server_error", None) if status >= 500 else ("invalid_request_error", None)


def anthropic_type(status: int) -> str:
    if status in ANTHROPIC_TYPES:
        return ANTHROPIC_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def gemini_status(status: int) -> str:
    if status in GEMINI_STATUSES:
        return GEMINI_STATUSES[status]
    return "INTERNAL" if status >= 500 else "FAILED_PRECONDITION"


def error_body(provider: Provider, spec: ErrorSpec, request_id: str) -> dict[str, Any]:
    """The provider's error body for ``spec``; also returned by ``error_type_of`` for the journal."""
    if provider is Provider.ANTHROPIC:
        kind = spec.error_type or anthropic_type(spec.status)
        return {"type": "error", "error": {"type": kind, "message": spec.message}, "request_id": request_id}
    if provider is Provider.GEMINI:
        body: dict[str, Any] = {
            "code": spec.status,
            "message": spec.message,
            "status": spec.error_type or gemini_status(spec.status),
        }
        if spec.status == 429 and spec.retry_delay_s is not None:
            delay = f"{spec.retry_delay_s:g}s"
            body["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]
        return {"error": body}
    kind, code = openai_type(spec.status)
    if spec.error_type is not None:
        kind = code = spec.error_type
    return {"error": {"message": spec.message, "type": kind, "param": spec.param, "code": spec.code or code}}


def error_type_of(provider: Provider, body: dict[str, Any]) -> str:
    """The low-cardinality type in a body built by ``error_body`` (SEM-07's first choice)."""
    err = body["error"]
    if provider is Provider.ANTHROPIC:
        return str(err["type"])
    if provider is Provider.GEMINI:
        return str(err["status"])
    return str(err.get("code") or err["type"])


def mid_stream_body(provider: Provider, error_type: str | None, message: str) -> dict[str, Any]:
    """The payload of a mid-stream error event (OAI-07, ANT-08, Gemini's error object)."""
    kind = error_type or MID_STREAM_DEFAULTS[provider]
    if provider is Provider.ANTHROPIC:
        return {"type": "error", "error": {"type": kind, "message": message}}
    if provider is Provider.GEMINI:
        return {"error": {"code": GEMINI_CODES.get(kind, 500), "message": message, "status": kind}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
