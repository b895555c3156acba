"""W3C trace context handling (SPEC 3.3): a table of valid and invalid ``traceparent`` headers
(PROP-06), continuation and flags (PROP-01/02/04), tracestate (PROP-05/07) and restart mode (PROP-08)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testbed.gateway.tracecontext import (
    clean_tracestate,
    decide,
    format_traceparent,
    new_span_id,
    parse_traceparent,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(f"00-{TRACE}-{PARENT}-01", (TRACE, PARENT, 1), id="sampled"),
        pytest.param(f"00-{TRACE}-{PARENT}-00", (TRACE, PARENT, 0), id="not-sampled"),
        pytest.param(f"00-{TRACE}-{PARENT}-03", (TRACE, PARENT, 3), id="random-flag"),
        pytest.param(f"  00-{TRACE}-{PARENT}-01 ", (TRACE, PARENT, 1), id="surrounding-whitespace"),
        pytest.param(f"01-{TRACE}-{PARENT}-01", (TRACE, PARENT, 1), id="higher-version"),
        pytest.param(f"cc-{TRACE}-{PARENT}-01-what-the-future-holds", (TRACE, PARENT, 1), id="future-version-extra"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param(f"ff-{TRACE}-{PARENT}-01", None, id="version-ff"),
        pytest.param(f"00-{TRACE.upper()}-{PARENT}-01", None, id="uppercase-trace-id"),
        pytest.param(f"00-{TRACE}-{PARENT.upper()}-01", None, id="uppercase-parent-id"),
        pytest.param(f"00-{'0' * 32}-{PARENT}-01", None, id="zero-trace-id"),
        pytest.param(f"00-{TRACE}-{'0' * 16}-01", None, id="zero-parent-id"),
        pytest.param(f"00-{TRACE[:-1]}-{PARENT}-01", None, id="short-trace-id"),
        pytest.param(f"00-{TRACE}-{PARENT}0-01", None, id="long-parent-id"),
        pytest.param(f"00-{TRACE}-{PARENT}-01-extra", None, id="version-00-with-extra"),
        pytest.param(f"00-{TRACE[:-1]}g-{PARENT}-01", None, id="non-hex"),
        pytest.param(f"00_{TRACE}_{PARENT}_01", None, id="wrong-separators"),
        pytest.param(f"0-{TRACE}-{PARENT}-01", None, id="short-version"),
        pytest.param(f"cc-{TRACE}-{PARENT}-01x", None, id="future-version-no-dash-after-flags"),
        pytest.param(f"00-{TRACE}-{PARENT}-0g", None, id="bad-flags"),
    ],
)
def test_traceparent_table(header: str | None, expected: tuple[str, str, int] | None) -> None:
    parsed = parse_traceparent(header)
    got = None if parsed is None else (parsed.trace_id, parsed.parent_id, parsed.flags)
    assert got == expected


def test_a_valid_header_is_continued_with_its_parent_and_tracestate() -> None:
    decision = decide(f"00-{TRACE}-{PARENT}-01", ["vendor=a,other=b"])
    assert (decision.trace_id, decision.parent_span_id, decision.flags) == (TRACE, PARENT, 1)
    assert decision.tracestate == "vendor=a,other=b"


def test_the_random_flag_is_kept_and_undefined_flag_bits_are_cleared() -> None:
    """PROP-04."""
    assert decide(f"00-{TRACE}-{PARENT}-03", []).flags == 0x03
    assert decide(f"00-{TRACE}-{PARENT}-ff", []).flags == 0x03
    assert decide(f"00-{TRACE}-{PARENT}-fc", []).flags == 0x00


def test_an_invalid_header_starts_a_new_trace_and_drops_tracestate() -> None:
    """PROP-06."""
    decision = decide(f"00-{TRACE.upper()}-{PARENT}-01", ["vendor=a"])
    assert decision.trace_id != TRACE.upper().lower()
    assert decision.parent_span_id is None
    assert decision.tracestate is None


def test_tracestate_without_traceparent_is_discarded() -> None:
    """PROP-07."""
    decision = decide(None, ["vendor=a"])
    assert decision.tracestate is None and decision.parent_span_id is None
    assert len(decision.trace_id) == 32 and decision.trace_id != "0" * 32


def test_restart_mode_starts_a_new_trace_and_links_the_inbound_context() -> None:
    """PROP-08."""
    decision = decide(f"00-{TRACE}-{PARENT}-01", ["vendor=a"], restart=True)
    assert decision.trace_id != TRACE
    assert decision.parent_span_id is None and decision.tracestate is None
    assert decision.link == {"trace_id": TRACE, "span_id": PARENT}


def test_the_outbound_header_is_version_00_with_the_attempt_span_as_parent() -> None:
    """PROP-03 and PROP-06 (a higher version is sent on as 00)."""
    decision = decide(f"01-{TRACE}-{PARENT}-01", [])
    span = new_span_id()
    header = format_traceparent(decision.trace_id, span, decision.flags)
    assert header == f"00-{TRACE}-{span}-01"
    assert parse_traceparent(header) is not None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["a=1"], "a=1"),
        (["a=1", "b=2"], "a=1,b=2"),
        (["a=1, b=2"], "a=1, b=2"),
        (["a=1,a=2"], None),
        (["novalue"], None),
        ([",".join(f"k{i}=v" for i in range(33))], None),
        ([""], None),
    ],
    ids=["one", "two-headers", "spaces-kept", "duplicate-key", "no-equals", "too-many-members", "empty"],
)
def test_tracestate_passes_unchanged_or_is_dropped_when_malformed(headers: list[str], expected: str | None) -> None:
    assert clean_tracestate(headers) == expected


def test_ids_come_from_the_injected_source_and_are_never_all_zero() -> None:
    chunks = itertools.chain([b"\0" * 8], itertools.repeat(b"\1" * 8))
    assert new_span_id(lambda n: next(chunks)) == "01" * 8


@given(st.text(max_size=80))
def test_no_header_makes_the_parser_raise(header: str) -> None:
    parsed = parse_traceparent(header)
    if parsed is not None:
        assert len(parsed.trace_id) == 32 and len(parsed.parent_id) == 16
