"""Gateway API keys, held in memory: ``Authorization: Bearer <key>`` -> the key's settings.

Keys are indexed by their SHA-256 digest, so a lookup neither keeps nor compares the raw secret
byte by byte. A missing, malformed or unknown key authenticates to None (the handler answers 401).
Nothing here logs a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from testbed.gateway.config import ApiKeyConfig


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authenticator:
    def __init__(self, keys: Iterable[ApiKeyConfig]) -> None:
        self._keys = {_digest(k.key): k for k in keys}

    def authenticate(self, authorization: str | None) -> ApiKeyConfig | None:
        token = bearer_token(authorization)
        return None if token is None else self._keys.get(_digest(token))

    @staticmethod
    def allows(key: ApiKeyConfig, model: str) -> bool:
        return key.allowed_models is None or model in key.allowed_models

    @staticmethod
    def excludes(key: ApiKeyConfig | None, global_switch: bool) -> bool:
        """The effective Exclude Request Data switch: the key's override, else the global one."""
        if key is not None and key.exclude_request_data is not None:
            return key.exclude_request_data
        return global_switch
