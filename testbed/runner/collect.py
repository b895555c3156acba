"""Evidence collection: the real servers' JSON and bytes -> the checks' evidence types.

Pure adapters (``journal_entry``, ``span_view``, ``ingest_request``, ``scan_bytes``,
``parse_counters``) sit next to thin async readers (fake-provider journal, ingest query API,
ingest canary search, JetStream stream and consumer, ``/metrics`` pages).

Clocks: every hop stamps wall-clock nanoseconds (``time.time_ns``) on the same machine, and the
load generator records its client times on the same clock, so one ``Evidence`` has one clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import aiohttp

from testbed import counters
from testbed.checks.result import CheckResult
from testbed.checks.evidence import Canary, CanaryHit, Counters, IngestRequest, JournalEntry, SpanView, span_from_json
from fake_middleware.canary import base64_forms

CANARY_RE = re.compile(rb"CNRY-([A-Z]+)-[0-9a-f]{20}")
SLOTS = ("SYS", "USR", "AST", "TDF", "TCA", "TCR", "EMB", "HDR", "OUT", "OTC", "ERR", "KEY")
_AUTH_FORMS = ("raw", "bearer", "missing", "other")
JOURNAL_PAGE = 1000
JOURNAL_CHECKS = frozenset(("semconv", "semconv-values", "gateway-spans", "streaming", "propagation", "redaction",
                            "loss", "client-view"))
"""Checks that pair spans with journal entries or count upstream requests from the journal."""


# --- pure adapters -------------------------------------------------------------------------------

def journal_entry(d: Mapping[str, Any]) -> JournalEntry:
    """A fake-provider journal entry; the answer sits under ``response`` (None while in flight)."""
    resp = d.get("response") or {}
    behaviour = d.get("behaviour") or {}
    ttft = behaviour.get("ttft_ms")
    # A stream cut before its usage chunk never told the client any usage.
    sent_usage = resp.get("usage_reported") or not d.get("stream")
    return JournalEntry(
        time_ns=int(d["time_ns"]), provider=str(d.get("provider") or ""), path=str(d.get("path", "")),
        model=d.get("model"), headers=dict(d.get("headers") or {}), body=d.get("body"),
        status=int(resp.get("status") or 0) if d.get("done") else 0,
        response_id=resp.get("id"), response_model=resp.get("model"),
        usage=dict(resp.get("usage_raw") or {}) if sent_usage else {}, finish_reasons=tuple(resp.get("finish_reasons") or ()),
        stream=bool(d.get("stream")), first_byte_ns=resp.get("first_byte_ns"), last_byte_ns=resp.get("last_byte_ns"),
        ttft_ms=float(ttft) if isinstance(ttft, (int, float)) else None,
        error_type=resp.get("error_type"), mid_stream_error=resp.get("outcome") == "mid_stream_error",
    )


def provider_canaries(d: Mapping[str, Any]) -> list[Canary]:
    """The fake provider's own ``OUT`` and ``OTC`` canaries in one answer (SPEC 4), owned by the
    request's correlation id."""
    found = ((d.get("response") or {}).get("canaries") or {})
    rid = (d.get("headers") or {}).get("x-testbed-correlation-id")
    return [Canary(v, slot, rid) for key, slot in (("out", "OUT"), ("otc", "OTC"))  # type: ignore[arg-type]
            for v in found.get(key) or () if isinstance(v, str)]


def span_view(d: Mapping[str, Any]) -> SpanView:
    """The ingest's span JSON (resource nested under ``attributes``, ``arrival_ns``) as a SpanView;
    ``empty`` AnyValues carry no value and are left out."""
    res = d.get("resource") or {}
    adapted = dict(d)
    adapted["resource"] = _typed_only(res.get("attributes", res) if isinstance(res, Mapping) else {})
    adapted["attributes"] = _typed_only(d.get("attributes") or {})
    adapted["events"] = [{**e, "attributes": _typed_only(e.get("attributes") or {})} for e in d.get("events") or ()]
    adapted["received_ns"] = d.get("arrival_ns", d.get("received_ns"))
    if d.get("request_id") is not None:
        adapted["request_id"] = str(d["request_id"])
    return span_from_json(adapted)


def _typed_only(attrs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if isinstance(v, Mapping) and v.get("type") != "empty"}


def ingest_request(d: Mapping[str, Any], retry_after_by_fault: Mapping[str, float] | None = None) -> IngestRequest:
    """One ``/api/v1/requests`` record. The ingest does not echo the Retry-After it sent, so it is
    taken from the scenario's throttle fault that the request records as applied."""
    faults = d.get("faults") or []
    retry_after = next((retry_after_by_fault[f] for f in faults if retry_after_by_fault and f in retry_after_by_fault),
                       None)
    gap_ms = d.get("retry_gap_ms")
    form = d.get("auth_form") or "missing"
    return IngestRequest(
        seq=int(d["id"]), arrival_ns=int(d["arrival_ns"]), status=d.get("status"), response_ns=d.get("end_ns"),
        path=str(d.get("path", "/v1/traces")), content_type=str(d.get("content_type") or ""),
        content_encoding=str(d.get("content_encoding") or ""), user_agent=str(d.get("user_agent") or ""),
        auth_form=form if form in _AUTH_FORMS else "other", body_hash=str(d.get("body_sha256") or ""),
        span_count=int(d.get("span_count") or 0), retry_of=d.get("retry_of"),
        gap_ns=None if gap_ms is None else int(gap_ms * 1e6), retry_after_s=retry_after,
    )


