"""FLT-06 disconnect: read the request, then close the connection cleanly without a response."""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect


class Disconnect(BaseFault):
    kind = "disconnect"

    def effect(self, index: int) -> Effect:
        return Effect(action="disconnect")
