"""FLT-02 hang: read the request and never answer (``hold_ms`` 0 = until the fault is cleared).

After ``hold_ms`` the connection is closed without a response. Nothing is stored.
"""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class Hang(BaseFault):
    kind = "hang"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.hold_ms = self.number("hold_ms", 0)

    def effect(self, index: int) -> Effect:
        return Effect(action="hang", hold_s=self.hold_ms / 1000 if self.hold_ms else None)
