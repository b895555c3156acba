"""The runner: scenario files, the gateway under test, the fault timeline, the load generator's
HTTP side, evidence collection and ``results.json`` (docs/runner.md). The stack lifecycle lives
in ``stack.py``; ``cli_entry.run_command`` is what ``testbed run`` calls."""

from __future__ import annotations
