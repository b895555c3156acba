"""The ``testbed`` pytest plugin: fakes and the stack as fixtures, scenarios and checks as test items.

Registered through the ``pytest11`` entry point (or ``-p testbed.pytest_plugin``). It is inert
until used: nothing starts unless a test asks for one of its fixtures or ``--testbed-scenarios``
is given, and no report is written unless a scenario ran.

Fixtures
  ``fake_middleware``  the fake ingest in a thread (function scope): ``url``, ``api_key``,
                       ``otlp_endpoint``, ``spans(**query)``, ``wait_for_spans(count, timeout, **query)``
  ``fake_providers``   the fake providers in a thread (function scope): ``url``, ``api_key``,
                       ``openai_base_url``, ``journal()``
  ``testbed_session``  the whole stack and the gateway under test (session scope; the reference
                       gateway, or ``--testbed-gateway PROFILE``), shared with the scenario items
  ``testbed_stack``    that session's stack (:class:`StackHandle`): ``middleware_url``,
                       ``middleware_api_key``, ``providers_url``, ``openai_base_url`` (the gateway's,
                       ending in ``/v1``), ``gateway_api_key``, ``spans(trace_id=...)``,
                       ``wait_for_spans(trace_id=..., count=..., timeout=...)``, and ``stack`` itself
  ``testbed_gateway``  that session's gateway under test (:class:`GatewayHandle`): ``base_url``,
                       ``openai_base_url``, ``api_key``, ``name``

Options
  ``--testbed-scenarios DIR``  collect every ``*.yaml`` scenario in DIR: one item per scenario
                               (runs it once, fails unless it passed; inconclusive skips, RUN-03)
                               and one item per (scenario, check) reporting that check's outcome;
                               node ids (``DIR/baseline.yaml::baseline::loss``) select items
  ``--testbed-gateway PROFILE`` a gateway profile (file, or name in profiles/) to test instead of
                               the reference gateway
  ``--testbed-report DIR``     where the run's folder (results.json, index.html, junit.xml) goes;
                               default ``reports/`` under the rootdir, written at session end
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from testbed.stack_handles import GatewayHandle, StackHandle

if TYPE_CHECKING:
    from fake_middleware.model import StoredSpan
    from fake_middleware.server_thread import ThreadedMiddleware
    from testbed.runner.results import ScenarioOutcome
    from testbed.runner.run import RunSession
    from testbed.runner.scenario import Scenario


# --- fakes ----------------------------------------------------------------------------------------

@dataclass
class FakeMiddleware:
    """A running fake ingest for one test; the API key is generated per test."""

    server: ThreadedMiddleware
    api_key: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def otlp_endpoint(self) -> str:
        return f"{self.server.url}/v1/traces"

    def spans(self, **query: Any) -> list[StoredSpan]:
        """Stored spans matching ``SpanQuery(**query)`` (service, name, kind, trace_id, ...)."""
        from fake_middleware.query import SpanQuery

        store = self.server.server.store
        return self.server.call(store.query, SpanQuery(**query))

    def wait_for_spans(self, count: int, timeout: float = 10.0, **query: Any) -> list[StoredSpan]:
        """Wait (on arrival, with a deadline) until ``count`` matching spans are stored."""
        from fake_middleware.query import SpanQuery

        return self.server.wait_for(SpanQuery(**query), count, timeout)


@dataclass
class FakeProviders:
    """Running fake providers (OpenAI, Anthropic, Gemini wire formats) for one test."""

    url: str
    api_key: str

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def journal(self) -> list[dict[str, Any]]:
        """Every upstream request the fakes still hold, oldest first, read page by page
        (docs/fake_providers.md)."""
        entries: list[dict[str, Any]] = []
        cursor: int | None = 0
        while cursor is not None:
            with urllib.request.urlopen(f"{self.url}/_fake/journal?since={cursor}", timeout=30) as resp:
                page = json.load(resp)
            entries += page["entries"]
            cursor = page.get("next")
        return entries


@pytest.fixture
def fake_middleware() -> Iterator[FakeMiddleware]:
    from fake_middleware.settings import Settings
    from fake_middleware.server_thread import ThreadedMiddleware

    key = f"mw-{secrets.token_hex(8)}"
    with ThreadedMiddleware(Settings(keys={"default": key})) as server:
        yield FakeMiddleware(server, key)


@pytest.fixture
def fake_providers() -> Iterator[FakeProviders]:
    from fake_providers.app import create_app
    from fake_providers.settings import FakeProviderSettings

    key = f"sk-fake-{secrets.token_hex(8)}"
    from testbed.watch.served import ThreadedApp

    served = ThreadedApp(create_app(FakeProviderSettings(api_keys=frozenset({key}))))
    served.start()
    try:
        yield FakeProviders(served.url, key)
    finally:
        served.stop()


# --- the shared run state -------------------------------------------------------------------------

@dataclass
class _State:
    """Per pytest session: the lazily opened stack, scenario outcomes, and where reports go."""

    profile: str | None
    report_dir: Path
    run_id: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2))
    started_ns: int = field(default_factory=time.time_ns)
    session: RunSession | None = None
    outcomes: dict[str, ScenarioOutcome] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def open(self) -> RunSession:
        if self.session is None:
            from testbed.runner.cli_entry import resolve_profile
            from testbed.runner.run import open_session

            workdir = Path(tempfile.mkdtemp(prefix="testbed-pytest-"))
            self.session = open_session(workdir, resolve_profile(self.profile))
        return self.session

    def run(self, sc: Scenario) -> dict[str, Any]:
        """Run a scenario once per session; later calls get the cached results entry."""
        if sc.name not in self.results:
            from testbed.runner.results import scenario_json
            from testbed.runner.run import run_scenario

            outcome = asyncio.run(run_scenario(sc, self.open(), self.run_id))
            self.outcomes[sc.name] = outcome
            self.results[sc.name] = scenario_json(outcome)
        return self.results[sc.name]

    def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            session.close()


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


@pytest.fixture(scope="session")
def testbed_session(pytestconfig: pytest.Config) -> RunSession:
    return _state(pytestconfig).open()


@pytest.fixture(scope="session")
def testbed_stack(testbed_session: RunSession) -> StackHandle:
    return StackHandle(testbed_session)


@pytest.fixture(scope="session")
def testbed_gateway(testbed_session: RunSession) -> GatewayHandle:
    return GatewayHandle(testbed_session)


# --- options, collection, items -------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testbed", "AI gateway observability testbed")
    group.addoption("--testbed-scenarios", metavar="DIR", help="collect the *.yaml scenarios in DIR as tests")
    group.addoption("--testbed-gateway", metavar="PROFILE", help="gateway profile to test (default: reference)")
    group.addoption("--testbed-report", metavar="DIR", help="folder for run reports (default: reports/ under rootdir)")


def pytest_configure(config: pytest.Config) -> None:
    report = config.getoption("testbed_report") or str(config.rootpath / "reports")
    config.stash[_STATE] = _State(config.getoption("testbed_gateway"), Path(report))


def _scenario_dir(config: pytest.Config) -> Path | None:
    directory = config.getoption("testbed_scenarios")
    return Path(directory).resolve() if directory else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Scenario files named on the command line (or under a collected path) collect like test
    files, so their node ids select items."""
    directory = _scenario_dir(parent.config)
    if directory is not None and file_path.suffix in (".yaml", ".yml") and file_path.resolve().parent == directory:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The scenario directory joins the run when no scenario was collected through the arguments.
    Its items go through ``genitems``, so collection counts (and ``-k`` deselection) add up."""
    directory = _scenario_dir(config)
    if directory is None:
        return
    paths = sorted(p for pattern in ("*.yaml", "*.yml") for p in directory.glob(pattern))
    if not paths:
        raise pytest.UsageError(f"--testbed-scenarios {config.getoption('testbed_scenarios')}: no *.yaml scenario there")
    if any(isinstance(i, ScenarioItem) for i in items):
        return
    for path in paths:
        items.extend(session.genitems(ScenarioFile.from_parent(session, path=path)))


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Collector]:
        from testbed.errors import ConfigError
        from testbed.runner.scenario import load_scenario

        try:
            sc = load_scenario(self.path)
        except ConfigError as exc:
            raise self.CollectError(f"{self.path.name}: {exc}") from exc
        yield ScenarioNode.from_parent(self, name=sc.name, scenario=sc)


class ScenarioNode(pytest.Collector):
    """One scenario: its verdict item (``<file>::<name>::scenario``) and one item per check
    (``<file>::<name>::<check>``). A collector, so node ids can select any of them."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name="scenario", scenario=self.scenario)
        for check in self.scenario.checks:
            yield CheckItem.from_parent(self, name=check, scenario=self.scenario)


