"""The gateway under test (GUT) seam: the reference gateway the stack runs, or any gateway a
profile file describes (a command, a jinja2 config template or environment, how to tell it is
ready, its API key, the knobs it supports and the span convention it follows).

Direction: client -> GUT -> fake providers, and GUT -> (its own telemetry path) -> fake ingest.
The runner hands every GUT the same :class:`GatewayContext`; what a GUT does with it is its own
business. ``profiles/reference.yaml`` runs the reference gateway through this very path.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import jinja2

from testbed.checks.suppress import Suppression
from testbed.process import ReadySpec, ServerProcess, start_server
from testbed.runner.profile_schema import CONVENTIONS, KNOWN_KNOBS, ProfileModel
from testbed.schema import SchemaError as ScenarioError
from testbed.schema import load_file

__all__ = ["CONVENTIONS", "KNOWN_KNOBS", "GatewayContext", "GatewayProfile", "GatewayUnderTest", "ProfileGateway",
           "ReferenceGateway", "ScenarioError", "free_port", "load_profile", "reference_config_text", "render"]


@dataclass(frozen=True, slots=True)
class GatewayContext:
    """What every gateway under test is pointed at (values for its config template)."""

    providers_url: str
    otlp_endpoint: str
    otlp_api_key: str
    nats_url: str
    provider_api_key: str
    gateway_api_key: str
    workdir: str
    exclude_request_data: bool = False
    capture_content: bool = True
    host: str = "127.0.0.1"

    def variables(self) -> dict[str, Any]:
        return {
            "providers_url": self.providers_url, "openai_base_url": f"{self.providers_url}/v1",
            "otlp_endpoint": self.otlp_endpoint, "otlp_api_key": self.otlp_api_key,
            "nats_url": self.nats_url, "provider_api_key": self.provider_api_key,
            "gateway_api_key": self.gateway_api_key, "workdir": self.workdir,
            "exclude_request_data": self.exclude_request_data, "capture_content": self.capture_content,
            "host": self.host, "python": sys.executable, "env": dict(os.environ), "cwd": os.getcwd(),
        }  # fmt: skip


@runtime_checkable
class GatewayUnderTest(Protocol):
    """A gateway the runner drives. ``start`` returns once it is ready; ``stop`` is idempotent;
    ``restart`` keeps the context (the base URL may change); ``base_url`` is valid after start."""

    name: str
    is_reference: bool
    """Our-stack evidence (bus bytes, our counters) applies (SPEC 1.1)."""
    convention: str
    declares_server_spans: bool
    knobs: frozenset[str]

    def start(self, ctx: GatewayContext) -> None: ...

    def stop(self) -> None: ...

    def restart(self, sig: str = "TERM") -> None: ...

    @property
    def base_url(self) -> str: ...

    @property
    def api_key(self) -> str: ...

    @property
    def metrics_url(self) -> str | None: ...


# --- profiles ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GatewayProfile:
    name: str
    file: str
    command: tuple[str, ...]
    ready: ReadySpec
    api_key: str = "{{ gateway_api_key }}"
    config_template: str | None = None
    config_file: str = "gateway.yaml"
    env: Mapping[str, str] = field(default_factory=dict)
    base_url: str | None = None
    metrics_url: str | None = None
    knobs: frozenset[str] = frozenset()
    convention: str = "genai-1.41"
    declares_server_spans: bool = False
    spans_per_request: int | None = None
    restart_inbound: bool = False
    reference_stack: bool = False
    expected_findings: tuple[Suppression, ...] = ()
    """Known findings of this gateway (RUN-02). ``match: {scenario: <glob>}`` scopes one to the
    scenarios it names; an unscoped one applies to every scenario and is stale where unmatched."""

    def suppressions_for(self, scenario: str) -> tuple[Suppression, ...]:
        import fnmatch

        return tuple(s for s in self.expected_findings
                     if not isinstance(s.match.get("scenario"), str) or fnmatch.fnmatchcase(scenario, s.match["scenario"]))


def load_profile(path: str | Path) -> GatewayProfile:
    """Read a gateway profile (docs/runner.md); errors name the file and key path."""
    p = Path(path)
    m = load_file(ProfileModel, p)
    template = m.config.template
    if template is not None and not (p.parent / template).is_file():
        raise ScenarioError(str(p), "config.template", f"no such file next to the profile: {template}")
    return GatewayProfile(
        name=m.name, file=str(p), command=m.command,
        ready=ReadySpec(line=m.ready.line, http=m.ready.http, timeout_s=m.ready.timeout_s), api_key=m.api_key,
        config_template=str(p.parent / template) if template else None, config_file=m.config.file,
        env=dict(m.env), base_url=m.base_url, metrics_url=m.metrics_url, knobs=frozenset(m.knobs),
        convention=m.convention, declares_server_spans=m.declares_server_spans,
        spans_per_request=m.spans_per_request, restart_inbound=m.restart_inbound,
        reference_stack=m.reference_stack, expected_findings=m.expected_findings,
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now, for gateways that cannot bind port 0 and report it."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def render(template: str, variables: Mapping[str, Any], what: str) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        return env.from_string(template).render(**variables)
    except jinja2.TemplateError as exc:
        raise ScenarioError(what, "", f"template error: {exc}") from None


class ProfileGateway:
    """A gateway started from a profile: render config and environment, run the command, wait."""

    is_reference: bool
    knobs: frozenset[str]

    def __init__(self, profile: GatewayProfile) -> None:
        self.profile = profile
        self.name = profile.name
        self.is_reference = profile.reference_stack
        self.convention = profile.convention
        self.declares_server_spans = profile.declares_server_spans
        self.knobs = profile.knobs
        self._ctx: GatewayContext | None = None
        self._proc: ServerProcess | None = None
        self._vars: dict[str, Any] = {}

    def start(self, ctx: GatewayContext) -> None:
        self._ctx = ctx
        p = self.profile
        variables = {**ctx.variables(), "port": free_port(ctx.host) if p.ready.line is None else 0}
        config_path = Path(ctx.workdir) / p.config_file
        variables["config_path"] = str(config_path)
        if p.config_template:
            text = Path(p.config_template).read_text(encoding="utf-8")
            config_path.write_text(render(text, variables, p.config_template), encoding="utf-8")
        argv = [render(part, variables, p.file) for part in p.command]
        env = {k: render(v, variables, p.file) for k, v in p.env.items()}
        if p.base_url is not None:
            variables["base_url"] = render(p.base_url, variables, p.file)
        ready = replace(p.ready, http=render(p.ready.http, variables, p.file) if p.ready.http else None)
        self._proc = start_server(argv, ready, env=env, cwd=ctx.workdir)
        variables.setdefault("base_url", self._proc.ready.get("url", ""))
        if not variables["base_url"]:
            raise ScenarioError(p.file, "ready.line", "the ready line matched without a (?P<url>...) group")
        self._vars = variables

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()

    def restart(self, sig: str = "TERM") -> None:
        if self._proc is not None and sig == "KILL":
            self._proc.kill()
        elif self._proc is not None:
            self._proc.stop()
        assert self._ctx is not None, "restart before start"
        self.start(self._ctx)

    @property
    def base_url(self) -> str:
        return str(self._vars["base_url"]).rstrip("/")

    @property
    def api_key(self) -> str:
        return render(self.profile.api_key, self._vars, self.profile.file)

    @property
    def metrics_url(self) -> str | None:
        return render(self.profile.metrics_url, self._vars, self.profile.file) if self.profile.metrics_url else None

    def stderr_tail(self) -> str:
        return self._proc.stderr_tail() if self._proc is not None else ""


class ReferenceGateway:
    """The reference gateway as the stack runs it (``Stack.start_gateway``)."""

    name = "reference"
    is_reference = True
    convention = "genai-1.41"
    declares_server_spans = True
    knobs = KNOWN_KNOBS

    def __init__(self, stack: Any) -> None:
        self.stack = stack

    def start(self, ctx: GatewayContext) -> None:
        if self.stack.gateway is None or not self.stack.gateway.alive():
            self.stack.start_gateway()

    def stop(self) -> None:
        if self.stack.gateway is not None:
            self.stack.gateway.stop()

    def restart(self, sig: str = "TERM") -> None:
        if self.stack.gateway is not None:
            if sig == "KILL":
                self.stack.gateway.kill()
            else:
                self.stack.gateway.stop()
        self.stack.start_gateway()

    @property
    def base_url(self) -> str:
        return str(self.stack.gateway.url)

    @property
    def api_key(self) -> str:
        return str(self.stack.settings.gateway_api_key)

    @property
    def metrics_url(self) -> str | None:
        return str(self.stack.gateway.ready.get("metrics", f"{self.base_url}/metrics"))


def reference_config_text(profile: GatewayProfile, capture_content: bool = True) -> str:
    """The reference profile's config template rendered with the stack's ``${name}`` placeholders,
    so the stack-managed reference gateway and the profile-run one share one model list."""
    assert profile.config_template is not None
    placeholders = {name: f"${{{name}}}" for name in (
        "providers_url", "nats_url", "provider_api_key", "gateway_api_key", "exclude_request_data")}
    variables = {**placeholders, "openai_base_url": "${providers_url}/v1", "host": "${gateway_host}",
                 "port": "${gateway_port}", "capture_content": capture_content,
                 "otlp_endpoint": "", "otlp_api_key": "", "workdir": "", "python": sys.executable}
    text = Path(profile.config_template).read_text(encoding="utf-8")
    return render(text, variables, profile.config_template)

