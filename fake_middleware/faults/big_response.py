"""FLT-13 big_response: 200 with a body padded to ``bytes`` (default 5 MiB, over the 4 MiB client limit, OTLP-13).

The request is stored: the ingest accepted it, the client is the one that must give up.
"""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class BigResponse(BaseFault):
    kind = "big_response"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.size = self.integer("bytes", 5 * 1024 * 1024, high=256 * 1024 * 1024)

    def effect(self, index: int) -> Effect:
        return Effect(pad_bytes=self.size)
