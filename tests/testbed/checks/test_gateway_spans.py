"""Gateway span structure and resource (GW-01, GW-02, GW-05, GW-06): SERVER spans follow the HTTP
conventions, attempts carry their status, the resource names the gateway process consistently."""

from __future__ import annotations

from dataclasses import replace

import pytest

from testbed.checks.gateway_spans import GatewaySpansCheck
from tests.testbed.checks.builders import RESOURCE, attrs, evidence, ids, with_span_attrs

CHECK = GatewaySpansCheck()


def test_conforming_run_passes_without_warnings() -> None:
    result = CHECK.run(evidence(2, reference_gateway=False))
    assert result.outcome == "passed" and result.findings == ()


SERVER, CLIENT = 1, 0  # indexes of the first request's spans in builders.evidence
DEFECTS = [
    pytest.param(SERVER, {}, ("http.request.method",), {}, ("GW-01", "violation"), id="GW-01-method-missing"),
    pytest.param(SERVER, {}, ("user_agent.original",), {}, ("GW-01", "warning"), id="GW-01-recommended-missing"),
    pytest.param(SERVER, {"http.response.status_code": 404}, (), {"status_code": 2}, ("GW-01", "violation"),
                 id="GW-01-4xx-marked-error"),
    pytest.param(SERVER, {"http.response.status_code": 502}, (), {}, ("GW-01", "violation"), id="GW-01-5xx-unset"),
    pytest.param(SERVER, {"gen_ai.operation.name": "chat"}, (), {}, ("GW-01", "violation"), id="GW-01-gen-ai-on-server"),
    pytest.param(SERVER, {}, (), {"status_code": 2}, ("GW-02", "violation"), id="GW-02-server-error-after-success"),
    pytest.param(CLIENT, {"http.response.status_code": 503}, (), {}, ("GW-02", "violation"),
                 id="GW-02-failed-attempt-without-error-type"),
    pytest.param(CLIENT, {"http.request.resend_count": 0}, (), {}, ("GW-02", "violation"), id="GW-02-resend-count-zero"),
    pytest.param(CLIENT, {}, ("http.response.status_code",), {}, ("GW-02", "warning"), id="GW-02-no-upstream-status"),
]


@pytest.mark.parametrize(("index", "put", "drop", "fields", "expected"), DEFECTS)
def test_seeded_structure_defect_is_reported(index: int, put: dict, drop: tuple, fields: dict,
                                             expected: tuple[str, str]) -> None:
    ev = with_span_attrs(evidence(1), index, drop=drop, put=put, **fields)
    assert expected in ids(CHECK.run(ev))


def test_reference_gateway_must_carry_attempt_attributes_GW_02() -> None:
    assert ("GW-02", "violation") in ids(CHECK.run(evidence(1, reference_gateway=True)))


@pytest.mark.parametrize(("resource", "expected"), [
    ({k: v for k, v in RESOURCE.items() if k != "service.name"}, ("GW-05", "violation")),
    ({**RESOURCE, "service.name": "unknown_service:python"}, ("GW-05", "warning")),
    ({k: v for k, v in RESOURCE.items() if k != "host.name"}, ("GW-05", "warning")),
    ({**RESOURCE, "service.name": "testbed-exporter"}, ("GW-06", "violation")),
], ids=["GW-05-no-service-name", "GW-05-unknown-service", "GW-05-no-host-name", "GW-06-exporter-resource"])
def test_resource_defects_are_reported(resource: dict, expected: tuple[str, str]) -> None:
    ev = evidence(1, exporter_service_names=("testbed-exporter",))
    ev = replace(ev, spans=tuple(replace(s, resource=attrs(resource)) for s in ev.spans))
    assert expected in ids(CHECK.run(ev))


def test_kubernetes_requires_pod_and_namespace_GW_05() -> None:
    assert ("GW-05", "violation") in ids(CHECK.run(evidence(1, in_kubernetes=True)))


def test_one_process_with_two_resources_is_a_violation_GW_06() -> None:
    ev = evidence(2)
    spans = list(ev.spans)
    spans[2] = replace(spans[2], resource=attrs({**RESOURCE, "service.version": "2.0"}))
    assert ("GW-06", "violation") in ids(CHECK.run(replace(ev, spans=tuple(spans))))
