"""Thin synchronous clients for the stack's admin and query APIs, used by the end-to-end tests.

Every wait here is a server-side long-poll or a deadline-bound condition, never a fixed sleep.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Any

import requests
import openai

from testbed.prometheus import scrape_sum
from testbed.runner.stack import Stack
from testbed.waiting import wait_until


def new_traceparent() -> tuple[str, str, str]:
    """A fresh valid W3C traceparent (sampled) and its trace id and parent id."""
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def canary(slot: str) -> str:
    """A canary of SPEC section 4: ``CNRY-<slot>-<20 lowercase hex>``."""
    return f"CNRY-{slot}-{secrets.token_hex(10)}"


def attr(span: dict[str, Any], name: str) -> Any:
    """The plain value of a typed attribute (arrays as lists of plain values), or None."""
    typed = span["attributes"].get(name)
    if typed is None:
        return None
    if typed["type"] == "array":
        return [item["value"] for item in typed["value"]]
    return typed["value"]


@dataclass
class StackClient:
    """Admin and query calls against a running :class:`Stack`."""

    stack: Stack

    @functools.cached_property
    def http(self) -> requests.Session:
        """A session that sends the fakes' admin key when the stack has one on."""
        session = requests.Session()
        session.headers.update(self.stack.admin_headers())
        return session

    @property
    def providers(self) -> str:
        assert self.stack.providers is not None
        return self.stack.providers.url

    @property
    def middleware(self) -> str:
        """The ingest's admin listener: query API and faults, up even while the ingest is ``down``."""
        return self.stack.middleware_admin_url

    @property
    def gateway(self) -> str:
        assert self.stack.gateway is not None
        return self.stack.gateway.url

    def openai(self, api_key: str | None = None, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.gateway}/v1",
            api_key=api_key or self.stack.settings.gateway_api_key,
            max_retries=0,
            **kwargs,
        )

    def reset(self) -> None:
        self.http.post(f"{self.providers}/_fake/reset", timeout=10).raise_for_status()
        self.http.post(f"{self.middleware}/_faults/reset", timeout=10).raise_for_status()
        self.http.post(f"{self.middleware}/api/v1/reset", timeout=10).raise_for_status()

    def behaviours(self, rules: list[dict[str, Any]]) -> None:
        self.http.put(f"{self.providers}/_fake/behaviours", json=rules, timeout=10).raise_for_status()

    def journal(self, **query: Any) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.providers}/_fake/journal", params=query, timeout=10)
        response.raise_for_status()
        return list(response.json()["entries"])

    def wait_journal(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        """The first ``count`` completed journal entries once they exist."""

        def found() -> list[dict[str, Any]] | None:
            done = [e for e in self.journal() if e["done"]]
            return done[:count] if len(done) >= count else None

        return wait_until(found, timeout, what=f"{count} journal entries")

    def journal_for_trace(self, trace_id: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        """Completed upstream requests whose outbound traceparent is in ``trace_id``."""

        def found() -> list[dict[str, Any]] | None:
            entries = [
                e for e in self.journal()
                if trace_id in e["headers"].get("traceparent", "") and e["done"]
            ]
            return entries if len(entries) >= count else None

        return wait_until(found, timeout, what=f"{count} journal entries for trace {trace_id}")

    def spans(self, wait_count: int = 0, timeout: float = 20, **filters: Any) -> list[dict[str, Any]]:
        """Spans at the ingest matching ``filters``, long-polling until ``wait_count`` exist."""
        params = {**filters, "limit": 100000}
        if wait_count:
            params.update(wait_count=wait_count, wait_timeout_s=timeout)
        response = self.http.get(f"{self.middleware}/api/v1/spans", params=params, timeout=timeout + 10)
        response.raise_for_status()
        body = response.json()
        if wait_count:
            assert body["count"] >= wait_count, f"only {body['count']} of {wait_count} spans for {filters}"
        return list(body["spans"])

    def trace(self, trace_id: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        return self.spans(wait_count=count, timeout=timeout, trace_id=trace_id)

    def add_fault(self, kind: str, **params: Any) -> None:
        self.http.post(f"{self.middleware}/_faults", json={"kind": kind, **params}, timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        self.http.post(f"{self.middleware}/_faults/reset", timeout=10).raise_for_status()

    def fault_timeline(self) -> list[dict[str, Any]]:
        return list(self.http.get(f"{self.middleware}/_faults/timeline", timeout=10).json()["timeline"])

    def canary_hits(self, needle: str) -> list[dict[str, Any]]:
        response = self.http.post(f"{self.middleware}/api/v1/canary", json={"needle": needle}, timeout=30)
        response.raise_for_status()
        return list(response.json()["hits"])

    def metric(self, part: str, name: str, **labels: str) -> float:
        return scrape_sum(self.stack.ready_line()["metrics"][part], name, **labels)

