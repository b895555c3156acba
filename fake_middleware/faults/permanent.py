"""FLT-10 permanent: every matching request fails with one non-retryable ``status``. Nothing stored."""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec

_STATUSES = frozenset({400, 401, 403, 404, 413, 415, 500})


class Permanent(BaseFault):
    kind = "permanent"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.code = self.status("status", 400, _STATUSES)
        self.body = self.text("body", f"fault {spec.name}: permanent {self.code}")

    def effect(self, index: int) -> Effect:
        return Effect(action="respond", status=self.code, message=self.body)
