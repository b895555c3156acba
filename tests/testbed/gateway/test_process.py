"""The gateway as a process (``testbed gateway --config FILE``, the code behind
``testbed gateway``): it prints the ready line with its metrics URL, serves, and exits 0 on SIGTERM;
a bad config exits 2 naming the key path. Also the resource rules (GW-05, SPEC 5.1)."""

from __future__ import annotations

import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from testbed.gateway import default_config_path
from testbed.gateway.resource_attrs import build_resource, parse_resource_attributes
from testbed.process import python_module_argv, start_server


@pytest.mark.e2e
def test_the_process_prints_its_ready_line_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data = yaml.safe_load(Path(default_config_path()).read_text(encoding="utf-8"))
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    env = {"gateway_port": "0", "nats_url": "nats://127.0.0.1:9", "providers_url": "http://127.0.0.1:9"}
    proc = start_server(python_module_argv("testbed", "gateway", "--config", str(path)), env=env, timeout=60)
    try:
        assert proc.ready["service"] == "gateway"
        assert proc.ready["metrics"] == proc.url + "/metrics"
        with urllib.request.urlopen(proc.ready["metrics"], timeout=10) as resp:
            assert b"testbed_gateway_event_queue_depth" in resp.read()
        proc.signal(signal.SIGTERM)
        assert proc.popen.wait(30) == 0
    finally:
        proc.kill()


@pytest.mark.e2e
def test_a_bad_config_exits_2_and_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("listen: {port: many}\n", encoding="utf-8")
    done = subprocess.run(python_module_argv("testbed", "gateway", "--config", str(path)), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "listen.port" in done.stderr


def test_resource_precedence_is_defaults_then_config_then_env_attributes_then_service_name() -> None:
    environ = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs,team=a%20b,broken", "K8S_POD_NAME": "pod-1"}
    resource = build_resource({"service.version": "9", "team": "cfg"}, environ, instance_id="i-1", host_name="h",
                              version="0.1.0")
    assert resource == {"service.name": "from-attrs", "service.version": "9", "service.instance.id": "i-1",
                        "host.name": "h", "k8s.pod.name": "pod-1", "team": "a b"}
    resource = build_resource({}, {**environ, "OTEL_SERVICE_NAME": "svc"}, instance_id="i", host_name="h", version="v")
    assert resource["service.name"] == "svc"


def test_the_default_service_name_is_the_gateways() -> None:
    assert build_resource({}, {}, instance_id="i", host_name="h", version="v")["service.name"] == "testbed-gateway"
    assert parse_resource_attributes("") == {}

