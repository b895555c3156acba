"""Fault adapters for the timeline, one per target (I/O; see ``timeline.py`` for the semantics).

Process operations (stopping NATS, killing the exporter, restarting the gateway) block on ready
lines, so they run in a worker thread and never stall the load's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from testbed.runner.gateways import GatewayUnderTest
from testbed.runner.scenario import Fault
from testbed.runner.timeline import FaultAdapter, ProviderRules, ingest_fault_body, provider_rule
from testbed.waiting import wait_until_async

_TIMEOUT = aiohttp.ClientTimeout(total=10)


class IngestFaults:
    def __init__(self, session: aiohttp.ClientSession, admin_url: str) -> None:
        self.session = session
        self.url = admin_url

    async def apply(self, fault: Fault) -> None:
        async with self.session.post(f"{self.url}/_faults", json=ingest_fault_body(fault), timeout=_TIMEOUT) as r:
            if r.status >= 300:
                raise RuntimeError(f"ingest refused fault {fault.name}: {r.status} {await r.text()}")

    async def _admin(self, method: str, path: str) -> bool:
        # While ``down`` is active the admin listener is closed too; it reopens on its own.
        try:
            async with self.session.request(method, f"{self.url}{path}", timeout=_TIMEOUT) as r:
                return r.status < 300 or r.status == 404
        except aiohttp.ClientError:
            return False

    async def clear(self, fault: Fault) -> None:
        await wait_until_async(lambda: self._admin("DELETE", f"/_faults/{fault.name}"), 30,
                               what=f"ingest fault {fault.name} cleared")

    async def reset(self) -> None:
        await wait_until_async(lambda: self._admin("POST", "/_faults/reset"), 30, what="ingest faults reset")


class ProviderFaults:
    def __init__(self, session: aiohttp.ClientSession, providers_url: str, rules: ProviderRules) -> None:
        self.session = session
        self.url = providers_url
        self.rules = rules

    async def push(self) -> None:
        async with self.session.put(f"{self.url}/_fake/behaviours", json=self.rules.rules(), timeout=_TIMEOUT) as r:
            if r.status >= 300:
                raise RuntimeError(f"fake providers refused the behaviours: {r.status} {await r.text()}")

    async def apply(self, fault: Fault) -> None:
        self.rules.active[fault.name] = provider_rule(fault)
        await self.push()

    async def clear(self, fault: Fault) -> None:
        if self.rules.active.pop(fault.name, None) is not None:
            await self.push()


class BusFaults:
    def __init__(self, stack: Any) -> None:
        self.stack = stack

    async def apply(self, fault: Fault) -> None:
        if "node" in fault.params:
            await asyncio.to_thread(self._node_down, fault)
            return
        if self.stack.nats is None:
            raise RuntimeError("the bus is external; bus_down needs the embedded nats-server")
        await asyncio.to_thread(self.stack.nats.stop)

    def _node_down(self, fault: Fault) -> None:
        cluster = self.stack.cluster
        if cluster is None or int(fault.params["node"]) >= len(cluster.nodes):
            raise RuntimeError(f"bus_down node {fault.params['node']} needs a NATS cluster with that node")
        node = cluster.nodes[int(fault.params["node"])]
        node.stop() if fault.params.get("signal") == "TERM" else node.kill()

    async def clear(self, fault: Fault) -> None:
        if "node" in fault.params and self.stack.cluster is not None:
            index = int(fault.params["node"])
            if index < len(self.stack.cluster.nodes) and not self.stack.cluster.nodes[index].running():
                await asyncio.to_thread(self.stack.cluster.restart_node, index)
            return
        if self.stack.nats is not None and not self.stack.nats.running():
            await asyncio.to_thread(self.stack.nats.start)


class ExporterFaults:
    def __init__(self, stack: Any) -> None:
        self.stack = stack

    async def apply(self, fault: Fault) -> None:
        if fault.params.get("rolling"):
            await asyncio.to_thread(self._rolling, fault)
            return
        proc = self.stack.exporter
        if proc is None:
            return
        # Killed through its process object, so the stack's supervisor leaves it down until clear().
        reason = f"fault {fault.name} ({fault.kind})"
        if fault.params.get("signal") == "TERM":
            await asyncio.to_thread(proc.stop, reason=reason)
        else:
            await asyncio.to_thread(proc.kill, reason=reason)

    def _rolling(self, fault: Fault) -> None:
        """One exporter at a time: stop it, start it again on its port, and only then the next."""
        reason = f"fault {fault.name} (rolling restart)"
        for index, proc in enumerate(list(self.stack.exporters)):
            if proc is not None:
                proc.kill(reason=reason) if fault.params.get("signal") == "KILL" else proc.stop(reason=reason)
            self.stack.start_exporter(urlsplit(proc.url).port or 0 if proc is not None else 0, index=index)

    async def clear(self, fault: Fault) -> None:
        await asyncio.to_thread(self.stack.heal_exporters)


class GatewayFaults:
    def __init__(self, gut: GatewayUnderTest) -> None:
        self.gut = gut

    async def apply(self, fault: Fault) -> None:
        await asyncio.to_thread(self.gut.restart, str(fault.params.get("signal", "TERM")))

    async def clear(self, fault: Fault) -> None:
        return None


def adapters(session: aiohttp.ClientSession, stack: Any, gut: GatewayUnderTest, admin_url: str,
             rules: ProviderRules) -> dict[str, FaultAdapter]:
    assert stack.providers is not None
    return {
        "ingest": IngestFaults(session, admin_url),
        "provider": ProviderFaults(session, stack.providers.url, rules),
        "bus": BusFaults(stack), "exporter": ExporterFaults(stack), "gateway": GatewayFaults(gut),
    }
