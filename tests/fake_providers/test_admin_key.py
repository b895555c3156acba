"""The fake providers' admin key (testbed.admin_key): with one set, every ``/_fake/*`` route needs
it in ``X-Admin-Key`` and the provider routes and ``/metrics`` are unchanged; without one ``/_fake``
is open. Keys come from ``FAKE_PROVIDERS_API_KEYS`` / ``FAKE_PROVIDERS_ADMIN_KEY`` or key files,
so none is on the process's command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fake_providers import FakeProviderSettings
from testbed.admin_key import ADMIN_HEADER
from testbed.process import python_module_argv, start_server
from tests.fake_providers.conftest import ClientFactory
from tests.fake_providers.helpers import http

ADMIN = "adm-providers-0123456789"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
ROUTES = [("GET", "/_fake/behaviours"), ("GET", "/_fake/journal"), ("POST", "/_fake/reset"), ("GET", "/_fake/errors"),
          ("DELETE", "/_fake/journal")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_with_an_admin_key_every_fake_route_needs_it(make_client: ClientFactory, method: str, path: str) -> None:
    client = await make_client(FakeProviderSettings(admin_key=ADMIN))
    refused = await client.request(method, path)
    assert refused.status == 401 and "message" in (await refused.json())["error"]
    assert (await client.request(method, path, headers={ADMIN_HEADER: "nope"})).status == 401
    assert (await client.request(method, path, headers={ADMIN_HEADER: ADMIN})).status == 200
    assert (await client.get("/metrics")).status == 200
    chat = await client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": "Bearer k"})
    assert chat.status == 200


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_an_admin_key_the_fake_routes_are_open(client: Any, method: str, path: str) -> None:
    assert (await client.request(method, path)).status == 200


@pytest.mark.e2e
def test_keys_from_the_environment_or_files_are_enforced_and_stay_off_the_command_line(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("file-key-0123456789\n")
    admin = tmp_path / "admin"
    admin.write_text(ADMIN + "\n")
    procs = [start_server(python_module_argv("fake_providers", "--api-key-file", str(keys),
                                             "--admin-key-file", str(admin))),
             start_server(python_module_argv("fake_providers"),
                          env={"FAKE_PROVIDERS_API_KEYS": "file-key-0123456789", "FAKE_PROVIDERS_ADMIN_KEY": ADMIN})]
    try:
        for proc in procs:
            url = f"{proc.url}/v1/chat/completions"
            assert http("POST", url, CHAT, {"Authorization": "Bearer file-key-0123456789"}).status == 200
            assert http("POST", url, CHAT, {"Authorization": "Bearer other"}).status == 401
            assert http("GET", f"{proc.url}/_fake/journal").status == 401
            assert http("GET", f"{proc.url}/_fake/journal", headers={ADMIN_HEADER: ADMIN}).status == 200
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode("utf-8", "replace")
            assert "file-key-0123456789" not in cmdline and ADMIN not in cmdline
    finally:
        for proc in procs:
            proc.stop()
