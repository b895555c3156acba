"""Every typed key the fake-providers app stores state under (no string keys, no module state)."""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web

from fake_providers.behaviour_store import BehaviourStore
from fake_providers.journal import Entry, Journal
from fake_providers.metrics import Metrics
from fake_providers.settings import FakeProviderSettings

SETTINGS: Final = web.AppKey("settings", FakeProviderSettings)
BEHAVIOURS: Final = web.AppKey("behaviours", BehaviourStore)
JOURNAL: Final = web.AppKey("journal", Journal)
METRICS: Final = web.AppKey("metrics", Metrics)
# Set when the app shuts down, so behaviour waits (hang, latency) end at once.
SHUTDOWN: Final = web.AppKey("shutdown", asyncio.Event)
# Unexpected handler exceptions (type and location only): a test re-raises them at the end.
HANDLER_ERRORS: Final = web.AppKey("handler_errors", list)

ENTRY: Final = web.RequestKey("journal_entry", Entry)
RAW_BODY: Final = web.RequestKey("raw_body", bytes)
