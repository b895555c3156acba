"""``testbed watch``: live-check. A fake ingest that judges spans as they arrive from any app or
gateway pointed at it, and writes the run's report when stopped."""

from __future__ import annotations
