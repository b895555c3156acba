"""The JetStream cluster stack: three real nats-server nodes from the wheel, routed, with the stream
replicated on every node.

The pure readiness rule (leader plus every replica current) is tested on stream-info shapes; then a
real three-node cluster is started through ``NatsCluster`` (the code ``Stack`` and ``testbed up``
use) and its stream info must show three current replicas, also after one node is SIGKILLed and
started again, with every message published meanwhile still in the stream. The last test starts
the whole stack with ``nats_cluster=3``, two gateways and two exporters and proves that requests
through both gateways reach the ingest as spans.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import nats.errors
import openai
import pytest
import requests

from testbed.bus import BusSettings, NatsCluster, connect, ensure_replicated_stream
from testbed.bus.cluster import replicas_current
from testbed.runner.stack import Stack, StackSettings, parse_part, part_name
from testbed.waiting import wait_until_async


def _info(leader: str | None, *peers: tuple[bool, bool | None]) -> SimpleNamespace:
    replicas = [SimpleNamespace(name=f"n{i}", current=c, offline=o) for i, (c, o) in enumerate(peers)]
    return SimpleNamespace(cluster=SimpleNamespace(leader=leader, replicas=replicas))


@pytest.mark.parametrize(("info", "expected"), [
    pytest.param(_info("n0", (True, None), (True, None)), True, id="leader-and-two-current"),
    pytest.param(_info(None, (True, None), (True, None)), False, id="no-leader-yet"),
    pytest.param(_info("n0", (True, None), (False, None)), False, id="one-replica-catching-up"),
    pytest.param(_info("n0", (True, None), (True, True)), False, id="one-replica-offline"),
    pytest.param(_info("n0", (True, None)), False, id="only-two-of-three-peers"),
    pytest.param(SimpleNamespace(cluster=None), False, id="single-server-stream"),
])
def test_a_stream_is_replicated_only_with_a_leader_and_every_replica_current(info: object, expected: bool) -> None:
    assert replicas_current(info, 3) is expected


@pytest.mark.parametrize(("kind", "index", "name"), [("gateway", 0, "gateway"), ("gateway", 1, "gateway-2"),
                                                     ("exporter", 2, "exporter-3")])
def test_part_names_round_trip_so_the_supervisor_restarts_the_right_instance(kind: str, index: int, name: str) -> None:
    assert part_name(kind, index) == name
    assert parse_part(name) == (kind, index)


def test_an_unknown_part_name_is_refused() -> None:
    with pytest.raises(ValueError, match="nats"):
        parse_part("nats")


async def _publish(urls: str, settings: BusSettings, count: int, prefix: str) -> None:
    nc = await connect(urls, "test-publisher", allow_reconnect_forever=False)
    try:
        js = nc.jetstream()
        for i in range(count):
            async def published(msg_id: str = f"{prefix}-{i}") -> bool:
                # As the gateway's publisher does: retry under the same Msg-Id while the stream elects
                # a new leader (no responders meanwhile); de-duplication makes the retry safe.
                try:
                    await js.publish(settings.subject, b"{}", headers={"Nats-Msg-Id": msg_id}, timeout=2)
                except (nats.errors.Error, asyncio.TimeoutError):
                    return False
                return True
            await wait_until_async(published, 30, what=f"publish {prefix}-{i}")
    finally:
        await nc.close()


async def _stream_info(urls: str, settings: BusSettings) -> object:
    nc = await connect(urls, "test-inspect", allow_reconnect_forever=False)
    try:
        return await nc.jetstream().stream_info(settings.stream)
    finally:
        await nc.close()


def test_a_three_node_cluster_keeps_three_current_replicas_through_a_node_kill(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path, size=3)
    try:
        cluster.start()
        settings = BusSettings(url=cluster.urls, replicas=3)
        info = asyncio.run(ensure_replicated_stream(cluster.urls, settings))
        assert info.config.num_replicas == 3
        assert info.cluster.leader and len(info.cluster.replicas) == 2
        assert all(peer.current for peer in info.cluster.replicas)
        asyncio.run(_publish(cluster.urls, settings, 20, "before"))

        cluster.nodes[0].kill()
        survivors = ",".join(node.url for node in cluster.nodes[1:])
        asyncio.run(_publish(survivors, settings, 20, "while-down"))
        cluster.restart_node(0)
        info = asyncio.run(ensure_replicated_stream(cluster.urls, settings))
        assert replicas_current(info, 3)
        assert asyncio.run(_stream_info(cluster.urls, settings)).state.messages == 40
    finally:
        cluster.stop()


def test_the_stack_runs_two_gateways_and_two_exporters_on_a_three_node_cluster() -> None:
    stack = Stack.start(StackSettings(nats_cluster=3, gateways=2, exporters=2), log=None)
    try:
        assert stack.cluster is not None and len(stack.cluster.nodes) == 3
        info = asyncio.run(_stream_info(stack.nats_url, BusSettings()))
        assert replicas_current(info, 3)
        urls = {stack.next_gateway_url() for _ in range(4)}
        assert len(urls) == 2  # round-robin reaches both gateways
        for url in urls:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=stack.settings.gateway_api_key, max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        body = requests.get(f"{stack.middleware_admin_url}/api/v1/spans", headers=stack.admin_headers(),
                            params={"limit": 100, "wait_count": 4, "wait_timeout_s": 30}, timeout=60).json()
        assert len(body["spans"]) == 4
        assert set(stack.pids()) >= {"gateway", "gateway-2", "exporter", "exporter-2", "nats-1", "nats-2", "nats-3"}
    finally:
        stack.stop()
