"""Read back every message the stream still holds: the bus side of the canary search (RED-01, RED-06).

Only our own stack has a bus to look at; a third-party gateway's internals are never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.errors import NotFoundError

from testbed.bus.client import connect
from testbed.bus.subjects import STREAM_NAME


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes


async def stream_messages(url: str, stream: str = STREAM_NAME, limit: int = 1_000_000) -> list[StoredMessage]:
    """Every message still stored in ``stream`` (acked ones too: the stream keeps them until max_age)."""
    nc = await connect(url, "testbed-inspect", allow_reconnect_forever=False)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out: list[StoredMessage] = []
        first, last = info.state.first_seq, info.state.last_seq
        for seq in range(first, min(last, first + limit - 1) + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except NotFoundError:
                continue  # deleted or expired between stream_info and now
            out.append(StoredMessage(seq, msg.subject, dict(msg.headers or {}), msg.data or b""))
        return out
    finally:
        await nc.close()
