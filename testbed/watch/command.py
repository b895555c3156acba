"""``testbed watch``: start the fake ingest (and optionally the fake providers), print the exporter
settings to use, judge spans as they arrive, write the report on Ctrl-C or SIGTERM.

The first stdout line is the JSON ready line every server prints (DESIGN: contracts); the
``OTEL_EXPORTER_OTLP_*`` lines follow, ready to paste. Waiting is on span arrival in the store
(a condition with a deadline, so a stop request is seen within a second), never a sleep.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from testbed.lint.command import EXIT_FAILED, EXIT_OK, settings_from
from testbed.lint.grouping import group_findings
from testbed.lint.judge import LintSettings, judge_spans, outcome_for, write_run
from testbed.runner.collect import span_view
from testbed.watch.stream import counts, news


def exporter_settings(ingest_url: str, api_key: str) -> dict[str, str]:
    """The standard OTel SDK variables that point an app's exporter at the ingest."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": ingest_url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": f"Authorization={api_key}"}


def watch_main(args: argparse.Namespace) -> int:
    from fake_middleware.settings import Settings
    from fake_middleware.server_thread import ThreadedMiddleware

    api_key = f"mw-{secrets.token_hex(8)}"
    started = time.time_ns()
    settings = settings_from(args, "watch", [])
    with ThreadedMiddleware(Settings(keys={"default": api_key}), args.host, args.port) as mw, \
            _providers(args.providers, args.host) as providers:
        settings = replace(settings, sources=(mw.url,))
        _announce(mw.url, api_key, providers)
        spans = _judge_until_stopped(mw, settings)
    outcome = outcome_for(spans, settings, started)
    _, written = write_run(outcome, args.out, "watch")
    print(f"testbed watch: {outcome.status}: {len(spans)} spans; report {written['html']}", flush=True)
    return EXIT_OK if outcome.status == "passed" else EXIT_FAILED


def _announce(url: str, api_key: str, providers: dict[str, str] | None) -> None:
    env = exporter_settings(url, api_key)
    ready: dict[str, Any] = {"event": "ready", "service": "watch", "url": url, "otlp_endpoint": f"{url}/v1/traces",
                             "api_key": api_key, "env": env}
    if providers:
        ready.update(providers)
    print(json.dumps(ready), flush=True)
    print("Point your app's OpenTelemetry exporter here:", flush=True)
    for k, v in env.items():
        print(f"  export {k}={v}", flush=True)
    if providers:
        print(f"Fake providers: OpenAI base URL {providers['openai_base_url']} (any non-empty key)", flush=True)
    print("Judging spans as they arrive; Ctrl-C writes the report.", flush=True)


def _judge_until_stopped(mw: Any, st: LintSettings) -> list[Any]:
    stop = _StopFlag()
    seen = 0
    before: dict[Any, int] = {}
    spans: list[Any] = []
    with stop.installed():
        while not stop.set:
            try:
                mw.wait_until(lambda store: store.count() > seen, 1.0, "new spans")
            except Exception:  # the deadline passed with nothing new: look at the stop flag again
                continue
            spans = [span_view(s.to_dict()) for s in mw.call(mw.server.store.query)]
            findings = [f for r in judge_spans(spans, st) for f in r.findings]
            groups = group_findings(findings)
            for line in news(before, groups, len(spans), len(spans) - seen):
                print(line, flush=True)
            seen, before = len(spans), counts(groups)
    return spans


class _StopFlag:
    """Set by SIGINT or SIGTERM; the handlers are put back on exit."""

    def __init__(self) -> None:
        self.set = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        def handler(*_: Any) -> None:
            self.set = True

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, h in previous.items():
                signal.signal(sig, h)


@contextmanager
def _providers(wanted: bool, host: str) -> Iterator[dict[str, str] | None]:
    if not wanted:
        yield None
        return
    from fake_providers.app import create_app
    from fake_providers.settings import FakeProviderSettings
    from testbed.watch.served import ThreadedApp

    served = ThreadedApp(create_app(FakeProviderSettings()), host)
    served.start()
    try:
        yield {"providers": served.url, "openai_base_url": f"{served.url}/v1"}
    finally:
        served.stop()
