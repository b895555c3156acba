"""Reading Prometheus text pages: every hop's counters are read this way (loss accounting, SPEC 7)."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def sample_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def scrape(url: str, timeout: float = 10.0) -> str:
    """The text of one /metrics page (blocking; for CLIs, benchmarks and tests)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URLs we started
        return str(response.read().decode("utf-8"))


def scrape_sum(url: str, name: str, **labels: str) -> float:
    return sample_sum(scrape(url), name, **labels)
