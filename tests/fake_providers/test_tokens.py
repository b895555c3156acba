"""The documented tokenizer and the stream chunker: checks predict usage from these rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fake_providers.tokens import chunk_text, count_tokens, truncate_tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("   \n\t", 0),
        ("Hello", 1),
        ("Hello, world!", 4),
        ("CNRY-OUT-0123456789abcdefabcd", 6),
        ("abcdefghijklmnopqrstu", 3),
        ("naïve café", 5),
        ("a_b", 3),
    ],
    ids=["empty", "whitespace", "word", "punctuation", "canary", "long-run-cut-at-10", "non-ascii", "underscore"],
)
def test_token_counts_follow_the_documented_rule(text: str, expected: int) -> None:
    assert count_tokens(text) == expected


def test_truncation_keeps_the_first_n_tokens_with_their_spacing() -> None:
    assert truncate_tokens("one two, three", 3) == "one two,"
    assert truncate_tokens("one two", 5) == "one two"
    assert truncate_tokens("one two", 0) == ""


def test_chunks_hold_at_most_the_configured_tokens_and_keep_leading_space() -> None:
    assert chunk_text("one two three four five", 2) == ["one two", " three four", " five"]
    assert chunk_text("one two", 1) == ["one", " two"]


def test_a_forced_break_splits_a_canary_hex_across_chunks() -> None:
    text = "CNRY-OUT-0123456789abcdefabcd tail"
    chunks = chunk_text(text, 100, [len("CNRY-OUT-0123456789")])
    assert chunks == ["CNRY-OUT-0123456789", "abcdefabcd tail"]


@given(st.text(max_size=200), st.integers(min_value=1, max_value=8), st.lists(st.integers(0, 200), max_size=4))
def test_chunks_always_concatenate_back_to_the_text(text: str, size: int, breaks: list[int]) -> None:
    chunks = chunk_text(text, size, breaks)
    assert "".join(chunks) == text
    assert all(count_tokens(chunk) <= size for chunk in chunks)
    assert sum(count_tokens(chunk) for chunk in chunks) == count_tokens(text)
