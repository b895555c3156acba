"""The official OTel Python SDK (BatchSpanProcessor + OTLP/HTTP span exporter) against the ingest:
every attribute type the SDK can put on a span (string, bool, int, double, arrays of each, bytes)
arrives intact, with resource and scope, plain and gzip (OTLP-02, OTLP-04, OTLP-05, OTLP-16,
SEM-12 type fidelity, MW-02 raw key). kvlist values, which the SDK's span API does not take, are
covered by the hand-built protobuf and JSON requests in test_ingest.py."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from fake_middleware import SpanQuery, ThreadedMiddleware
from tests.fake_middleware.helpers import KEY


def _send(url: str, compression: Compression, service: str, key: str = KEY) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", headers={"authorization": key}, compression=compression)
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": "9.1"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("gateway.scope", "3.2.1")
    with tracer.start_as_current_span("POST /v1/chat/completions", kind=SpanKind.SERVER):
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as span:
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.request.stream", True)
            span.set_attribute("gen_ai.usage.input_tokens", 120)
            span.set_attribute("gen_ai.request.temperature", 0.5)
            span.set_attribute("gen_ai.response.finish_reasons", ["stop", "length"])
            span.set_attribute("gw.int_list", [1, 2, 3])
            span.set_attribute("gw.raw", b"\x00\x01\xfe")
            span.set_attribute("gw.flags", [True, False])
            span.set_attribute("gw.ratios", [0.25, 1.5])
            span.add_event("gen_ai.first_chunk", {"index": 0})
    assert provider.force_flush(10_000)
    provider.shutdown()


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip], ids=["plain", "gzip"])
def test_sdk_spans_are_returned_with_every_attribute_type_intact(threaded_mw: ThreadedMiddleware,
                                                                  compression: Compression) -> None:
    _send(threaded_mw.url, compression, "gw-sdk")
    spans = threaded_mw.wait_for(SpanQuery(service="gw-sdk"), 2, timeout=15)
    client = next(s for s in spans if s.name == "chat gpt-4o")
    server = next(s for s in spans if s.kind == 2)
    attrs = client.attributes
    assert attrs["gen_ai.request.model"] == {"type": "string", "value": "gpt-4o"}
    assert attrs["gen_ai.request.stream"] == {"type": "bool", "value": True}
    assert attrs["gen_ai.usage.input_tokens"] == {"type": "int", "value": 120}
    assert attrs["gen_ai.request.temperature"] == {"type": "double", "value": 0.5}
    assert client.attr("gen_ai.response.finish_reasons") == ["stop", "length"]
    assert [v["type"] for v in attrs["gw.int_list"]["value"]] == ["int", "int", "int"]
    assert attrs["gw.raw"]["type"] == "bytes" and client.attr("gw.raw") == b"\x00\x01\xfe"
    assert client.attr("gw.flags") == [True, False] and attrs["gw.ratios"]["value"][0]["type"] == "double"
    assert client.parent_span_id == server.span_id and client.trace_id == server.trace_id
    assert client.kind == 3 and client.events[0]["name"] == "gen_ai.first_chunk"
    assert client.resource.attributes["service.version"]["value"] == "9.1"
    assert client.scope.name == "gateway.scope" and client.scope.version == "3.2.1"
    assert client.tenant == "default"
    record = threaded_mw.call(threaded_mw.server.store.request, client.request_id)
    assert record.content_encoding == ("gzip" if compression is Compression.Gzip else "")
    assert record.auth_form == "raw" and "OTel-OTLP-Exporter-Python" in record.user_agent


def test_sdk_with_a_wrong_key_stores_nothing(threaded_mw: ThreadedMiddleware) -> None:
    _send(threaded_mw.url, Compression.Gzip, "gw-bad-key", key="not-the-key")
    store = threaded_mw.server.store
    threaded_mw.wait_until(lambda s: s.stats()["by_status"].get("401"), timeout=15, what="a 401")
    assert threaded_mw.call(store.count) == 0
    assert threaded_mw.call(store.stats)["bytes_decoded"] == 0
