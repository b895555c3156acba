"""Counters of the fake providers in Prometheus text format, on a per-app registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "fake_providers_requests",
            "Requests answered, by provider, endpoint, status and outcome.",
            ["provider", "endpoint", "status", "outcome"],
            registry=self.registry,
        )
        self.faults = Counter(
            "fake_providers_faults", "Behaviour faults applied, by kind.", ["kind"], registry=self.registry
        )
        self.in_flight = Gauge("fake_providers_in_flight", "Requests being answered.", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
