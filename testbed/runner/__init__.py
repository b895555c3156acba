"""The runner: stack lifecycle now; scenarios, fault timeline and evidence collection build on it."""

from __future__ import annotations
