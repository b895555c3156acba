"""The only NATS connection code: connect, and create the stream and durable consumer idempotently.

The stream uses discard policy ``new`` with ``max_bytes`` and ``max_age`` (GW-09): a full stream
rejects the publish, so nothing is evicted silently. The consumer is one durable pull consumer that
several exporters share (GW-10), with explicit acks and ``max_deliver`` redeliveries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js import api
from nats.js.errors import NotFoundError

from testbed.bus.subjects import CONSUMER_DURABLE, STREAM_NAME, SUBJECT


@dataclass(frozen=True, slots=True)
class BusSettings:
    """Where the bus is and how the stream and consumer are shaped."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = STREAM_NAME
    subject: str = SUBJECT
    durable: str = CONSUMER_DURABLE
    max_bytes: int = 512 * 1024 * 1024
    max_age_s: float = 24 * 3600.0
    duplicate_window_s: float = 120.0
    ack_wait_s: float = 10.0
    """How long a crashed exporter's messages wait before redelivery; a live exporter keeps the
    timer running for the messages it holds (in-progress heartbeats), however long an export takes."""
    max_deliver: int = 10
    max_ack_pending: int = 20_000
    replicas: int = 1
    """Stream replicas: 3 on a three-node JetStream cluster, so a node's loss loses nothing."""


async def connect(
    url: str,
    name: str,
    *,
    on_disconnect: Callable[[], Awaitable[None]] | None = None,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    connect_timeout_s: float = 2.0,
    allow_reconnect_forever: bool = True,
) -> NATS:
    """Connect and reconnect forever afterwards; ``url`` may list several servers, comma-separated.

    With ``allow_reconnect_forever`` nats-py retries the first connection too, without end, so
    callers bound it (``asyncio.wait_for``) or run it in a background loop, as the gateway's
    publisher does while the bus is down.
    """

    async def _noop(*_: Any) -> None:
        return None

    servers = [u.strip() for u in url.split(",") if u.strip()]
    return await nats.connect(
        servers if len(servers) > 1 else url,
        name=name,
        connect_timeout=connect_timeout_s,
        reconnect_time_wait=0.25,
        max_reconnect_attempts=-1 if allow_reconnect_forever else 5,
        allow_reconnect=True,
        disconnected_cb=on_disconnect or _noop,
        reconnected_cb=on_reconnect or _noop,
        error_cb=_noop,
    )


def stream_config(settings: BusSettings) -> api.StreamConfig:
    return api.StreamConfig(
        name=settings.stream,
        subjects=[settings.subject],
        retention=api.RetentionPolicy.LIMITS,
        discard=api.DiscardPolicy.NEW,
        max_bytes=settings.max_bytes,
        max_age=settings.max_age_s,
        duplicate_window=settings.duplicate_window_s,
        storage=api.StorageType.FILE,
        num_replicas=settings.replicas,
    )


async def ensure_stream(js: JetStreamContext, settings: BusSettings) -> api.StreamInfo:
    """Create the stream, or update it to ``settings`` if it exists (idempotent)."""
    config = stream_config(settings)
    try:
        await js.stream_info(settings.stream)
    except NotFoundError:
        return await js.add_stream(config)
    return await js.update_stream(config)


def consumer_config(settings: BusSettings) -> api.ConsumerConfig:
    return api.ConsumerConfig(
        durable_name=settings.durable,
        ack_policy=api.AckPolicy.EXPLICIT,
        deliver_policy=api.DeliverPolicy.ALL,
        ack_wait=settings.ack_wait_s,
        max_deliver=settings.max_deliver,
        max_ack_pending=settings.max_ack_pending,
        filter_subject=settings.subject,
    )


async def ensure_consumer(js: JetStreamContext, settings: BusSettings) -> api.ConsumerInfo:
    """Create the shared durable pull consumer if it does not exist (idempotent)."""
    try:
        return await js.consumer_info(settings.stream, settings.durable)
    except NotFoundError:
        return await js.add_consumer(settings.stream, consumer_config(settings))
