"""The runner reads the providers' journal whole, page by page, and knows when the journal's ring
dropped entries of a scenario: the checks that judge against the journal then say
``inconclusive`` (RUN-03) instead of judging partial data, and keep their findings as info."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from fake_providers import FakeProviderSettings, create_app
from testbed.checks.result import CheckResult, Finding
from testbed.runner import collect

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def _journal_after(requests: int, capacity: int, page: int, monkeypatch: Any) -> tuple[list[int], int, int]:
    monkeypatch.setattr(collect, "JOURNAL_PAGE", page)
    server = TestServer(create_app(FakeProviderSettings(journal_capacity=capacity)))
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http:
            for _ in range(requests):
                async with http.post(f"{url}/v1/chat/completions", json=CHAT,
                                     headers={"Authorization": "Bearer sk-x"}) as r:
                    assert r.status == 200
            entries, last, dropped = await collect.read_journal(http, url)
    finally:
        await server.close()
    return [e["seq"] for e in entries], last, dropped


async def test_every_entry_is_read_across_pages(monkeypatch: Any) -> None:
    assert await _journal_after(7, capacity=100, page=3, monkeypatch=monkeypatch) == ([1, 2, 3, 4, 5, 6, 7], 7, 0)


async def test_a_full_ring_is_reported_as_dropped_entries(monkeypatch: Any) -> None:
    assert await _journal_after(5, capacity=3, page=2, monkeypatch=monkeypatch) == ([3, 4, 5], 5, 2)


def _result(check: str, outcome: str = "failed") -> CheckResult:
    finding = Finding("GW-04", check, "violation", "missing", "a CLIENT span has no journal entry")
    return CheckResult(check, ("GW-04",), outcome, (finding,))  # type: ignore[arg-type]


def test_with_nothing_dropped_every_result_stands() -> None:
    results = [_result("gateway-spans"), _result("latency")]
    assert collect.journal_gate(results, 0) == results


def test_dropped_entries_make_journal_checks_inconclusive_and_leave_the_others() -> None:
    gated = {r.check: r for r in collect.journal_gate([_result("gateway-spans"), _result("loss"),
                                                       _result("latency")], dropped=12)}
    for name in ("gateway-spans", "loss"):
        assert gated[name].outcome == "inconclusive" and "dropped 12 entries" in gated[name].reason
        assert [f.severity for f in gated[name].findings] == ["info"]
        assert gated[name].findings[0].message.startswith("not judged (journal incomplete)")
    assert gated["latency"].outcome == "failed" and gated["latency"].findings[0].severity == "violation"


def test_every_journal_check_named_in_the_gate_exists() -> None:
    from testbed.checks.base import REGISTRY

    assert collect.JOURNAL_CHECKS <= set(REGISTRY)
