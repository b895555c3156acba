"""The ingest's admin key (testbed.admin_key): with one set, the query, fault and reset routes need
it in ``X-Admin-Key`` while OTLP export and ``/metrics`` stay as they were; without one they are
open. Keys come from ``FAKE_MIDDLEWARE_API_KEYS`` or ``--api-key-file``, never the command line."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from fake_middleware import MiddlewareServer, Settings
from testbed.admin_key import ADMIN_HEADER
from testbed.process import python_module_argv, start_server
from tests.fake_middleware.helpers import KEY, PB, request, span

ADMIN = "adm-ingest-0123456789"
ROUTES = [("GET", "/api/v1/stats"), ("GET", "/api/v1/spans"), ("POST", "/api/v1/reset"), ("GET", "/_faults"),
          ("POST", "/_faults/reset"), ("GET", "/_faults/timeline")]


async def _status(http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str]) -> int:
    async with http.request(method, url, headers=headers) as resp:
        return resp.status


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_with_an_admin_key_the_admin_routes_refuse_requests_without_it(
        http: aiohttp.ClientSession, method: str, path: str) -> None:
    server = MiddlewareServer(Settings(keys={"default": KEY}, admin_key=ADMIN))
    await server.start()
    try:
        assert await _status(http, method, server.url + path, {}) == 401
        assert await _status(http, method, server.url + path, {ADMIN_HEADER: "wrong"}) == 401
        assert await _status(http, method, server.url + path, {ADMIN_HEADER: ADMIN}) == 200
        assert await _status(http, "GET", server.url + "/metrics", {}) == 200
        body = request([span()]).SerializeToString()
        async with http.post(server.url + "/v1/traces", data=body,
                             headers={"Content-Type": PB, "Authorization": KEY}) as resp:
            assert resp.status == 200
    finally:
        await server.stop()


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_an_admin_key_the_admin_routes_are_open(
        mw: MiddlewareServer, http: aiohttp.ClientSession, method: str, path: str) -> None:
    assert await _status(http, method, mw.url + path, {}) == 200


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")


@pytest.mark.e2e
def test_keys_from_the_environment_and_a_file_stay_off_the_command_line(tmp_path: Path) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text("# tenants\nt2=file-key-0123456789\n")
    admin_file = tmp_path / "admin"
    admin_file.write_text(ADMIN + "\n")
    proc = start_server(python_module_argv("fake_middleware", "--port", "0", "--api-key-file", str(key_file),
                                           "--admin-key-file", str(admin_file)),
                        env={"FAKE_MIDDLEWARE_API_KEYS": "ignored-when-a-file-is-given"})
    env_proc = start_server(python_module_argv("fake_middleware", "--port", "0"),
                            env={"FAKE_MIDDLEWARE_API_KEYS": f"{KEY},t3=env-key-0123456789",
                                 "FAKE_MIDDLEWARE_ADMIN_KEY": ADMIN})
    try:
        assert proc.ready["tenants"] == ["t2"] and env_proc.ready["tenants"] == ["default", "t3"]
        for p in (proc, env_proc):
            assert not [k for k in (KEY, ADMIN, "file-key-0123456789", "env-key-0123456789") if k in _cmdline(p.pid)]
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(p.url + "/api/v1/stats"), timeout=10)
            assert refused.value.code == 401
            with urllib.request.urlopen(urllib.request.Request(p.url + "/api/v1/stats", headers={ADMIN_HEADER: ADMIN}),
                                        timeout=10) as resp:
                assert resp.status == 200
    finally:
        proc.stop()
        env_proc.stop()