class ScenarioFailed(Exception):
    """A scenario or check did not pass; the message lists its reasons or findings."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        entry = _state(self.config).run(self.scenario)
        _judge(entry.get("status", "error"), "\n".join(entry.get("reasons") or []) or entry.get("error") or "")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario {self.scenario.name}"


class CheckItem(ScenarioItem):
    def runtest(self) -> None:
        entry = _state(self.config).run(self.scenario)
        check = next((c for c in entry.get("checks", []) if c.get("check") == self.name), None)
        if check is None:
            raise ScenarioFailed(f"check {self.name} did not run: {entry.get('error') or 'no result'}")
        from testbed.report.junit import finding_text

        text = "\n".join(finding_text(f) for f in check.get("findings", []))
        _judge(check.get("outcome", "error"), "\n".join(x for x in (check.get("reason", ""), text) if x))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"check {self.name} of scenario {self.scenario.name}"


def _judge(status: str, detail: str) -> None:
    if status == "passed":
        return
    if status in ("inconclusive", "not_applicable"):
        pytest.skip(f"{status.replace('_', ' ')} (RUN-03): {detail}")
    raise ScenarioFailed(f"{status}\n{detail}".rstrip())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None:
        return
    try:
        if state.outcomes:
            write_run(state)
    finally:
        state.close()


def write_run(state: _State) -> Path:
    """Write results.json, index.html and junit.xml for the scenarios this session ran."""
    from testbed.report.writer import write_reports
    from testbed.runner.results import environment, results_json

    gut = state.session.gut if state.session is not None else None
    gateway = {"name": getattr(gut, "name", "?"), "profile": state.profile or "reference (stack)",
               "convention": getattr(gut, "convention", "?"), "reference_stack": getattr(gut, "is_reference", None)}
    doc = results_json(state.run_id, gateway, list(state.outcomes.values()), state.started_ns, time.time_ns(),
                       environment())
    target = state.report_dir / state.run_id
    write_reports(doc, target, write_results=True)
    return target


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None and state.outcomes:
        terminalreporter.write_line(f"testbed report: {state.report_dir / state.run_id / 'index.html'}")
