"""The gateway's OpenTelemetry resource (GW-05, GW-06, SPEC 5.1), pure.

Precedence, later wins: built-in defaults (``service.name=testbed-gateway``, the package version,
a ``service.instance.id`` UUID per process, ``host.name``), then what the environment says about
where the process runs, as the OpenTelemetry resource detectors read it (``K8S_ENV``), then the
config file's ``resource`` map, then ``OTEL_RESOURCE_ATTRIBUTES``, then ``OTEL_SERVICE_NAME``
(which the OpenTelemetry spec ranks above ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``).

``host.name`` is the machine's host name (the host detector's ``socket.gethostname()``), or
``HOSTNAME`` when set: in a Kubernetes pod both are the pod's name. These attributes let the
backend query spans by host and pod (SIG-02).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote

OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
"""``service.name`` of the gateway; default ``testbed-gateway``."""
OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"
"""``k1=v1,k2=v2`` (values percent-decoded) merged over the config's ``resource`` map."""
K8S_POD_NAME: Final = "K8S_POD_NAME"
K8S_NAMESPACE_NAME: Final = "K8S_NAMESPACE_NAME"
HOSTNAME: Final = "HOSTNAME"
K8S_ENV: Final = {
    K8S_POD_NAME: "k8s.pod.name",
    K8S_NAMESPACE_NAME: "k8s.namespace.name",
    "K8S_POD_UID": "k8s.pod.uid",
    "K8S_NODE_NAME": "k8s.node.name",
    "K8S_CONTAINER_NAME": "k8s.container.name",
    "K8S_DEPLOYMENT_NAME": "k8s.deployment.name",
    "K8S_CLUSTER_NAME": "k8s.cluster.name",
}
"""Downward-API variable -> resource attribute, the names the OpenTelemetry operator injects."""
DEFAULT_SERVICE_NAME: Final = "testbed-gateway"


def parse_resource_attributes(value: str) -> dict[str, str]:
    """Parse ``OTEL_RESOURCE_ATTRIBUTES``; malformed members are skipped, as the SDKs do."""
    out: dict[str, str] = {}
    for member in value.split(","):
        key, sep, raw = member.partition("=")
        if sep and key.strip():
            out[key.strip()] = unquote(raw.strip())
    return out


def build_resource(
    config_attrs: Mapping[str, str],
    environ: Mapping[str, str],
    *,
    instance_id: str,
    host_name: str,
    version: str,
) -> dict[str, str]:
    resource = {
        "service.name": DEFAULT_SERVICE_NAME,
        "service.version": version,
        "service.instance.id": instance_id,
        "host.name": environ.get(HOSTNAME) or host_name,
    }
    for variable, attribute in K8S_ENV.items():
        if environ.get(variable):
            resource[attribute] = environ[variable]
    resource.update(config_attrs)
    resource.update(parse_resource_attributes(environ.get(OTEL_RESOURCE_ATTRIBUTES, "")))
    if environ.get(OTEL_SERVICE_NAME):
        resource["service.name"] = environ[OTEL_SERVICE_NAME]
    return resource
