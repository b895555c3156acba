"""Fake Middleware: an OTLP/HTTP ingest with faults, a span store and a query API (SPEC 5, 6, 10).

Public surface::

    from fake_middleware import MiddlewareServer, Settings, SpanQuery, Condition, create_app
"""

from __future__ import annotations

from fake_middleware.app import create_app
from fake_middleware.faults import FaultSpec, FaultSpecError
from fake_middleware.model import RequestRecord, StoredSpan
from fake_middleware.query import Condition, SpanQuery, parse_query
from fake_middleware.server import MiddlewareServer
from fake_middleware.settings import Settings
from fake_middleware.store import SpanStore
from fake_middleware.server_thread import ThreadedMiddleware

__all__ = ["Condition", "FaultSpec", "FaultSpecError", "MiddlewareServer", "RequestRecord", "Settings", "SpanQuery",
           "SpanStore", "StoredSpan", "ThreadedMiddleware", "create_app", "parse_query"]
