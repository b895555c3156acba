"""FLT-09 partial_success: 200 with ``partial_success``; ``rejected`` spans (a count, or a fraction
below 1 given as a float) are refused and not stored, the rest are stored."""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec, FaultSpecError


class PartialSuccess(BaseFault):
    kind = "partial_success"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        rejected = spec.params.get("rejected", 1)
        if isinstance(rejected, bool) or not isinstance(rejected, (int, float)) or rejected < 0:
            raise FaultSpecError("partial_success.rejected: expected a count or a fraction")
        if isinstance(rejected, float) and rejected > 1:
            raise FaultSpecError("partial_success.rejected: a fraction must be at most 1.0")
        self.rejected = rejected
        self.message = self.text("error_message", f"fault {spec.name}: spans rejected")

    def effect(self, index: int) -> Effect:
        return Effect(reject=self.rejected, reject_message=self.message)
