"""FLT-11 size_limit: lower the request size limit to ``max_request_bytes`` while active (413 above it)."""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class SizeLimit(BaseFault):
    kind = "size_limit"
    stage = "config"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.limit = self.integer("max_request_bytes", None, low=0)

    def effect(self, index: int) -> Effect:
        return Effect(max_request_bytes=self.limit)
