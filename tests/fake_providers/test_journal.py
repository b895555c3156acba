"""The providers' journal stays bounded: a ring of the newest entries with a dropped counter, bodies
past a size kept as their head plus a truncation marker, and ``GET /_fake/journal`` read page by
page from a ``since`` cursor, so neither the process nor one answer grows with the traffic."""

from __future__ import annotations

import json

import pytest

from fake_providers import FakeProviderSettings
from fake_providers.journal import Journal, body_value
from tests.fake_providers.conftest import ClientFactory
from tests.fake_providers.helpers import OPENAI_AUTH

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _fill(journal: Journal, models: list[str]) -> None:
    for m in models:
        journal.open(time_ns=0, method="POST", path="/v1/chat/completions", query={}, headers={}, body=None).model = m


def test_a_small_body_is_kept_whole_and_a_large_one_as_its_head_and_a_marker() -> None:
    assert body_value(b'{"a": 1}', limit=100) == {"a": 1}
    big = json.dumps({"content": "x" * 500}).encode()
    kept = body_value(big, limit=100)
    assert isinstance(kept, str) and kept.startswith(big[:100].decode())
    assert kept.endswith(f"[journal: body truncated, {len(big)} bytes, first 100 kept]")


def test_pages_run_oldest_first_from_a_cursor_and_end_with_no_cursor() -> None:
    j = Journal(capacity=100)
    _fill(j, ["a", "b"] * 5)
    first, cursor = j.page(limit=4)
    assert [e.seq for e in first] == [1, 2, 3, 4] and cursor == 4
    second, cursor = j.page(since=cursor, limit=4)
    third, end = j.page(since=cursor, limit=4)
    assert [e.seq for e in second] == [5, 6, 7, 8] and [e.seq for e in third] == [9, 10] and end is None


def test_a_filtered_page_skips_other_entries_and_an_exact_last_page_needs_one_more_read() -> None:
    j = Journal(capacity=100)
    _fill(j, ["a", "b", "a", "b", "a", "b"])
    page, cursor = j.page(limit=2, model="a")
    assert [e.seq for e in page] == [1, 3] and cursor == 3
    page, cursor = j.page(since=cursor, limit=2, model="a")
    assert [e.seq for e in page] == [5] and cursor is None


def test_the_ring_drops_the_oldest_counts_them_and_pages_start_at_the_oldest_held() -> None:
    j = Journal(capacity=3)
    _fill(j, ["m"] * 5)
    assert j.dropped == 2 and j.first_seq == 3
    page, cursor = j.page(since=0, limit=10)
    assert [e.seq for e in page] == [3, 4, 5] and cursor is None
    j.clear()
    assert j.dropped == 0 and j.first_seq == 6 and j.page()[0] == []


async def test_the_route_pages_through_every_entry_and_reports_the_ring(make_client: ClientFactory) -> None:
    client = await make_client(FakeProviderSettings(journal_capacity=4))
    for _ in range(6):
        assert (await client.post("/v1/chat/completions", json=CHAT, headers=OPENAI_AUTH)).status == 200
    seen, since = [], 0
    while since is not None:
        body = await (await client.get(f"/_fake/journal?since={since}&limit=3")).json()
        seen += [e["seq"] for e in body["entries"]]
        since = body["next"]
    assert seen == [3, 4, 5, 6]
    assert (body["dropped"], body["first_seq"], body["last_seq"], body["capacity"]) == (2, 3, 6, 4)


async def test_the_route_marks_a_truncated_body(make_client: ClientFactory) -> None:
    client = await make_client(FakeProviderSettings(journal_body_bytes=64))
    big = {**CHAT, "messages": [{"role": "user", "content": "y" * 1000}]}
    assert (await client.post("/v1/chat/completions", json=big, headers=OPENAI_AUTH)).status == 200
    entry = (await (await client.get("/_fake/journal")).json())["entries"][0]
    assert entry["body_truncated"] is True and entry["body_bytes"] > 1000
    assert "body truncated" in entry["body"] and len(entry["body"]) < 200


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "since=-1"])
async def test_a_bad_cursor_or_page_size_is_a_400_naming_the_field(make_client: ClientFactory, query: str) -> None:
    client = await make_client(FakeProviderSettings())
    resp = await client.get(f"/_fake/journal?{query}")
    assert resp.status == 400 and (await resp.json())["error"]["field"] == query.split("=")[0]


def test_kept_bodies_stay_under_their_budget_by_dropping_the_oldest_entries() -> None:
    j = Journal(capacity=100, body_limit=40, body_budget=100)
    for _ in range(5):
        entry = j.open(time_ns=0, method="POST", path="/v1/chat/completions", query={}, headers={}, body=None)
        j.set_body(entry, b"z" * 30)
    assert j.body_total == 90 and [e.seq for e in j.entries] == [3, 4, 5] and j.dropped == 2
    huge = j.open(time_ns=0, method="POST", path="/v1/chat/completions", query={}, headers={}, body=None)
    j.set_body(huge, b"z" * 1000)  # kept as 40 bytes: truncation first, then the budget
    assert j.body_total <= 100 and j.entries[-1] is huge and huge.body_truncated
    j.clear()
    assert j.body_total == 0 and j.dropped == 0
