"""FLT-03 down: the listener is closed, so new connections are refused; open ones are aborted.

Acts on the server, not on a request: only a server that owns its listener (``MiddlewareServer``)
can apply it. ``duration_ms`` re-opens the listener on the same port by itself; otherwise clearing
the fault (Python API, or the admin port, since the main port is closed) does.
"""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class Down(BaseFault):
    kind = "down"
    on_listener = True

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.duration_ms = self.number("duration_ms", 0)

    def effect(self, index: int) -> Effect:
        return Effect(action="reset")
