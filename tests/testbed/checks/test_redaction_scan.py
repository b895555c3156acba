"""The ingest-side canary scan of the redaction check (RED-01): every planted canary is found in any
span string at its first offset, whether it has the standard ``CNRY-<SLOT>-<20 hex>`` form (found
by one pattern scan and a lookup, so long runs stay linear) or any other form (searched for
directly); canaries that were not planted and near misses are not hits."""

from __future__ import annotations

from testbed.checks.evidence import Canary
from testbed.checks.redaction import scan_spans
from tests.testbed.checks.builders import span

USR = Canary("CNRY-USR-0123456789abcdef0123", "USR", "req-1")
OUT = Canary("CNRY-OUT-aaaaaaaaaaaaaaaaaaaa", "OUT", "req-2")
ODD = Canary("secret-key-value", "KEY", None)


def _found(*spans, canaries=(USR, OUT, ODD)):  # type: ignore[no-untyped-def]
    return sorted((h.canary, h.location, h.offset) for h in scan_spans(spans, canaries))


def test_a_standard_canary_is_found_at_its_first_offset_in_the_attribute_it_sits_in() -> None:
    s = span(attributes={"gen_ai.input.messages": f"hi {USR.value} and again {USR.value}"})
    hits = scan_spans([s], [USR, OUT])
    assert [(h.canary, h.slot, h.request_id, h.where, h.offset) for h in hits] == [
        (USR.value, "USR", "req-1", "ingest", 3)]
    assert hits[0].location.endswith("gen_ai.input.messages")


def test_canaries_in_several_strings_and_spans_are_each_found_once_per_string() -> None:
    a = span(0, attributes={"x": OUT.value, "y": f"{USR.value}{OUT.value}"})
    b = span(1, resource={"service.name": f"svc {OUT.value}"})
    found = _found(a, b)
    assert [(c, off) for c, _, off in found] == [(OUT.value, 0), (OUT.value, 29), (OUT.value, 4), (USR.value, 0)]


def test_a_canary_of_another_form_is_still_searched_for() -> None:
    assert [c for c, _, _ in _found(span(attributes={"url.full": "https://h/?k=secret-key-value"}))] == [ODD.value]


def test_an_unplanted_canary_and_a_near_miss_are_not_hits() -> None:
    s = span(attributes={"a": "CNRY-USR-ffffffffffffffffffff", "b": USR.value[:-1], "c": USR.value.lower()})
    assert _found(s) == []
