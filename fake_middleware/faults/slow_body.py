"""FLT-05 slow_body: the (padded) response body is trickled at ``bytes_per_s`` in ``chunk_bytes`` pieces.

An OTLP success body is tiny, so it is padded to ``body_bytes`` with content decoders ignore.
The request is stored.
"""

from __future__ import annotations

from fake_middleware.faults.base import BaseFault, Effect, FaultSpec


class SlowBody(BaseFault):
    kind = "slow_body"

    def __init__(self, spec: FaultSpec) -> None:
        super().__init__(spec)
        self.bytes_per_s = self.number("bytes_per_s", 1024, low=1)
        self.chunk_bytes = self.integer("chunk_bytes", 256, low=1)
        self.body_bytes = self.integer("body_bytes", 4096)

    def effect(self, index: int) -> Effect:
        return Effect(pad_bytes=self.body_bytes, bytes_per_s=self.bytes_per_s, chunk_bytes=self.chunk_bytes)
