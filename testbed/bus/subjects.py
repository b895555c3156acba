"""Names on the bus (SPEC 3.2). Changing one is a breaking change of the bus contract."""

from __future__ import annotations

from typing import Final

SUBJECT: Final = "testbed.trace_events.v1"
"""Subject the gateway publishes one TraceEvent per inbound request to."""

STREAM_NAME: Final = "TESTBED_TRACE_EVENTS"
"""JetStream stream that captures ``SUBJECT``."""

CONSUMER_DURABLE: Final = "testbed-exporter"
"""Durable pull consumer shared by every exporter process (GW-10)."""

MSG_ID_HEADER: Final = "Nats-Msg-Id"
"""JetStream de-duplicates publishes carrying the same value (the event id)."""
