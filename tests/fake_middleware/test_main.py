"""``python -m fake_middleware``: the ready line, tenants from ``--api-key``, ``/metrics``, a
``down`` fault cleared over the admin port, and a clean exit on SIGTERM and SIGINT."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request

import pytest

from testbed.process import python_module_argv, start_server
from tests.fake_middleware.helpers import KEY, request, span

pytestmark = pytest.mark.e2e


def _post(url: str, data: bytes, hdrs: dict[str, str], method: str = "POST") -> int:
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ready_line_serves_and_exits_cleanly_on_a_signal(sig: int) -> None:
    proc = start_server(python_module_argv("fake_middleware", "--host", "127.0.0.1", "--port", "0",
                                           "--api-key", KEY, "--api-key", "t2=second-key", "--admin-port", "0"))
    try:
        assert proc.ready["service"] == "fake-middleware" and proc.ready["url"].startswith("http://127.0.0.1:")
        assert proc.ready["tenants"] == ["default", "t2"] and proc.ready["admin_url"] != proc.url
        body = request([span()]).SerializeToString()
        hdrs = {"Content-Type": "application/x-protobuf", "Authorization": "second-key"}
        assert _post(proc.url + "/v1/traces", body, hdrs) == 200
        with urllib.request.urlopen(proc.url + "/metrics", timeout=15) as resp:
            assert "fake_middleware_spans_accepted_total 1.0" in resp.read().decode()
        admin = proc.ready["admin_url"]
        fault = json.dumps({"name": "off", "kind": "down"}).encode()
        assert _post(admin + "/_faults", fault, {"Content-Type": "application/json"}) == 201
        with pytest.raises(urllib.error.URLError):
            _post(proc.url + "/v1/traces", body, hdrs)
        assert _post(admin + "/_faults/off", b"", {}, method="DELETE") == 200
        assert _post(proc.url + "/v1/traces", body, hdrs) == 200
        proc.signal(sig)
        assert proc.popen.wait(15) == 0
        assert KEY not in "".join(proc.lines) + proc.stderr_text()
    finally:
        proc.kill()


def test_bad_api_key_argument_exits_with_an_error() -> None:
    import subprocess

    result = subprocess.run(python_module_argv("fake_middleware", "--port", "0", "--api-key", "=x"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--api-key" in result.stderr
