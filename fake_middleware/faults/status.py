"""FLT-07 status: answer ``status`` (with ``body`` as the Status message and extra ``headers``)
``times`` times, then ``then_status`` until cleared, or normal service when it is 200 or absent.

The answered request is not stored.
"""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec, FaultSpecError


class Status(BaseFault):
    kind = "status"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.code = self.status("status", 503)
        if self.code < 400:
            raise FaultSpecError("status.status: must be a 4xx or 5xx")
        then = self.spec.params.get("then_status")
        self.then_status = None if then in (None, 200) else self.status("then_status", None)
        self.body = self.text("body", f"fault {spec.name}: status {self.code}")
        self.extra_headers = self.headers()
        times = spec.params.get("times", spec.times)
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise FaultSpecError("status.times: expected a non-negative integer")
        self.times = times

    def exhausted(self, applied: int) -> bool:
        return self.then_status is None and self.times is not None and applied >= self.times

    def effect(self, index: int) -> Effect:
        code = self.code if self.times is None or index < self.times else self.then_status
        assert code is not None
        return Effect(action="respond", status=code, message=self.body, headers=self.extra_headers)
