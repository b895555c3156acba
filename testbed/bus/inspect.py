"""Read the bus back for evidence: our stack only, never a third-party gateway's internals.

``stream_position`` marks where a scenario starts; ``stream_messages`` reads every message stored
after a sequence (headers and payload) through an ephemeral ordered consumer that does not disturb
the exporters' durable one, for the bus side of the canary search (RED-01, RED-06); and
``pending_events`` is the durable consumer's ``num_pending + num_ack_pending`` (SPEC 7, still
queued). The stream keeps messages until ``max_age``, so a scan after the drain still sees
everything the gateway published.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client as NATS
from nats.js import api
from nats.js.errors import NotFoundError

from testbed.bus.client import connect
from testbed.bus.subjects import CONSUMER_DURABLE, STREAM_NAME, SUBJECT
from testbed.waiting import wait_until_async


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    headers: dict[str, str]
    data: bytes

    def raw(self) -> bytes:
        """Headers as ``name: value`` lines, then the payload: every byte a search must see."""
        return "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode() + self.data


async def _connect(url: str) -> NATS:
    return await connect(url, "testbed-inspect", allow_reconnect_forever=False)


async def stream_position(url: str, stream: str = STREAM_NAME) -> int:
    """The stream's last sequence now (0 when the stream does not exist yet)."""
    nc = await _connect(url)
    try:
        return int((await nc.jetstream().stream_info(stream)).state.last_seq)
    except NotFoundError:
        return 0
    finally:
        await nc.close()


async def stream_messages(url: str, after_seq: int = 0, stream: str = STREAM_NAME,
                          subject: str = SUBJECT) -> list[StoredMessage]:
    """Every message still stored after ``after_seq`` (acked ones too)."""
    nc = await _connect(url)
    out: list[StoredMessage] = []
    try:
        js = nc.jetstream()
        try:
            last = int((await js.stream_info(stream)).state.last_seq)
        except NotFoundError:
            return out
        if last <= after_seq:
            return out
        sub = await js.subscribe(subject, ordered_consumer=True, config=api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_seq + 1))
        try:
            while True:
                msg = await asyncio.wait_for(sub.next_msg(timeout=10), 15)
                seq = int(msg.metadata.sequence.stream)
                out.append(StoredMessage(seq, dict(msg.headers or {}), msg.data or b""))
                if seq >= last:
                    return out
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


async def pending_events(url: str, stream: str = STREAM_NAME, durable: str = CONSUMER_DURABLE,
                         timeout_s: float = 15.0) -> float | None:
    """Events the exporters have not finished: pending plus delivered-but-unacked.

    On a cluster the consumer has no leader for a moment after a node is lost, and the request
    finds no responder or times out; it is asked again until ``timeout_s``, never guessed as 0.
    """
    nc = await _connect(url)
    answer: list[float | None] = []

    async def asked() -> bool:
        try:
            info = await nc.jetstream().consumer_info(stream, durable, timeout=2)
        except NotFoundError:
            answer.append(None)
            return True
        except (nats.errors.Error, asyncio.TimeoutError):
            return False
        answer.append(float(info.num_pending + info.num_ack_pending))
        return True

    try:
        await wait_until_async(asked, timeout_s, what=f"consumer info of {durable}")
        return answer[-1]
    finally:
        await nc.close()
