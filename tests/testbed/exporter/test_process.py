"""The exporter as its own process (``testbed exporter --config FILE``): the ready line,
``/metrics``, a clean exit on SIGTERM, a clear configuration error for grpc, and SIGKILL mid-export
losing nothing once another exporter takes over (EXP-05, GW-10)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import aiohttp
import pytest
import yaml

from testbed.bus import NatsServer
from testbed.exporter.service import ExporterService
from testbed.process import python_module_argv, start_server

from tests.testbed.exporter.events import event
from tests.testbed.exporter.receiver import Receiver
from tests.testbed.exporter.test_service import (
    consumer_state,
    expected_keys,
    make_config,
    publish,
    start_receiver,
    wait_all_settled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def write_config(tmp_path: Path, nats: NatsServer, names: dict[str, str], endpoint: str, ack_wait_s: float) -> str:
    config = {
        "bus": {"url": nats.url, **names, "ack_wait_s": ack_wait_s, "fetch_wait_s": 0.2},
        "otlp": {"endpoint": endpoint, "api_key": "mw-proc-key"},
        "batch": {"schedule_delay_ms": 50},
        "metrics": {"host": "127.0.0.1", "port": 0},
    }
    path = tmp_path / "exporter.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"stream": f"P_{tag}", "subject": f"proc.{tag}.events", "durable": f"exp-{tag}"}


async def test_ready_line_metrics_and_clean_exit_on_sigterm(nats_server: NatsServer, tmp_path: Path) -> None:
    receiver = Receiver()
    server = await start_receiver(receiver)
    bus = names()
    path = write_config(tmp_path, nats_server, bus, str(server.make_url("/v1/traces")), 30)
    proc = await asyncio.to_thread(start_server, python_module_argv("testbed", "exporter", "--config", path))
    try:
        assert proc.ready["service"] == "exporter"
        assert proc.ready["metrics"] == proc.ready["url"] + "/metrics"
        events = [event() for _ in range(5)]
        await publish(nats_server, bus, events)
        await receiver.wait_for(lambda r: set(r.accepted_keys()) >= expected_keys(events))
        async with aiohttp.ClientSession() as session:
            async with session.get(proc.ready["metrics"]) as response:
                text = await response.text()
        assert "testbed_exporter_events_consumed_total 5.0" in text
        assert "mw-proc-key" not in text
    finally:
        status = await asyncio.to_thread(proc.stop)
        await server.close()
    assert status == 0
    assert "mw-proc-key" not in proc.stderr_text()


def test_grpc_protocol_is_refused_at_start_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("otlp:\n  protocol: grpc\n", encoding="utf-8")
    done = subprocess.run(python_module_argv("testbed", "exporter", "--config", str(path)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "grpc" in done.stderr and "otlp.protocol" in done.stderr


async def test_sigkill_mid_export_loses_nothing_once_another_exporter_runs(nats_server: NatsServer, tmp_path: Path) -> None:
    stuck = Receiver()
    stuck.hold = asyncio.Event()
    stuck_server = await start_receiver(stuck)
    bus = names()
    events = [event() for _ in range(10)]
    await publish(nats_server, bus, events)
    path = write_config(tmp_path, nats_server, bus, str(stuck_server.make_url("/v1/traces")), 2)
    proc = await asyncio.to_thread(start_server, python_module_argv("testbed", "exporter", "--config", path))
    try:
        await stuck.wait_for(lambda r: r.arrivals >= 1)
        assert (await consumer_state(nats_server, bus))[1] > 0
    finally:
        proc.kill()
    receiver = Receiver()
    server = await start_receiver(receiver)
    service = ExporterService(make_config(nats_server, bus, str(server.make_url("/v1/traces")), bus={"ack_wait_s": 2}))
    await service.start()
    try:
        await receiver.wait_for(lambda r: set(r.accepted_keys()) >= expected_keys(events), timeout=30.0)
        await wait_all_settled(nats_server, bus, timeout=30.0)
    finally:
        await service.stop(drain_timeout_s=1.0)
        stuck.hold.set()
        await stuck_server.close()
        await server.close()


def test_an_unreachable_bus_fails_the_start_with_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "nobus.yaml"
    path.write_text(f"bus:\n  url: nats://127.0.0.1:{port}\n  connect_timeout_s: 1\n", encoding="utf-8")
    done = subprocess.run(python_module_argv("testbed", "exporter", "--config", str(path)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "cannot reach the bus" in done.stderr and "Traceback" not in done.stderr
