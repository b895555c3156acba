"""Our-stack evidence from NATS JetStream (SPEC 4 bus canary scan, SPEC 7 still-queued events).

``stream_position`` marks where a scenario starts; ``read_messages`` reads every message stored
since then (headers and payload bytes) through an ephemeral ordered read that does not disturb
the exporters' durable consumer; ``pending_events`` is the durable consumer's
``num_pending + num_ack_pending``. The stream keeps messages until ``max_age``, so a scan after
the drain still sees everything the gateway published.
"""

from __future__ import annotations

import asyncio

import nats
from nats.js.errors import NotFoundError

from testbed.bus.subjects import CONSUMER_DURABLE, STREAM_NAME, SUBJECT

_BATCH = 512


async def _connect(url: str) -> nats.NATS:
    return await nats.connect(url, connect_timeout=2, max_reconnect_attempts=3, allow_reconnect=True)


async def stream_position(url: str) -> int:
    """The stream's last sequence now (0 when the stream does not exist yet)."""
    nc = await _connect(url)
    try:
        info = await nc.jetstream().stream_info(STREAM_NAME)
        return int(info.state.last_seq)
    except NotFoundError:
        return 0
    finally:
        await nc.close()


async def read_messages(url: str, after_seq: int) -> list[tuple[int, bytes]]:
    """(sequence, header bytes + payload) of every stored message after ``after_seq``."""
    nc = await _connect(url)
    out: list[tuple[int, bytes]] = []
    try:
        js = nc.jetstream()
        try:
            last = int((await js.stream_info(STREAM_NAME)).state.last_seq)
        except NotFoundError:
            return out
        if last <= after_seq:
            return out
        sub = await js.subscribe(SUBJECT, ordered_consumer=True, config=nats.js.api.ConsumerConfig(
            deliver_policy=nats.js.api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_seq + 1))
        try:
            while True:
                msg = await asyncio.wait_for(sub.next_msg(timeout=10), 15)
                seq = int(msg.metadata.sequence.stream)
                headers = "".join(f"{k}: {v}\n" for k, v in (msg.headers or {}).items()).encode()
                out.append((seq, headers + msg.data))
                if seq >= last:
                    return out
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


async def pending_events(url: str) -> float | None:
    """Events the exporters have not finished: pending plus delivered-but-unacked."""
    nc = await _connect(url)
    try:
        info = await nc.jetstream().consumer_info(STREAM_NAME, CONSUMER_DURABLE)
        return float(info.num_pending + info.num_ack_pending)
    except NotFoundError:
        return None
    finally:
        await nc.close()
