"""The whole stack as real processes: NATS, fake providers, fake Middleware, gateway, exporter.

Data flows client -> gateway -> fake provider, and gateway -> NATS -> exporter -> fake Middleware.
Each part is a child process started on port 0 and awaited on its ready line; ``stop()`` tears
them down in reverse order (the exporter gets SIGTERM so it drains). Parts can be stopped, killed
and restarted one by one, which is what the chaos timeline does.

The exporter and the gateway are supervised (``supervisor.py``): one that dies without being asked
to is started again on the same port, so every URL in the ready line stays valid; one stopped or
killed through its ``ServerProcess`` (a fault, a restart) is left to whoever stopped it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from testbed.admin_key import ADMIN_HEADER, is_loopback
from testbed.bus import NatsServer
from testbed.errors import ProcessStartError
from testbed.process import ServerProcess, python_module_argv, start_server
from testbed.runner.configs import default_gateway_config_path, exporter_config, gateway_env
from testbed.runner.supervisor import Log, Supervisor

HOST = "127.0.0.1"


def _key(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


@dataclass
class StackSettings:
    """What the stack is started with; keys are generated per stack unless given."""

    gateway_api_key: str = field(default_factory=lambda: _key("sk-gw"))
    middleware_api_key: str = field(default_factory=lambda: _key("mw"))
    provider_api_key: str = field(default_factory=lambda: _key("sk-up"))
    exclude_request_data: bool = False
    behaviours_file: str | None = None
    gateway_config: str | None = None
    """Gateway YAML file; None uses the shipped default (its placeholders are filled by the stack)."""
    gateway_env: dict[str, str] = field(default_factory=dict)
    """Extra environment for the gateway process (more placeholder values, OTEL_* variables)."""
    exporter_overrides: dict[str, Any] = field(default_factory=dict)
    with_gateway: bool = True
    """False leaves the reference gateway out, for a run whose gateway under test is another one."""
    nats_url: str | None = None
    """An external NATS with JetStream; None starts the embedded nats-server."""
    start_timeout_s: float = 30.0
    supervise: bool = True
    """Restart an exporter or gateway that dies on its own (False: leave it dead)."""
    host: str = HOST
    """The address every server binds; a non-loopback one turns the admin key on."""
    admin_key: str | None = None
    """The fakes' admin key (testbed.admin_key); None generates one when ``host`` is not loopback."""


def log_to_stderr(event: dict[str, Any]) -> None:
    """The default supervisor log: one JSON line per event on stderr."""
    print(json.dumps(event), file=sys.stderr, flush=True)


