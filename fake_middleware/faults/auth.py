"""FLT-12 auth: switch the auth ``mode`` (raw / raw_or_bearer / bearer) and, optionally, the
``keys`` (an object tenant -> key) while active; a mismatch gets 401."""

from __future__ import annotations

from collections.abc import Mapping

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec, FaultSpecError

MODES = frozenset({"raw", "raw_or_bearer", "bearer"})


class Auth(BaseFault):
    kind = "auth"
    stage = "config"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.mode = self.text("mode", "raw")
        if self.mode not in MODES:
            raise FaultSpecError(f"auth.mode: {self.mode!r} is not one of {sorted(MODES)}")
        keys = spec.params.get("keys")
        if keys is not None and (not isinstance(keys, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and v for k, v in keys.items())):
            raise FaultSpecError("auth.keys: expected an object tenant -> non-empty key")
        self.keys = None if keys is None else dict(keys)

    def effect(self, index: int) -> Effect:
        return Effect(auth_mode=self.mode, keys=self.keys)
