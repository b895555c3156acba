"""Scraping Prometheus text pages (blocking; for CLIs, benchmarks and tests). The names and the
parsing are ``testbed.counters``'s (loss accounting, SPEC 7)."""

from __future__ import annotations

import urllib.request

from testbed.counters import parse_text, total


def sample_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return total(parse_text(text), name, **labels)


def scrape(url: str, timeout: float = 10.0) -> str:
    """The text of one /metrics page (blocking; for CLIs, benchmarks and tests)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URLs we started
        return str(response.read().decode("utf-8"))


def scrape_sum(url: str, name: str, **labels: str) -> float:
    return sample_sum(scrape(url), name, **labels)
