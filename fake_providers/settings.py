"""Settings of the fake providers and the behaviours YAML file.

``FakeProviderSettings`` is a frozen value: the app reads it once in ``create_app``. The behaviours
file has one top-level key, ``behaviours``, holding the same rule list as ``PUT /_fake/behaviours``
(``behaviours.BehavioursFile``); a bad file is a ``SchemaError`` naming the file and key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fake_providers.behaviours import BehaviourRule, BehavioursFile
from testbed.schema import load_file

DEFAULT_MODELS: Final = (
    "gpt-4o-mini",
    "gpt-4o",
    "text-embedding-3-small",
    "claude-sonnet-4-20250514",
    "claude-3-5-haiku-latest",
    "gemini-2.0-flash",
)


@dataclass(frozen=True, slots=True)
class FakeProviderSettings:
    """How one fake-providers app behaves.

    ``api_keys`` empty means any non-empty key is accepted; otherwise other keys get 401.
    ``behaviours`` are the start-up rules (``POST /_fake/reset`` restores them).
    ``seed`` seeds the RNG used for jitter and fault probabilities.
    """

    api_keys: frozenset[str] = frozenset()
    behaviours: tuple[BehaviourRule, ...] = ()
    seed: int = 0
    tokens_per_chunk: int = 1
    journal_capacity: int = 10_000
    journal_body_bytes: int = 64 * 1024
    """A journalled body past this many bytes keeps only its head and a truncation marker."""
    journal_body_budget: int = 64 * 1024 * 1024
    """The journal's kept bodies together stay under this many bytes (oldest entries leave first)."""
    models: tuple[str, ...] = DEFAULT_MODELS
    default_retry_after_ms: int = 1000
    admin_key: str | None = field(default=None, repr=False)
    """When set, ``/_fake/*`` needs it in ``X-Admin-Key`` (testbed.admin_key)."""
    embedding_dimensions: int = 1536
    max_body_bytes: int = 64 * 1024 * 1024


def load_behaviours_file(path: str | Path) -> tuple[BehaviourRule, ...]:
    """The rules of a behaviours file; raises ``SchemaError`` (a ``ConfigError``) when it is bad."""
    return load_file(BehavioursFile, path).behaviours
