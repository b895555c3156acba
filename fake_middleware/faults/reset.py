"""FLT-04 reset: TCP reset mid-exchange, after ``after_bytes`` bytes of the response (0 = before headers).

The request body is read first, so the sender sees the reset while waiting for its answer.
Nothing is stored.
"""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class Reset(BaseFault):
    kind = "reset"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.after_bytes = self.integer("after_bytes", 0)

    def effect(self, index: int) -> Effect:
        return Effect(action="reset", after_bytes=self.after_bytes)
