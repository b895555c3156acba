"""The whole stack as real processes: NATS, fake providers, fake Middleware, gateway, exporter.

Data flows client -> gateway -> fake provider, and gateway -> NATS -> exporter -> fake Middleware.
Each part is a child process started on port 0 and awaited on its ready line; ``stop()`` tears
them down in reverse order (the exporter gets SIGTERM so it drains). Parts can be stopped, killed
and restarted one by one, which is what the chaos timeline does.

The exporter and the gateway are supervised (``supervisor.py``): one that dies without being asked
to is started again on the same port, so every URL in the ready line stays valid; one stopped or
killed through its ``ServerProcess`` (a fault, a restart) is left to whoever stopped it.

Scale-out: ``nats_cluster: 3`` starts a routed three-node JetStream cluster (``testbed.bus.cluster``)
and a stream with one replica per node, ready only once the meta leader is agreed and every replica
is current; ``gateways: N`` starts N gateways, gateway ``i`` connected to node ``i % 3``, and
``exporters: M`` starts M exporters sharing the one durable consumer (GW-10). Part names are
``gateway``, ``gateway-2``, ... and ``exporter``, ``exporter-2``, ...; ``gateway``/``exporter`` are
always the first of each.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
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
from testbed.bus import BusSettings, NatsCluster, NatsServer, ensure_replicated_stream
from testbed.errors import ProcessStartError
from testbed.priority import BACKGROUND, Background
from testbed.process import ServerProcess, python_module_argv, start_server
from testbed.runner.configs import default_gateway_config_path, exporter_config, gateway_env
from testbed.runner.supervisor import Log, Supervisor

HOST = "127.0.0.1"
NATS_URL_ENV = "TESTBED_NATS_URL"
"""An existing NATS with JetStream for ``testbed up`` and ``testbed run`` (comma-separated URLs of a
cluster's nodes); unset (the default) starts an embedded nats-server or cluster."""


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
    nats_cluster: int = 0
    """Nodes of an embedded JetStream cluster (3 for scale-out); 0 or 1 starts one nats-server."""
    gateways: int = 1
    """Reference gateway processes; the runner spreads requests over them round-robin."""
    exporters: int = 1
    """Exporter processes on the one durable consumer."""
    background: Background = BACKGROUND
    """How the parts a deployment runs on other machines than the gateway run here: exporters, the
    ingest and nats-server (``testbed.priority.lowered``); ``none`` lets them share the cores equally."""


_PART_RE = re.compile(r"^(gateway|exporter)(?:-(\d+))?$")


def without_credentials(urls: str) -> str:
    """NATS URLs with any ``user:password@`` or token masked, for a line that is printed."""
    return ",".join(re.sub(r"//[^/@]*@", "//***@", url) for url in urls.split(","))


def part_name(kind: str, index: int) -> str:
    """``gateway`` for the first, ``gateway-2`` for the second, ... (the supervisor's part names)."""
    return kind if index == 0 else f"{kind}-{index + 1}"


def parse_part(part: str) -> tuple[str, int]:
    match = _PART_RE.match(part)
    if match is None:
        raise ValueError(f"not a restartable part: {part!r}")
    return match.group(1), int(match.group(2) or 1) - 1


def log_to_stderr(event: dict[str, Any]) -> None:
    """The default supervisor log: one JSON line per event on stderr. An exit that was asked for
    (a stop, a fault's kill) is not news to whoever asked, so it is left to the results."""
    if event.get("event") == "child_exit" and event.get("restart") is False:
        return
    print(json.dumps(event), file=sys.stderr, flush=True)


@dataclass
class Stack:
    """A running stack; build with :meth:`start`, end with :meth:`stop` (idempotent)."""

    settings: StackSettings
    workdir: Path
    nats: NatsServer | None = None
    cluster: NatsCluster | None = None
    providers: ServerProcess | None = None
    middleware: ServerProcess | None = None
    gateway: ServerProcess | None = None
    exporter: ServerProcess | None = None
    gateways: list[ServerProcess | None] = field(default_factory=list)
    exporters: list[ServerProcess | None] = field(default_factory=list)
    supervisor: Supervisor | None = None
    admin_key: str | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _stopping: bool = False
    _round_robin: itertools.count[int] = field(default_factory=itertools.count, repr=False)

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
        if self.cluster is not None:
            return self.cluster.urls
        assert self.nats is not None
        return self.nats.url

    def _start_all(self) -> None:
        s = self.settings
        if s.nats_url is None and s.nats_cluster > 1:
            self._start_cluster()
        elif s.nats_url is None:
            self.nats = NatsServer(store_dir=str(self.workdir / "nats"), background=s.background)
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
            background=s.background,
        )
        for index in range(max(s.exporters, 1)):
            self.start_exporter(index=index)
        if s.with_gateway:
            for index in range(max(s.gateways, 1)):
                self.start_gateway(index=index)

    def _start_cluster(self) -> None:
        """Three routed nodes, then the stream with one replica per node, every replica current."""
        s = self.settings
        self.cluster = NatsCluster(self.workdir / "nats", size=s.nats_cluster, host=HOST, background=s.background)
        self.cluster.start(s.start_timeout_s)
        bus = BusSettings(url=self.cluster.urls, replicas=s.nats_cluster)
        asyncio.run(ensure_replicated_stream(self.cluster.urls, bus, s.start_timeout_s))

    def _gateway_nats_url(self, index: int) -> str:
        # Each gateway on its own node: the cluster, not one server, carries the publishes.
        return self.cluster.node_url(index) if self.cluster is not None else self.nats_url

    def next_gateway_url(self) -> str:
        """The next live gateway's URL, round-robin per request (the runner's load target)."""
        live = [g for g in self.gateways if g is not None]
        if not live:
            assert self.gateway is not None
            return self.gateway.url
        return live[next(self._round_robin) % len(live)].url

    def _set(self, kind: str, index: int, proc: ServerProcess) -> None:
        slots = self.gateways if kind == "gateway" else self.exporters
        slots.extend([None] * (index + 1 - len(slots)))
        slots[index] = proc
        if index == 0:
            setattr(self, kind, proc)

    def _write_config(self, name: str, config: dict[str, Any]) -> str:
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return str(path)

    def start_gateway(self, port: int = 0, index: int = 0) -> ServerProcess:
        assert self.providers is not None
        env = {**gateway_env(self.settings, self.providers.url, self._gateway_nats_url(index), self.settings.host),
               **self.settings.gateway_env}
        if port:
            env["gateway_port"] = str(port)
        path = self.settings.gateway_config or default_gateway_config_path()
        with self._lock:
            proc = start_server(
                [sys.executable, "-m", "testbed", "gateway", "--config", path],
                timeout=self.settings.start_timeout_s,
                env=env,
            )
            self._set("gateway", index, proc)
            self._watch(part_name("gateway", index), proc)
            return proc

    def start_exporter(self, port: int = 0, index: int = 0) -> ServerProcess:
        assert self.middleware is not None
        config = exporter_config(self.settings, self.middleware.url, self.nats_url, self.settings.host)
        if port and isinstance(config.get("metrics"), dict):
            config["metrics"]["port"] = port
        if self.cluster is not None:
            # The exporter reshapes the stream to its own settings (ensure_stream): keep every replica.
            config["bus"] = {**config.get("bus", {}), "replicas": self.cluster.size}
        path = self._write_config(part_name("exporter", index), config)
        # Not under the lock while it starts: several exporters may start at once (a scale-out).
        proc = start_server(
            [sys.executable, "-m", "testbed", "exporter", "--config", path], timeout=self.settings.start_timeout_s,
            background=self.settings.background,
        )
        with self._lock:
            self._set("exporter", index, proc)
            self._watch(part_name("exporter", index), proc)
            return proc

    def heal_processes(self) -> None:
        """After a scenario: every cluster node and every exporter that a fault left down runs again."""
        if self.cluster is not None:
            for index, node in enumerate(self.cluster.nodes):
                if not node.running():
                    self.cluster.restart_node(index, self.settings.start_timeout_s)
        self.heal_exporters()

    def heal_exporters(self) -> None:
        """Start again every exporter that is not running (the end of an exporter fault)."""
        for index in range(max(self.settings.exporters, 1)):
            proc = self.exporters[index] if index < len(self.exporters) else None
            if proc is None or not proc.alive():
                self.start_exporter(index=index)

    def _watch(self, part: str, proc: ServerProcess) -> None:
        if self.supervisor is not None:
            self.supervisor.watch(part, proc)

    def restart_part(self, part: str, dead: ServerProcess) -> ServerProcess:
        """Start ``part`` again in place of ``dead``, on its port when that is free (the supervisor's
        restart). A replacement someone else already started is kept."""
        with self._lock:
            if self._stopping:
                raise ProcessStartError("the stack is stopping")
            kind, index = parse_part(part)
            slots = self.gateways if kind == "gateway" else self.exporters
            current = slots[index] if index < len(slots) else None
            if current is not None and current is not dead and current.alive():
                return current
            start = self.start_exporter if kind == "exporter" else self.start_gateway
            try:
                return start(urlsplit(dead.url).port or 0, index=index)
            except ProcessStartError:
                return start(0, index=index)  # the old port was taken meanwhile; a new URL beats no part at all

    def pids(self) -> dict[str, int]:
        """Process ids of the running parts (``kill -9`` one to see the supervisor at work)."""
        pids = {name: proc.pid for name, proc in self.parts().items()}
        if self.cluster is not None:
            pids.update(self.cluster.pids())  # nats-1.. : SIGKILL one to see the cluster keep the stream
        return pids

    def parts(self) -> dict[str, ServerProcess]:
        """Every running child by part name: gateways, providers, middleware, exporters."""
        out: dict[str, ServerProcess] = {}
        for kind, slots in (("gateway", self.gateways), ("exporter", self.exporters)):
            out.update({part_name(kind, i): p for i, p in enumerate(slots) if p is not None})
        out.update({name: p for name, p in (("providers", self.providers), ("middleware", self.middleware)) if p})
        return out

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
        parts = self.parts()
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
        ready["nats"] = without_credentials(self.nats_url)
        if self.cluster is not None:
            ready["nats_cluster"] = [node.url for node in self.cluster.nodes]
        if len(self.gateways) > 1:
            ready["gateways"] = [g.url for g in self.gateways if g is not None]
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
        for proc in (*self.gateways, *self.exporters, self.middleware, self.providers):
            if proc is not None:
                proc.stop()
        if self.nats is not None:
            self.nats.stop()
        if self.cluster is not None:
            self.cluster.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
