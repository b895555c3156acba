"""Seeded defects stay out of production logic (RUN-05): the gateway's and the exporter's modules
never mention a defect switch, and with no switch on they run the production steps themselves.

Defects are substitutes put in place at start (``testbed.gateway.defects.install``, the exporter's
``span_mapper``, ``retry_decider``, ``wrap_sender``, ``metric_instruments``). A check on the syntax
tree keeps it that way: outside the defect modules, the configuration modules (which parse and
validate the switch names, ``config*.py``, and hold no request logic) and the one function of each component that
installs the substitutes, no module may import from a defect module, read a ``defects`` attribute
or name, or spell a switch name or its constant. The scanner is tested on snippets that break each
rule, so it can fail.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path
from typing import Final

import pytest

from testbed.exporter import defects as exporter_defects
from testbed.gateway import defects as gateway_defects
from testbed.gateway.app import create_app
from testbed.gateway.chat import captures_content
from testbed.gateway.front import deliver
from testbed.gateway.handlers import build_trace_event, new_record
from testbed.gateway.state import STATE, GatewayState
from testbed.gateway.upstream import UpstreamClient
from tests.testbed.gateway.support import gateway_config

ROOT: Final = Path(__file__).resolve().parents[2]
SCANNED: Final = ("testbed/gateway", "testbed/exporter")
DEFECT_FILES: Final = frozenset({"testbed/gateway/defects.py", "testbed/exporter/defects.py"})
INSTALLERS: Final = {"testbed/gateway/app.py": "create_app", "testbed/exporter/service.py": "ExporterService._start"}
"""The one function per component that puts the defects' substitutes in place."""
DEFECT_MODULES: Final = frozenset({"testbed.gateway.defects", "testbed.exporter.defects", "testbed.defect_switches"})
SWITCHES: Final = gateway_defects.GATEWAY_DEFECTS | exporter_defects.EXPORTER_DEFECTS
SWITCH_CONSTANTS: Final = frozenset(
    name for module in (gateway_defects, exporter_defects) for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str) and value in SWITCHES
)
STEPS: Final = ("upstream", "new_record", "captures_content", "build_event", "deliver")