def scan_bytes(data: bytes, needles: Mapping[bytes, str]) -> list[tuple[bytes, str, int, str]]:
    """(needle, slot, offset, encoding) for every needle found raw or base64-encoded in ``data``,
    plus every full canary found by pattern (slot from its name)."""
    found: list[tuple[bytes, str, int, str]] = []
    for m in CANARY_RE.finditer(data):
        slot = m.group(1).decode()
        found.append((m.group(0), slot if slot in SLOTS else "USR", m.start(), "raw"))
    for needle, slot in needles.items():
        if (at := data.find(needle)) >= 0:
            found.append((needle, slot, at, "raw"))
            continue
        for _, form in base64_forms(needle):
            if (at := data.find(form)) >= 0:
                found.append((needle, slot, at, "base64"))
                break
    return found


def bus_hits(messages: Iterable[tuple[int, bytes]], needles: Mapping[bytes, str],
             owner: Mapping[str, str]) -> list[CanaryHit]:
    """Canary hits in bus messages ``(sequence, headers + payload bytes)``; ``owner`` maps a
    canary to the correlation id it was planted in."""
    hits = []
    for seq, data in messages:
        for needle, slot, offset, enc in scan_bytes(data, needles):
            text = needle.decode("utf-8", "replace")
            hits.append(CanaryHit(text, slot, "bus", owner.get(text), f"bus:{seq}:{enc}", offset))  # type: ignore[arg-type]
    return hits


def parse_counters(pages: Iterable[str]) -> Counters:
    """Prometheus text pages -> samples typed by (name, labels), the hops' instances summed."""
    return Counters(counters.parse_pages(pages))


def journal_gate(results: Iterable[CheckResult], dropped: int) -> list[CheckResult]:
    """RUN-03: when the journal's ring dropped entries of the scenario, the checks that judge
    against the journal saw partial evidence; they become ``inconclusive`` and their findings
    are kept as ``info`` (a missing entry would read as a phantom span or a hidden retry)."""
    if dropped <= 0:
        return list(results)
    reason = f"the provider journal dropped {dropped} entries of this scenario (its ring is full); not judged on partial data"
    out = []
    for r in results:
        if r.check not in JOURNAL_CHECKS or r.outcome == "error":
            out.append(r)
            continue
        findings = tuple(replace(f, severity="info", message=f"not judged (journal incomplete): {f.message}")
                         for f in r.findings)
        out.append(replace(r, outcome="inconclusive", reason=reason, findings=findings))
    return out


# --- readers -------------------------------------------------------------------------------------

async def get_json(session: aiohttp.ClientSession, url: str, **params: Any) -> Any:
    async with session.get(url, params=params, timeout=aiohttp.ClientTimeout(total=60)) as resp:
        resp.raise_for_status()
        return await resp.json()


async def read_journal(session: aiohttp.ClientSession, providers_url: str,
                       since: int = 0) -> tuple[list[dict[str, Any]], int, int]:
    """Every journal entry after ``since``, page by page; with the last seq and how many entries
    the journal's ring dropped since its last clear (non-zero: the entries read are partial)."""
    entries: list[dict[str, Any]] = []
    cursor: int | None = since
    body: dict[str, Any] = {}
    while cursor is not None:
        body = await get_json(session, f"{providers_url}/_fake/journal", since=cursor, limit=JOURNAL_PAGE)
        entries += body["entries"]
        cursor = body.get("next")
    return entries, int(body.get("last_seq", 0)), int(body.get("dropped", 0))


async def read_spans(session: aiohttp.ClientSession, middleware_url: str) -> list[dict[str, Any]]:
    body = await get_json(session, f"{middleware_url}/api/v1/spans", limit=10_000_000)
    return list(body["spans"])


async def span_count(session: aiohttp.ClientSession, middleware_url: str) -> int:
    body = await get_json(session, f"{middleware_url}/api/v1/stats")
    spans = body.get("spans")
    return int(spans.get("accepted", 0) if isinstance(spans, Mapping) else body.get("accepted", spans or 0))


async def read_metric_points(session: aiohttp.ClientSession, middleware_url: str) -> list[dict[str, Any]]:
    """Every metric data point the ingest holds (``/api/v1/metrics``, SPEC 12)."""
    return list((await get_json(session, f"{middleware_url}/api/v1/metrics"))["points"])


async def read_requests(session: aiohttp.ClientSession, middleware_url: str) -> list[dict[str, Any]]:
    return list((await get_json(session, f"{middleware_url}/api/v1/requests", since_id=0))["requests"])


async def ingest_hits(session: aiohttp.ClientSession, middleware_url: str, needles: Mapping[str, str],
                      owner: Mapping[str, str]) -> list[CanaryHit]:
    """Search the ingest's stored raw bytes for each needle (raw and base64, done by the ingest)."""
    hits = []
    for needle, slot in needles.items():
        async with session.post(f"{middleware_url}/api/v1/canary", json={"needle": needle}) as resp:
            resp.raise_for_status()
            body = await resp.json()
        for h in body.get("hits", []):
            hits.append(CanaryHit(needle, slot, "ingest", owner.get(needle),  # type: ignore[arg-type]
                                  f"ingest-request:{h.get('request_id')}:{h.get('where')}", h.get("offset")))
    return hits


async def read_metrics(session: aiohttp.ClientSession, urls: Iterable[str]) -> list[str]:
    pages = []
    for url in urls:
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status == 200:
                    pages.append(await resp.text())
        except (aiohttp.ClientError, TimeoutError):
            continue  # a hop that is down has no counters to give; loss accounting says so
    return pages
