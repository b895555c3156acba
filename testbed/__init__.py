"""Observability testbed and conformance suite for AI gateways.

The public surface is re-exported here; everything else is an implementation detail.
"""

from __future__ import annotations

from testbed.errors import TestbedError
from testbed.waiting import wait_until, wait_until_async

__all__ = ["TestbedError", "wait_until", "wait_until_async"]
__version__ = "0.1.0"