class _Scanner(ast.NodeVisitor):
    """Collects every defect reference outside the function whose qualified name is ``allowed``."""

    def __init__(self, allowed: str | None) -> None:
        self.allowed = allowed
        self.found: list[str] = []
        self._scope: list[str] = []
        self._imported: set[str] = set()

    def _flag(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{getattr(node, 'lineno', 0)}: {what}")

    def _scoped(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._scope.append(node.name)
        if ".".join(self._scope) != self.allowed:
            self.generic_visit(node)
        self._scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _scoped

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        names = [alias.name for alias in node.names]
        if module in DEFECT_MODULES or any(f"{module}.{n}" in DEFECT_MODULES for n in names):
            self._imported |= {alias.asname or alias.name for alias in node.names}
            if self.allowed is None or self._scope:
                self._flag(node, f"imports {', '.join(names)} from {module}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name in DEFECT_MODULES:
                self._flag(node, f"imports {alias.name}")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in self._imported or node.id in SWITCH_CONSTANTS or node.id == "defects":
            self._flag(node, f"uses {node.id}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "defects" or node.attr in SWITCH_CONSTANTS:
            self._flag(node, f"reads .{node.attr}")
        self.generic_visit(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg == "defects":
            self._flag(node, "passes defects=")
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        if node.arg == "defects":
            self._flag(node, "takes a defects parameter")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.partition("@")[0] in SWITCHES:
            self._flag(node, f"spells the switch {node.value!r}")


def defect_references(source: str, allowed: str | None = None) -> list[str]:
    """Every defect reference in ``source`` (``line: what``), outside the function named ``allowed``
    (a dotted qualified name); module-level imports are allowed only in a module that has one."""
    scanner = _Scanner(allowed)
    scanner.visit(ast.parse(source))
    return scanner.found


def _production_modules() -> list[str]:
    paths = (p for top in SCANNED for p in sorted((ROOT / top).rglob("*.py")))
    return [rel for p in paths if (rel := p.relative_to(ROOT).as_posix()) not in DEFECT_FILES
            and not p.name.startswith("config")]


# --- the scanner can fail ---------------------------------------------------------------------

@pytest.mark.parametrize("snippet", [
    """
    from testbed.gateway.defects import LEAK_CONTENT_WHEN_EXCLUDED
    def serve(state, record):
        return LEAK_CONTENT_WHEN_EXCLUDED in state.defects
    """,
    """
    def strip(headers, active):
        if "drop_traceparent" in active:
            return {}
        return headers
    """,
    """
    def decide(result, policy):
        if result.status == 400 and RETRY_ON_400 in policy.flags:
            return "retry"
    """,
    """
    from testbed.exporter import defects
    """,
    """
    import testbed.defect_switches
    """,
    """
    def policy():
        return RetryPolicy(defects=frozenset())
    """,
    """
    def deliver(request, response, defects):
        return response
    """,
    """
    def graded(active):
        return "wrong_usage@1/10" in active
    """,
], ids=["flag-on-state", "switch-string", "switch-constant", "module-import", "plain-import", "keyword",
        "parameter", "graded-switch"])
def test_the_scanner_flags_every_kind_of_defect_reference(snippet: str) -> None:
    assert defect_references(textwrap.dedent(snippet)) != []


def test_the_scanner_passes_clean_code() -> None:
    clean = """
    from testbed.gateway.front import deliver
    def serve(state, record):
        return state.config.capture_content and not record.exclude
    """
    assert defect_references(textwrap.dedent(clean)) == []


def test_only_the_installing_function_may_use_the_defect_module() -> None:
    source = textwrap.dedent("""
    from testbed.gateway.defects import install
    def create_app(state, env):
        return install(state, env)
    def handler(state):
        return install(state, {})
    """)
    assert defect_references(source, allowed="create_app") == ["6: uses install"]
    assert len(defect_references(source)) == 3  # the import itself, and both uses


def test_a_class_method_is_allowed_by_its_qualified_name_only() -> None:
    source = textwrap.dedent("""
    class Service:
        def _start(self):
            self.map = span_mapper(self.config.defects)
        def _accept(self, msg):
            return self.config.defects
    """)
    assert defect_references(source, allowed="Service._start") == ["6: reads .defects"]


# --- the production modules -------------------------------------------------------------------

def test_the_scan_covers_the_request_path_modules() -> None:
    modules = _production_modules()
    for expected in ("testbed/gateway/front.py", "testbed/gateway/attempts.py", "testbed/gateway/chat.py",
                     "testbed/gateway/handlers.py", "testbed/exporter/retry.py", "testbed/exporter/sender.py",
                     "testbed/exporter/service.py", "testbed/exporter/mapping.py"):
        assert expected in modules


@pytest.mark.parametrize("module", _production_modules())
def test_no_gateway_or_exporter_module_refers_to_a_seeded_defect(module: str) -> None:
    source = (ROOT / module).read_text(encoding="utf-8")
    assert defect_references(source, INSTALLERS.get(module)) == []


# --- with no defect on, the production steps themselves ----------------------------------------

def _state(*switches: str) -> GatewayState:
    config = dataclasses.replace(gateway_config("http://127.0.0.1:9", "nats://127.0.0.1:9"),
                                 defects=frozenset(switches))
    return create_app(config, environ={})[STATE]


def test_without_defects_the_gateway_runs_the_production_steps() -> None:
    state = _state()
    assert type(state.upstream) is UpstreamClient
    assert state.new_record is new_record and state.captures_content is captures_content
    assert state.build_event is build_trace_event and state.deliver is deliver
    assert "testbed.defects" not in state.resource


@pytest.mark.parametrize("switch", sorted(gateway_defects.GATEWAY_DEFECTS))
def test_each_gateway_defect_replaces_a_step_at_start_and_names_itself(switch: str) -> None:
    clean, defective = _state(), _state(switch)
    replaced = [step for step in STEPS if getattr(defective, step) is not getattr(clean, step)
                and (step != "upstream" or type(defective.upstream) is not UpstreamClient)]
    assert replaced != []
    assert defective.resource["testbed.defects"] == switch
