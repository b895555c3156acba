"""How the selftest switches a defect on and sees it in the spans (RUN-05, RUN-07): a gateway defect
travels in the gateway's environment, an exporter defect in the exporter's config, a ``both``
defect in both (its grade in the gateway half only); the ingest's spans are counted per
``testbed.defects`` value, untagged ones under ``""``."""

from __future__ import annotations

from testbed.selftest.catalogue import by_name
from testbed.selftest.switches import exporter_overrides, gateway_env, with_grade
from testbed.selftest.visible import tag_counts

INGEST, KEY = "http://127.0.0.1:4318", "k/ey"


def test_a_gateway_defect_and_its_grade_travel_in_the_gateway_environment_only() -> None:
    usage = by_name(["wrong_usage"])[0]
    assert gateway_env(usage, INGEST, KEY, "1/100") == {"TESTBED_GATEWAY_DEFECTS": "wrong_usage@1/100"}
    assert exporter_overrides(usage, "1/100") == {}


def test_the_blocking_export_defect_is_pointed_at_the_ingest_with_its_key_quoted() -> None:
    env = gateway_env(by_name(["publish_in_request_path"])[0], INGEST, KEY, "5ms")
    assert env == {"TESTBED_GATEWAY_DEFECTS": "publish_in_request_path@5ms",
                   "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{INGEST}/v1/traces",
                   "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "authorization=k%2Fey"}


def test_an_exporter_defect_and_its_grade_travel_in_the_exporter_config_only() -> None:
    loss = by_name(["lose_spans_on_retry"])[0]
    assert exporter_overrides(loss, "1/5000") == {"defects": {"lose_spans_on_retry@1/5000": True}}
    assert gateway_env(loss, INGEST, KEY, "1/5000") == {}


def test_a_both_defect_is_on_in_both_components_and_graded_in_the_gateway_half() -> None:
    leak = by_name(["leak_content_at_ingest"])[0]
    assert gateway_env(leak, INGEST, KEY, "1/10") == {"TESTBED_GATEWAY_DEFECTS": "leak_content_at_ingest@1/10"}
    assert exporter_overrides(leak, "1/10") == {"defects": {"leak_content_at_ingest": True}}


def test_no_defect_means_no_switch_anywhere() -> None:
    assert gateway_env(None, INGEST, KEY) == {} and exporter_overrides(None) == {}
    assert with_grade("wrong_usage", "") == "wrong_usage"


def _span(tag: object = None) -> dict[str, object]:
    attrs = {"service.name": {"type": "string", "value": "testbed-gateway"}}
    if tag is not None:
        attrs["testbed.defects"] = tag  # type: ignore[assignment]
    return {"resource": {"attributes": attrs}}


def test_spans_are_counted_per_defect_tag_and_untagged_ones_under_the_empty_tag() -> None:
    spans = [_span({"type": "string", "value": "wrong_usage"}), _span({"type": "string", "value": "wrong_usage"}),
             _span(), _span({"type": "int", "value": 3}), {"resource": None}]
    assert tag_counts(spans) == {"wrong_usage": 2, "": 3}
    assert tag_counts([]) == {}