@dataclass
class Stack:
    """A running stack; build with :meth:`start`, end with :meth:`stop` (idempotent)."""

    settings: StackSettings
    workdir: Path
    nats: NatsServer | None = None
    providers: ServerProcess | None = None
    middleware: ServerProcess | None = None
    gateway: ServerProcess | None = None
    exporter: ServerProcess | None = None
    supervisor: Supervisor | None = None
    admin_key: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _stopping: bool = False

    @classmethod
    def start(cls, settings: StackSettings | None = None, log: Log | None = log_to_stderr) -> Stack:
        stack = cls(settings or StackSettings(), Path(tempfile.mkdtemp(prefix="testbed-stack-")))
        stack.admin_key = cls.admin_key_for(stack.settings)
        if stack.settings.supervise:
            stack.supervisor = Supervisor(stack.restart_part, log)
        try:
            stack._start_all()
        except BaseException:
            stack.stop()
            raise
        return stack

    @staticmethod
    def admin_key_for(settings: StackSettings) -> str | None:
        """The given admin key; else a fresh one when the stack binds a non-loopback address."""
        return settings.admin_key or (None if is_loopback(settings.host) else _key("adm"))

    @property
    def nats_url(self) -> str:
        if self.settings.nats_url:
            return self.settings.nats_url
        assert self.nats is not None
        return self.nats.url

    def _start_all(self) -> None:
        s = self.settings
        if s.nats_url is None:
            self.nats = NatsServer(store_dir=str(self.workdir / "nats"))
            self.nats.start()
        fp_args = ["--host", s.host, "--port", "0"]
        if s.behaviours_file:
            fp_args += ["--behaviours", s.behaviours_file]
        # Keys go by environment, never argv: a command line is visible to every user in ps.
        admin = self.admin_key or ""
        self.providers = start_server(python_module_argv("fake_providers", *fp_args), timeout=s.start_timeout_s,
                                      env={"FAKE_PROVIDERS_ADMIN_KEY": admin, "FAKE_PROVIDERS_API_KEYS": ""})
        self.middleware = start_server(
            python_module_argv("fake_middleware", "--host", s.host, "--port", "0", "--admin-port", "0"),
            timeout=s.start_timeout_s,
            env={"FAKE_MIDDLEWARE_API_KEYS": s.middleware_api_key, "FAKE_MIDDLEWARE_ADMIN_KEY": admin},
        )
        self.start_exporter()
        if s.with_gateway:
            self.start_gateway()

    def _write_config(self, name: str, config: dict[str, Any]) -> str:
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return str(path)

    def start_gateway(self, port: int = 0) -> ServerProcess:
        assert self.providers is not None
        env = {**gateway_env(self.settings, self.providers.url, self.nats_url, self.settings.host),
               **self.settings.gateway_env}
        if port:
            env["gateway_port"] = str(port)
        path = self.settings.gateway_config or default_gateway_config_path()
        with self._lock:
            self.gateway = start_server(
                [sys.executable, "-m", "testbed", "gateway", "--config", path],
                timeout=self.settings.start_timeout_s,
                env=env,
            )
            self._watch("gateway", self.gateway)
            return self.gateway

    def start_exporter(self, port: int = 0) -> ServerProcess:
        assert self.middleware is not None
        config = exporter_config(self.settings, self.middleware.url, self.nats_url, self.settings.host)
        if port and isinstance(config.get("metrics"), dict):
            config["metrics"]["port"] = port
        with self._lock:
            path = self._write_config("exporter", config)
            self.exporter = start_server(
                [sys.executable, "-m", "testbed", "exporter", "--config", path], timeout=self.settings.start_timeout_s
            )
            self._watch("exporter", self.exporter)
            return self.exporter

    def _watch(self, part: str, proc: ServerProcess) -> None:
        if self.supervisor is not None:
            self.supervisor.watch(part, proc)

    def restart_part(self, part: str, dead: ServerProcess) -> ServerProcess:
        """Start ``part`` again in place of ``dead``, on its port when that is free (the supervisor's
        restart). A replacement someone else already started is kept."""
        with self._lock:
            if self._stopping:
                raise ProcessStartError("the stack is stopping")
            current: ServerProcess | None = getattr(self, part)
            if current is not None and current is not dead and current.alive():
                return current
            start = self.start_exporter if part == "exporter" else self.start_gateway
            try:
                return start(urlsplit(dead.url).port or 0)
            except ProcessStartError:
                return start(0)  # the old port was taken meanwhile; a new URL beats no part at all

    def pids(self) -> dict[str, int]:
        """Process ids of the running parts (``kill -9`` one to see the supervisor at work)."""
        parts = {"gateway": self.gateway, "exporter": self.exporter, "providers": self.providers,
                 "middleware": self.middleware}
        return {name: proc.pid for name, proc in parts.items() if proc is not None}

    def admin_headers(self) -> dict[str, str]:
        """Headers for the fakes' admin routes: the admin key when it is on, else none."""
        return {ADMIN_HEADER: self.admin_key} if self.admin_key else {}

    @property
    def middleware_admin_url(self) -> str:
        """The ingest's admin listener, which stays up while a ``down`` fault closes the ingest port."""
        assert self.middleware is not None
        return str(self.middleware.ready.get("admin_url") or self.middleware.url)

    def ready_line(self) -> dict[str, Any]:
        """The stack's ready object (``testbed up`` prints it as one JSON line)."""
        parts = {"gateway": self.gateway, "providers": self.providers, "middleware": self.middleware,
                 "exporter": self.exporter}
        ready: dict[str, Any] = {"event": "ready", "service": "stack"}
        for name, proc in parts.items():
            if proc is not None:
                ready[name] = proc.url
        if self.gateway is not None:
            ready["openai_base_url"] = f"{self.gateway.url}/v1"  # what an OpenAI SDK takes as base_url
        ready["gateway_api_key"] = self.settings.gateway_api_key
        ready["middleware_api_key"] = self.settings.middleware_api_key
        if self.admin_key:
            ready["admin_key"] = self.admin_key
        ready["nats"] = self.nats_url
        if self.middleware is not None:
            ready["middleware_admin"] = self.middleware_admin_url
        ready["metrics"] = {
            name: proc.ready.get("metrics", f"{proc.url}/metrics") for name, proc in parts.items() if proc is not None
        }
        if self.middleware is not None:
            ready["metrics"]["middleware"] = f"{self.middleware_admin_url}/metrics"
        ready["pids"] = self.pids()
        return ready

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.close()
        with self._lock:
            self._stopping = True
        for proc in (self.gateway, self.exporter, self.middleware, self.providers):
            if proc is not None:
                proc.stop()
        if self.nats is not None:
            self.nats.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
