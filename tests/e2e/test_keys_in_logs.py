"""Keys never reach a log, an error body or a process list, and the fakes' admin key works end to end.

The whole stack runs as real processes with its admin key on. Requests whose auth header the
HTTP parser refuses (a key followed by ``\\x01``, a ``User-Agent`` with ``\\xff`` next to a key)
and requests with wrong keys go to the gateway, the fake providers and the ingest; afterwards the
stdout and stderr of every process are searched for every key, and so is every process's command
line. The 400 bodies are searched too. The admin routes refuse a request without the admin key and
serve the stack's own helpers, which send it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import requests

from testbed.admin_key import ADMIN_HEADER
from testbed.runner.stack import Stack, StackSettings
from tests.client_errors import raw_exchange
from tests.e2e.helpers import StackClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN_KEY = "adm-e2e-key-5f1d0c2b9a"


@pytest.fixture(scope="module")
def stack_settings() -> StackSettings:
    return StackSettings(admin_key=ADMIN_KEY)


def secrets_of(stack: Stack) -> list[str]:
    s = stack.settings
    return [s.gateway_api_key, s.provider_api_key, s.middleware_api_key, ADMIN_KEY]


def malformed(path: str, header: bytes) -> list[bytes]:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
    tail = b"Content-Length: 2\r\n\r\n{}"
    return [head + header + b"\x01\r\n" + tail,
            head + b"User-Agent: x\xff\r\n" + header + b"\r\n" + tail,
            head + header + b"\r\nX-Big: " + b"a" * 100_000 + b"\r\n" + tail]


def test_no_key_appears_in_any_log_error_body_or_command_line(client: StackClient) -> None:
    stack = client.stack
    s = stack.settings
    assert stack.gateway and stack.providers and stack.middleware and stack.exporter
    targets = [(stack.gateway.url, "/v1/chat/completions", f"Authorization: Bearer {s.gateway_api_key}"),
               (stack.providers.url, "/v1/chat/completions", f"Authorization: Bearer {s.provider_api_key}"),
               (stack.providers.url, "/_fake/journal", f"{ADMIN_HEADER}: {ADMIN_KEY}"),
               (stack.middleware.url, "/v1/traces", f"Authorization: {s.middleware_api_key}"),
               (stack.middleware.url, "/api/v1/stats", f"{ADMIN_HEADER}: {ADMIN_KEY}")]
    bodies: list[bytes] = []
    for url, path, header in targets:
        for payload in malformed(path, header.encode()):
            reply = asyncio.run(raw_exchange(url, payload))
            assert 0 < reply.status < 500, (url, path, reply.status)
            bodies.append(reply.body)
        requests.post(f"{url}{path}", data=b"{}", headers={"Authorization": "Bearer wrong-" + s.gateway_api_key},
                      timeout=10)
    for body in bodies:
        assert not [k for k in secrets_of(stack) if k.encode() in body]
    for proc in (stack.gateway, stack.exporter, stack.providers, stack.middleware):
        logs = proc.stderr_text() + "".join(proc.lines)
        leaked = [k for k in secrets_of(stack) if k in logs]
        assert not leaked, f"{proc.argv[2:4]} logged a key"
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode("utf-8", "replace")
        assert not [k for k in secrets_of(stack) if k in cmdline], f"{proc.argv[2:4]} has a key on its command line"


def test_the_parser_refusals_were_logged_by_type(client: StackClient) -> None:
    """The positive control of the search above: the refusals do reach the logs, without their bytes."""
    stack = client.stack
    assert stack.gateway is not None
    asyncio.run(raw_exchange(stack.gateway.url, malformed("/v1/chat/completions", b"Authorization: Bearer k")[0]))
    assert "refused a request" in stack.gateway.stderr_text()


def test_admin_routes_need_the_admin_key_when_it_is_on(client: StackClient) -> None:
    stack = client.stack
    assert stack.providers is not None
    assert requests.get(f"{stack.providers.url}/_fake/journal", timeout=10).status_code == 401
    assert requests.get(f"{client.middleware}/api/v1/stats", timeout=10).status_code == 401
    assert requests.post(f"{client.middleware}/_faults/reset", timeout=10).status_code == 401
    assert requests.get(f"{client.middleware}/metrics", timeout=10).status_code == 200
    assert client.http.get(f"{client.middleware}/api/v1/stats", timeout=10).status_code == 200
    assert stack.ready_line()["admin_key"] == ADMIN_KEY


def test_a_stack_on_a_non_loopback_address_turns_the_admin_key_on() -> None:
    assert Stack.admin_key_for(StackSettings(host="0.0.0.0"))
    assert Stack.admin_key_for(StackSettings(host="127.0.0.1")) is None
    assert Stack.admin_key_for(StackSettings(host="::1")) is None
    assert Stack.admin_key_for(StackSettings(host="127.0.0.1", admin_key="given")) == "given"
