"""A NATS JetStream cluster of real nats-server processes (from the wheel), routed to each other.

Each node is a :class:`NatsServer` with its own store directory, server name and route listener;
every node routes to all the others. Ready means more than "each process logged it is ready": the
cluster has elected a JetStream meta leader (every node's ``/jsz`` names the same one), and, once
the stream exists, its leader and every replica are current (``stream info``). Both are conditions
waited on with a deadline (``testbed.waiting``), never sleeps.

A node can be SIGKILLed and started again on the same ports and store, which is what the
``cluster-node-killed`` scenario does: JetStream replicas keep the stream while one node is away.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testbed.bus.client import BusSettings, connect, ensure_stream
from testbed.bus.server import NatsServer
from testbed.errors import WaitTimeout
from testbed.priority import Background
from testbed.waiting import wait_until, wait_until_async


def free_port(host: str) -> int:
    """A port free right now; routes must name each node's cluster port before any node starts."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def meta_leader(node: NatsServer, timeout_s: float = 1.0) -> str | None:
    """The JetStream meta leader this node knows of (its ``/jsz`` page), or None."""
    try:
        with urllib.request.urlopen(f"{node.monitor_url}/jsz", timeout=timeout_s) as resp:  # noqa: S310 - loopback
            doc: dict[str, Any] = json.loads(resp.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None
    leader = (doc.get("meta_cluster") or {}).get("leader")
    return str(leader) if leader else None


def replicas_current(info: Any, size: int) -> bool:
    """True when the stream has a leader and ``size - 1`` replicas, all current and online (pure)."""
    cluster = getattr(info, "cluster", None)
    if cluster is None or not cluster.leader:
        return False
    peers = cluster.replicas or []
    return len(peers) == size - 1 and all(p.current and not p.offline for p in peers)


@dataclass
class NatsCluster:
    """``size`` routed nats-server nodes with JetStream; ``start()`` waits for a meta leader."""

    workdir: Path
    size: int = 3
    host: str = "127.0.0.1"
    name: str = "testbed"
    background: Background = "none"
    """How every node runs (``testbed.priority.lowered``)."""
    nodes: list[NatsServer] = field(default_factory=list)

    @property
    def urls(self) -> str:
        """Every node's client URL, comma-separated (``testbed.bus.connect`` takes the list)."""
        return ",".join(node.url for node in self.nodes)

    def node_url(self, index: int) -> str:
        """One node's URL: gateway ``i`` connects to node ``i % size`` and learns the others from it."""
        return self.nodes[index % len(self.nodes)].url

    def start(self, timeout: float = 30.0) -> str:
        if not self.nodes:
            ports = [free_port(self.host) for _ in range(self.size)]
            for i, port in enumerate(ports):
                routes = tuple(f"nats://{self.host}:{p}" for j, p in enumerate(ports) if j != i)
                self.nodes.append(NatsServer(
                    host=self.host, store_dir=str(self.workdir / f"node-{i + 1}"), name=f"{self.name}-n{i + 1}",
                    cluster_name=self.name, cluster_port=port, routes=routes, monitor=True, background=self.background))
        for node in self.nodes:
            node.start(timeout)
        self.wait_meta_leader(timeout)
        return self.urls

    def wait_meta_leader(self, timeout: float = 30.0) -> str:
        """Wait until every running node names the same JetStream meta leader; return its name."""
        def agreed() -> str | None:
            leaders = {meta_leader(node) for node in self.nodes if node.running()}
            return leaders.pop() if len(leaders) == 1 and None not in leaders else None
        return wait_until(agreed, timeout, what="a JetStream meta leader agreed by every node")

    def restart_node(self, index: int, timeout: float = 30.0) -> None:
        """Start a stopped or killed node again (same ports, same store) and wait for the meta leader."""
        self.nodes[index].start(timeout)
        self.wait_meta_leader(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def pids(self) -> dict[str, int]:
        return {f"nats-{i + 1}": pid for i, node in enumerate(self.nodes) if (pid := node.pid) is not None}


async def ensure_replicated_stream(urls: str, settings: BusSettings, timeout: float = 30.0) -> Any:
    """Create (or reshape) the stream with ``settings.replicas`` and wait until every replica is current.

    Returns the last stream info, whose ``cluster`` shows the leader and the current replicas.
    """
    nc = await connect(urls, "testbed-cluster-setup", allow_reconnect_forever=False)
    try:
        js = nc.jetstream()

        async def created() -> bool:
            try:
                await ensure_stream(js, settings)
            except Exception:  # noqa: BLE001 - JetStream answers 503 until the stream's group forms
                return False
            return True

        await wait_until_async(created, timeout, what=f"stream {settings.stream} created")
        last: list[Any] = []

        async def current() -> bool:
            try:
                info = await js.stream_info(settings.stream)
            except Exception:  # noqa: BLE001 - a leader election in progress; ask again
                return False
            last[:] = [info]
            return replicas_current(info, settings.replicas)

        try:
            await wait_until_async(current, timeout, what=f"{settings.replicas} current replicas of {settings.stream}")
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}; last cluster info: {getattr(last[0], 'cluster', None) if last else None}") from None
        return last[0]
    finally:
        await nc.close()
