"""``testbed lint FILE|DIR...``: judge saved OTLP captures; exit 0/1/2 as ``testbed run``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from testbed.checks.result import Finding
from testbed.errors import ConfigError
from testbed.lint.capture import capture_files, read_capture
from testbed.lint.grouping import format_group, group_findings
from testbed.lint.judge import LintSettings, outcome_for, write_run

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by lint and watch: what the user declares about the spans."""
    p.add_argument("--convention", default="genai-1.41", choices=("genai-1.41", "legacy", "openinference"),
                   help="span convention the telemetry follows (default: genai-1.41)")
    p.add_argument("--canary", action="append", default=[], metavar="TEXT",
                   help="a string that must never appear in a span (repeatable); secret shapes are always searched")
    p.add_argument("--exclude-request-data", action="store_true",
                   help="the spans were made with Exclude Request Data on: content attributes must be absent")
    p.add_argument("--server-spans", action="store_true", help="the gateway emits SERVER spans: judge them (GW-01)")
    p.add_argument("--fail-on", choices=("violation", "warning"), default="violation")
    p.add_argument("--out", default="reports", help="directory for reports/<run>/ (default: reports)")


def settings_from(args: argparse.Namespace, name: str, sources: Sequence[str]) -> LintSettings:
    return LintSettings(name=name, convention=args.convention, canaries=tuple(args.canary),
                        exclude_request_data=args.exclude_request_data, server_spans=args.server_spans,
                        fail_on=args.fail_on, sources=tuple(sources))


def lint_main(args: argparse.Namespace) -> int:
    started = time.time_ns()
    try:
        captures = [read_capture(p) for p in capture_files(args.paths)]
    except ConfigError as exc:
        print(f"testbed: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    spans = [s for c in captures for s in c.spans]
    forms = sorted({c.form for c in captures})
    print(f"testbed lint: {len(spans)} spans from {len(captures)} file(s) ({', '.join(forms)})")
    outcome = outcome_for(spans, settings_from(args, "lint", [c.path for c in captures]), started)
    print_findings(outcome.verdict.results if outcome.verdict else ())
    _, written = write_run(outcome, args.out, "lint")
    print(f"testbed lint: {outcome.status}; report {written['html']}")
    return EXIT_OK if outcome.status == "passed" else EXIT_FAILED


def print_findings(results: Sequence[object]) -> None:
    """Each check's outcome, then its findings grouped with counts."""
    for r in results:
        findings: Sequence[Finding] = getattr(r, "findings", ())
        reason = getattr(r, "reason", "")
        print(f"  {getattr(r, 'outcome', '?'):<14} {getattr(r, 'check', '?')}" + (f"  ({reason})" if reason else ""))
        for g in group_findings(findings):
            print("    " + format_group(g).replace("\n", "\n    "))
