"""The bus: NATS JetStream carrying TraceEvents from the gateway to the exporter (SPEC 3.2).

``subjects`` holds the names (pure), ``server`` the embedded nats-server process, ``client`` the
only NATS connection code: connect, create the stream and the durable consumer idempotently;
``pull`` fetches batches from the pull consumer.
"""

from __future__ import annotations

from testbed.bus.client import BusSettings, connect, ensure_consumer, ensure_stream
from testbed.bus.cluster import NatsCluster, ensure_replicated_stream
from testbed.bus.pull import fetch
from testbed.bus.server import NatsServer, nats_server_binary
from testbed.bus.subjects import CONSUMER_DURABLE, STREAM_NAME, SUBJECT

__all__ = [
    "BusSettings",
    "CONSUMER_DURABLE",
    "NatsCluster",
    "NatsServer",
    "STREAM_NAME",
    "SUBJECT",
    "connect",
    "ensure_consumer",
    "ensure_replicated_stream",
    "ensure_stream",
    "fetch",
    "nats_server_binary",
]
