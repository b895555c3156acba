"""Judging spans the suite did not drive: saved OTLP captures (``testbed lint``) and, through the
same judge, live ones (``testbed watch``)."""

from __future__ import annotations

from testbed.lint.capture import Capture, CaptureError, parse_capture, read_capture
from testbed.lint.judge import LintSettings, judge_spans, outcome_for

__all__ = ["Capture", "CaptureError", "LintSettings", "judge_spans", "outcome_for", "parse_capture", "read_capture"]
