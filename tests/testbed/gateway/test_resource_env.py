"""The gateway's resource from the standard environment, as the OpenTelemetry resource detectors
read it (SPEC 13, SIG-02): host and Kubernetes attributes that let the backend find spans by
host, pod and namespace."""

from __future__ import annotations

from testbed.gateway.resource_attrs import build_resource


def test_downward_api_variables_become_k8s_attributes() -> None:
    env = {"K8S_POD_NAME": "gw-7f9", "K8S_NAMESPACE_NAME": "llm", "K8S_NODE_NAME": "node-a",
           "K8S_POD_UID": "u-1", "K8S_CONTAINER_NAME": "gateway"}
    r = build_resource({}, env, instance_id="i", host_name="h", version="v")
    assert {k: r[k] for k in r if k.startswith("k8s.")} == {
        "k8s.pod.name": "gw-7f9", "k8s.namespace.name": "llm", "k8s.node.name": "node-a", "k8s.pod.uid": "u-1",
        "k8s.container.name": "gateway"}


def test_hostname_names_the_host_when_set_else_the_machines_name_does() -> None:
    pod = build_resource({}, {"HOSTNAME": "gw-7f9"}, instance_id="i", host_name="h", version="v")
    assert pod["host.name"] == "gw-7f9"
    assert build_resource({}, {}, instance_id="i", host_name="h", version="v")["host.name"] == "h"


def test_otel_resource_attributes_still_win_over_the_detected_ones() -> None:
    env = {"K8S_POD_NAME": "gw-7f9", "OTEL_RESOURCE_ATTRIBUTES": "k8s.pod.name=override"}
    assert build_resource({}, env, instance_id="i", host_name="h", version="v")["k8s.pod.name"] == "override"
