"""Fake LLM providers: OpenAI-, Anthropic- and Gemini-style servers with behaviours and a journal.

Start one in-process with ``create_app(FakeProviderSettings(...))`` and any aiohttp runner, or as
a process with ``python -m fake_providers --port 0``. docs/fake_providers.md describes the routes,
the tokenizer, the canary rules, the behaviours schema, the ``x-fake-*`` headers and the admin API.
"""

from __future__ import annotations

from fake_providers.app import create_app
from fake_providers.behaviours import (
    BEHAVIOURS_MODEL,
    HEADER_FIELDS,
    BehaviourError,
    BehaviourRule,
    BehavioursFile,
    Hang,
    MidStreamError,
    Reset,
    SlowBody,
    Truncate,
    parse_rule,
    parse_rules,
)
from fake_providers.canaries import CANARY_RE, fragments
from fake_providers.settings import FakeProviderSettings, load_behaviours_file
from fake_providers.tokens import count_tokens
from fake_providers.wire import Provider

__all__ = [
    "BEHAVIOURS_MODEL",
    "CANARY_RE",
    "HEADER_FIELDS",
    "BehaviourError",
    "BehaviourRule",
    "BehavioursFile",
    "FakeProviderSettings",
    "Hang",
    "MidStreamError",
    "Provider",
    "Reset",
    "SlowBody",
    "Truncate",
    "count_tokens",
    "create_app",
    "fragments",
    "load_behaviours_file",
    "parse_rule",
    "parse_rules",
]
