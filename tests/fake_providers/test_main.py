"""``python -m fake_providers``: the ready line, start-up options, clean shutdown on SIGTERM even with
a request hanging, and a disconnect noticed without aiohttp's handler cancellation."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed.process import python_module_argv, start_server
from testbed.waiting import wait_until
from tests.fake_providers.helpers import FakeServer, http

pytestmark = pytest.mark.e2e

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def raw_request(url: str, headers: dict[str, str]) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    body = json.dumps(CHAT).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Length": str(len(body))}.items())
    sock.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body)
    return sock


def test_the_ready_line_names_the_service_and_sigterm_stops_it_cleanly_mid_hang(tmp_path: Path) -> None:
    rules = tmp_path / "behaviours.yaml"
    rules.write_text("behaviours:\n  - {name: slow, model: 'gpt-*', hang: {hold_ms: 0}}\n")
    proc = start_server(python_module_argv("fake_providers", "--port", "0", "--behaviours", str(rules)))
    try:
        assert proc.ready["service"] == "fake-providers" and proc.url.startswith("http://127.0.0.1:")
        assert http("GET", f"{proc.url}/_fake/behaviours").json()["behaviours"][0]["name"] == "slow"
        sock = raw_request(proc.url, {"Authorization": "Bearer k"})
        wait_until(lambda: http("GET", f"{proc.url}/_fake/journal").json()["entries"], 5, what="request journalled")
        start = time.monotonic()
        proc.signal(signal.SIGTERM)
        assert proc.popen.wait(10) == 0
        assert time.monotonic() - start < 5
        sock.close()
    finally:
        proc.kill()


def test_api_keys_from_the_command_line_are_enforced() -> None:
    proc = start_server(python_module_argv("fake_providers", "--api-key", "k1", "--api-key", "k2"))
    try:
        url = f"{proc.url}/v1/chat/completions"
        assert http("POST", url, CHAT, {"Authorization": "Bearer k2"}).status == 200
        assert http("POST", url, CHAT, {"Authorization": "Bearer k3"}).status == 401
    finally:
        assert proc.stop() == 0


def test_an_invalid_behaviours_file_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("behaviours:\n  - {model: x, latency_ms: -1}\n")
    done = subprocess.run(
        [sys.executable, "-m", "fake_providers", "--behaviours", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "behaviours[0].latency_ms" in done.stderr


def test_a_client_leaving_a_hang_is_noticed_without_handler_cancellation(fake: FakeServer) -> None:
    sock = raw_request(fake.url, {"Authorization": "Bearer k", "x-fake-hang-hold-ms": "0"})
    wait_until(fake.journal, 5, what="request journalled")
    sock.close()
    entry = wait_until(lambda: [e for e in fake.journal() if e["done"]], 5, what="hang to end")[0]
    assert entry["response"]["outcome"] == "client_disconnected"
