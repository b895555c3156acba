"""Evidence adapters: the fake provider journal, the ingest's span and request JSON, raw-byte
canary scans (raw and base64 at every alignment, SPEC 4) and Prometheus pages -> counters."""

from __future__ import annotations

import base64

import pytest

from testbed.runner.collect import (
    bus_hits, ingest_request, journal_entry, parse_counters, provider_canaries, scan_bytes, span_view,
)

ENTRY = {
    "seq": 3, "time_ns": 100, "method": "POST", "path": "/v1/chat/completions", "query": {},
    "headers": {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01", "x-testbed-correlation-id": "r-1"},
    "body": {"model": "gpt-4o-mini"}, "provider": "openai", "endpoint": "chat", "model": "gpt-4o-mini",
    "stream": True, "request_id": "x", "behaviour": {"ttft_ms": 20},
    "response": {"status": 200, "id": "chatcmpl-1", "model": "gpt-4o-mini", "finish_reasons": ["stop"],
                 "usage": {"input_tokens": 3}, "usage_raw": {"prompt_tokens": 3}, "usage_reported": True,
                 "error_type": None, "canaries": {"out": ["CNRY-OUT-" + "1" * 20], "otc": []},
                 "outcome": "complete", "first_byte_ns": 150, "last_byte_ns": 200},
    "done": True,
}


def test_a_journal_entry_keeps_the_answer_that_the_journal_nests_under_response() -> None:
    e = journal_entry(ENTRY)
    assert (e.status, e.response_id, e.usage, e.finish_reasons, e.last_byte_ns, e.ttft_ms) == (
        200, "chatcmpl-1", {"prompt_tokens": 3}, ("stop",), 200, 20.0)
    assert e.correlation_id == "r-1" and e.traceparent and not e.mid_stream_error


def test_a_stream_cut_before_its_usage_chunk_reports_no_usage_sem_15() -> None:
    cut = {**ENTRY, "response": {**ENTRY["response"], "usage_reported": False, "outcome": "mid_stream_error"}}
    e = journal_entry(cut)
    assert e.usage == {} and e.mid_stream_error


def test_the_provider_s_own_canaries_belong_to_the_request() -> None:
    [c] = provider_canaries(ENTRY)
    assert (c.slot, c.request_id) == ("OUT", "r-1")


def test_an_ingest_span_adapts_its_nested_resource_and_arrival_time() -> None:
    span = span_view({
        "trace_id": "AB" * 16, "span_id": "cd" * 8, "parent_span_id": "", "name": "chat m", "kind": 3,
        "start_ns": 1, "end_ns": 2, "status": {"code": 0, "message": ""},
        "attributes": {"a": {"type": "int", "value": 5}, "e": {"type": "empty", "value": None}},
        "events": [], "links": [], "resource": {"attributes": {"service.name": {"type": "string", "value": "gw"}},
                                                "schema_url": ""},
        "scope": {"name": "s", "version": "1"}, "tenant": "default", "arrival_ns": 9, "request_id": 4,
    })
    assert span.trace_id == "ab" * 16 and span.parent_span_id is None and span.value("a") == 5
    assert "e" not in span.attributes and span.resource["service.name"].value == "gw"
    assert span.received_ns == 9 and span.request_id == "4"


def test_an_ingest_request_takes_retry_after_from_the_throttle_fault_it_met() -> None:
    r = ingest_request({"id": 2, "arrival_ns": 5, "status": 429, "end_ns": 6, "auth_form": "raw",
                        "body_sha256": "h", "span_count": 3, "retry_of": 1, "retry_gap_ms": 1.5,
                        "faults": ["throttle-ingest"]}, {"throttle-ingest": 1.0})
    assert (r.seq, r.status, r.retry_after_s, r.gap_ns, r.retry_of) == (2, 429, 1.0, 1_500_000, 1)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_a_needle_is_found_base64_encoded_at_every_alignment(pad: int) -> None:
    key = b"sk-gw-0123456789abcdef"
    data = b"prefix " + base64.b64encode(b"x" * pad + key + b"tail")
    assert [(n, s, enc) for n, s, _, enc in scan_bytes(data, {key: "KEY"})] == [(key, "KEY", "base64")]


def test_full_canaries_are_found_by_pattern_and_attributed_to_their_owner() -> None:
    canary = "CNRY-USR-" + "ab" * 10
    hits = bus_hits([(7, b'{"content": "hi ' + canary.encode() + b'"}')], {}, {canary: "r-9"})
    assert [(h.canary, h.slot, h.where, h.request_id, h.location) for h in hits] == [
        (canary, "USR", "bus", "r-9", "bus:7:raw")]


def test_clean_bytes_have_no_hit() -> None:
    assert scan_bytes(b"nothing to see here " * 10, {b"sk-secret-key-1": "KEY"}) == []


def test_prometheus_pages_become_labelled_samples_summed_across_pages() -> None:
    page = ('# TYPE x_total counter\nx_total{reason="a",b="c"} 2\n# TYPE g gauge\ng 4\n')
    c = parse_counters([page, page])
    assert c.total("x_total", reason="a") == 4 and c.total("g") == 8
    assert 'x_total{b="c",reason="a"}' in c.values
