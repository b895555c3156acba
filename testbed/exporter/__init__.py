"""The reference exporter: TraceEvents from the bus -> OTLP/HTTP spans at the ingest.

Pure parts: ``mapping`` (TraceEvent -> span records), ``redact`` (second line of defence),
``encoder`` (span records -> protobuf/JSON), ``retry`` (retry decisions). I/O parts: ``sender``
(HTTP with retries), ``service`` (consume -> batch -> send -> ack), ``server`` (``/metrics``),
``main`` (the ``testbed exporter`` process).
"""

from __future__ import annotations

from testbed.exporter.config import ExporterConfig, load_config, parse_config
from testbed.exporter.main import run_exporter
from testbed.exporter.mapping import map_event
from testbed.exporter.service import ExporterService

__all__ = ["ExporterConfig", "ExporterService", "load_config", "map_event", "parse_config", "run_exporter"]
