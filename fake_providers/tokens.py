"""The fake providers' one tokenizer, and the stream chunker built on it (pure).

Definition (documented in docs/fake_providers.md, so checks can predict every usage count):

- A token is either a run of ASCII letters and digits, cut from the left into pieces of at most
  ``PIECE_CHARS`` (10) characters, or any single other character that is not whitespace.
- Whitespace is never a token; it belongs to the token that follows it when text is chunked.
- ``count_tokens(text) == len(re.findall(r"[A-Za-z0-9]{1,10}|[^\\sA-Za-z0-9]", text))``.

So ``CNRY-OUT-0123456789abcdefabcd`` is 6 tokens (``CNRY``, ``-``, ``OUT``, ``-``, then the hex in two
pieces of 10), and a canary's hex always falls into exactly two tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

PIECE_CHARS: Final = 10
TOKEN_RE: Final = re.compile(r"[A-Za-z0-9]{1,%d}|[^\sA-Za-z0-9]" % PIECE_CHARS)


def count_tokens(text: str) -> int:
    """Number of tokens in ``text`` under the documented rule."""
    return sum(1 for _ in TOKEN_RE.finditer(text))


def count_all(texts: Iterable[str]) -> int:
    """Token count of several strings; the same as counting them joined by whitespace."""
    return sum(count_tokens(text) for text in texts)


def token_ends(text: str) -> list[int]:
    """Character offset just past each token, in order."""
    return [m.end() for m in TOKEN_RE.finditer(text)]


def truncate_tokens(text: str, limit: int) -> str:
    """The prefix of ``text`` that ends with its ``limit``-th token (all of it if shorter)."""
    ends = token_ends(text)
    if len(ends) <= limit:
        return text
    return text[: ends[limit - 1]] if limit > 0 else ""


def chunk_text(text: str, tokens_per_chunk: int, breaks: Iterable[int] = ()) -> list[str]:
    """Split ``text`` into stream fragments whose concatenation is ``text``.

    Each fragment holds at most ``tokens_per_chunk`` tokens, with the whitespace before a token
    kept in front of it. A fragment boundary is forced at every offset in ``breaks`` that falls
    between two tokens (the fake uses this to split canaries across chunks).
    """
    if not text:
        return []
    ends = token_ends(text)
    if not ends:
        return [text]
    forced = set(breaks)
    size = max(1, tokens_per_chunk)
    chunks: list[str] = []
    start = 0
    in_chunk = 0
    for i, end in enumerate(ends):
        in_chunk += 1
        last = i == len(ends) - 1
        if last:
            chunks.append(text[start:])
            break
        if in_chunk >= size or end in forced or _next_start(text, end) in forced:
            chunks.append(text[start:end])
            start = end
            in_chunk = 0
    return chunks


def _next_start(text: str, end: int) -> int:
    """Offset of the first non-whitespace character at or after ``end``."""
    match = TOKEN_RE.search(text, end)
    return match.start() if match else len(text)
