"""OTLP/HTTP ingest rules from a real aiohttp client: content types (OTLP-02), JSON rules (OTLP-03),
encodings and size limits (OTLP-04, OTLP-12), success and partial success (OTLP-05, OTLP-06),
error bodies (OTLP-07), auth (OTLP-14, MW-02, MW-03) and unknown paths (OTLP-01)."""

from __future__ import annotations

import asyncio
import json
import os
import zlib

import aiohttp
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from fake_middleware import MiddlewareServer, Settings
from fake_middleware.otlp_json import to_otlp_json
from tests.fake_middleware.helpers import JSON, KEY, PB, gz, headers, request, span

ALL_TYPES = {"s": "text", "b": True, "i": -7, "d": 2.5, "arr": ["a", 1, False], "kv": {"x": 1, "y": "z"},
             "raw": b"\x00\x01\xff", "big": 2**62}


async def post(http: aiohttp.ClientSession, mw: MiddlewareServer, body: bytes, hdrs: dict[str, str],
               path: str = "/v1/traces") -> tuple[int, bytes, aiohttp.ClientResponse]:
    async with http.post(mw.url + path, data=body, headers=hdrs) as resp:
        return resp.status, await resp.read(), resp


async def test_protobuf_export_gets_an_empty_success_response(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    status, body, resp = await post(http, mw, request([span(), span()]).SerializeToString(), headers())
    assert status == 200 and resp.content_type == PB
    assert not ExportTraceServiceResponse.FromString(body).HasField("partial_success")
    assert mw.store.count() == 2


async def test_json_body_is_stored_exactly_like_the_protobuf_body(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    trace_id, parent = os.urandom(16), os.urandom(8)
    req = request([span(trace_id, parent, attributes=ALL_TYPES, kind=2, status=2),
                   span(trace_id, parent=parent, name="child", attributes={"n": 1})], resource={"r": 1.5})
    await post(http, mw, req.SerializeToString(), headers())
    via_pb = [s.content() for s in mw.store.query()]
    attrs = via_pb[0]["attributes"]
    assert attrs["kv"] == {"type": "kvlist", "value": {"x": {"type": "int", "value": 1},
                                                       "y": {"type": "string", "value": "z"}}}
    assert attrs["raw"] == {"type": "bytes", "value": "AAH/"} and attrs["big"] == {"type": "int", "value": 2**62}
    assert [v["type"] for v in attrs["arr"]["value"]] == ["string", "int", "bool"]
    assert via_pb[0]["resource"]["attributes"]["r"] == {"type": "double", "value": 1.5}
    mw.store.reset()
    doc = to_otlp_json(req)
    assert doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == trace_id.hex()
    status, body, resp = await post(http, mw, json.dumps(doc).encode(), headers(JSON))
    assert status == 200 and resp.content_type == JSON and json.loads(body) == {}
    assert [s.content() for s in mw.store.query()] == via_pb


async def test_json_rules_uppercase_hex_numbers_for_int64_and_unknown_fields(mw: MiddlewareServer,
                                                                             http: aiohttp.ClientSession) -> None:
    doc = {"resourceSpans": [{"unknownThing": 1, "scopeSpans": [{"spans": [{
        "traceId": "0AF7651916CD43DD8448EB211C80319C", "spanId": "B7AD6B7169203331", "name": "x",
        "kind": 3, "startTimeUnixNano": 5, "endTimeUnixNano": "6", "snake_case_key": {"a": 1},
        "attributes": [{"key": "n", "value": {"intValue": "42"}}]}]}]}]}
    status, _, _ = await post(http, mw, json.dumps(doc).encode(), headers(JSON))
    assert status == 200
    (stored,) = mw.store.query()
    assert stored.trace_id == "0af7651916cd43dd8448eb211c80319c" and stored.end_ns == 6
    assert stored.attributes["n"] == {"type": "int", "value": 42}


async def test_json_enum_names_are_accepted_and_recorded_as_lenient(mw: MiddlewareServer,
                                                                   http: aiohttp.ClientSession) -> None:
    doc = to_otlp_json(request([span()]))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"] = "SPAN_KIND_CLIENT"
    status, _, _ = await post(http, mw, json.dumps(doc).encode(), headers(JSON))
    assert status == 200 and mw.store.query()[0].kind == 3
    assert "enum as name" in mw.store.requests()[-1].lenient[0]


async def test_base64_ids_in_json_are_refused_with_a_status_body(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    doc = to_otlp_json(request([span()]))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "AAECAwQFBgcICQoLDA0ODw=="
    status, body, resp = await post(http, mw, json.dumps(doc).encode(), headers(JSON))
    assert status == 400 and resp.content_type == JSON
    assert "hex" in json.loads(body)["message"] and mw.store.count() == 0


@pytest.mark.parametrize("content_type", [PB, JSON])
async def test_garbage_gets_400_with_a_status_in_the_request_content_type(mw: MiddlewareServer, http: aiohttp.ClientSession,
                                                                          content_type: str) -> None:
    status, body, resp = await post(http, mw, b"\xff\xfe garbage \x00", headers(content_type))
    assert status == 400 and resp.content_type == content_type
    message = json.loads(body)["message"] if content_type == JSON else status_pb2.Status.FromString(body).message
    assert message


async def test_unknown_content_type_and_encoding_get_415(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    body = request([span()]).SerializeToString()
    assert (await post(http, mw, body, headers("text/plain")))[0] == 415
    assert (await post(http, mw, body, {**headers(), "Content-Encoding": "br"}))[0] == 415
    assert mw.store.count() == 0


async def test_deflate_is_accepted_leniently(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    body = zlib.compress(request([span()]).SerializeToString())
    status, _, _ = await post(http, mw, body, {**headers(), "Content-Encoding": "deflate"})
    assert status == 200 and mw.store.count() == 1
    assert any("deflate" in note for note in mw.store.requests()[-1].lenient)


async def test_invalid_spans_are_rejected_through_partial_success(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    bad = [span(trace_id=b"\x01" * 8), span(span_id=b"\x00" * 8), span(start=10, end=5), span(parent=b"\x01\x02")]
    status, body, _ = await post(http, mw, request([span(), *bad]).SerializeToString(), headers())
    partial = ExportTraceServiceResponse.FromString(body).partial_success
    assert status == 200 and partial.rejected_spans == 4 and "end_time" in partial.error_message
    assert mw.store.count() == 1 and mw.store.stats()["spans_rejected"] == 4


async def test_empty_request_gets_200(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    assert (await post(http, mw, b"", headers()))[0] == 200


@pytest.mark.parametrize("auth", [None, "wrong", f"Basic {KEY}"], ids=["missing", "wrong", "other-scheme"])
async def test_missing_or_wrong_key_gets_401_and_nothing_is_stored(mw: MiddlewareServer, http: aiohttp.ClientSession,
                                                                   auth: str | None) -> None:
    status, body, _ = await post(http, mw, request([span()]).SerializeToString(), headers(key=auth))
    assert status == 401 and status_pb2.Status.FromString(body).message
    assert mw.store.count() == 0 and mw.store.stats()["bytes_wire"] == 0


async def test_bearer_is_accepted_by_default_and_recorded_as_such(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    status, _, _ = await post(http, mw, request([span()]).SerializeToString(), headers(key=f"Bearer {KEY}"))
    assert status == 200 and mw.store.requests()[-1].auth_form == "bearer"


async def test_raw_mode_refuses_bearer(http: aiohttp.ClientSession) -> None:
    server = await MiddlewareServer(Settings(keys={"t": KEY}, auth_mode="raw")).start()
    try:
        assert (await post(http, server, b"", headers(key=f"Bearer {KEY}")))[0] == 401
        assert (await post(http, server, b"", headers(key=KEY)))[0] == 200
    finally:
        await server.stop()


async def test_each_key_records_its_tenant_with_the_spans(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await post(http, mw, request([span()]).SerializeToString(), headers(key="other-key-987"))
    await post(http, mw, request([span()]).SerializeToString(), headers(key=KEY))
    assert [s.tenant for s in mw.store.query()] == ["tenant-b", "default"]
    assert mw.store.stats()["by_tenant"]["tenant-b"]["spans_accepted"] == 1


async def test_the_key_never_appears_in_recorded_requests(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    await post(http, mw, request([span()]).SerializeToString(), headers())
    assert KEY not in json.dumps([r.to_dict() for r in mw.store.requests()] + [mw.store.stats()])
    assert mw.store.canary(KEY.encode()) == []


async def test_unknown_path_gets_404_and_wrong_method_405_with_status_bodies(mw: MiddlewareServer,
                                                                            http: aiohttp.ClientSession) -> None:
    status, body, _ = await post(http, mw, b"", headers(), path="/")
    assert status == 404 and "v1/traces" in status_pb2.Status.FromString(body).message
    async with http.get(mw.url + "/v1/traces") as resp:
        assert resp.status == 405 and status_pb2.Status.FromString(await resp.read()).message


async def test_metrics_and_logs_are_accepted_and_kept_raw(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    for path in ("/v1/metrics", "/v1/logs"):
        status, body, _ = await post(http, mw, b"", headers(), path=path)
        assert status == 200
        assert (await post(http, mw, b"\xff\xff", headers(), path=path))[0] == 400
    assert [r.path for r in mw.store.requests()][:2] == ["/v1/metrics", "/v1/metrics"]


async def test_a_resent_body_is_a_retry_and_its_spans_are_duplicates(mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    body = request([span(), span()]).SerializeToString()
    await post(http, mw, body, headers())
    await post(http, mw, gz(body), headers(gzip_body=True))
    first, second = mw.store.requests()
    assert second.retry_of == first.id and second.retry_gap_ns is not None and second.retry_gap_ns >= 0
    assert mw.store.count() == 2 and second.duplicates == 2
    assert mw.store.stats()["spans_duplicate"] == 2 and mw.store.stats()["spans_duplicate_differing"] == 0


# -- size limits (OTLP-12) ---------------------------------------------------------------------


@pytest.fixture
async def small_mw() -> MiddlewareServer:
    server = await MiddlewareServer(Settings(keys={"default": KEY}, max_request_bytes=1024 * 1024)).start()
    yield server  # type: ignore[misc]
    await server.stop()


async def test_oversized_plain_body_gets_413(small_mw: MiddlewareServer, http: aiohttp.ClientSession) -> None:
    status, body, _ = await post(http, small_mw, b"\0" * (2 * 1024 * 1024), headers())
    assert status == 413 and status_pb2.Status.FromString(body).message
    assert small_mw.store.count() == 0


async def test_413_arrives_before_a_streamed_body_is_fully_sent(small_mw: MiddlewareServer,
                                                               http: aiohttp.ClientSession) -> None:
    sent = 0
    never = asyncio.Event()

    async def body():  # type: ignore[no-untyped-def]
        nonlocal sent
        for _ in range(4):
            sent += 512 * 1024
            yield b"\0" * (512 * 1024)
        await never.wait()  # the rest is only sent if the server keeps reading without answering
        yield b"\0" * (64 * 1024 * 1024)

    async with http.post(small_mw.url + "/v1/traces", data=body(), headers=headers()) as resp:
        assert resp.status == 413
    assert sent <= 2 * 1024 * 1024


async def test_gzip_bomb_is_refused_after_inflating_about_the_limit(small_mw: MiddlewareServer,
                                                                   http: aiohttp.ClientSession) -> None:
    member = gz(b"\0" * (1024 * 1024))
    bomb = member * 1024  # 1 GiB inflated, about 1 MiB on the wire (concatenated gzip members)
    status, _, _ = await post(http, small_mw, bomb, headers(gzip_body=True))
    assert status == 413
    (record,) = small_mw.store.requests()
    assert record.outcome == "too_large" and small_mw.store.stats()["bytes_decoded"] == 0
    assert record.decoded_bytes <= 1024 * 1024 + 256 * 1024


async def test_gzip_bomb_is_refused_before_its_wire_bytes_are_all_read(small_mw: MiddlewareServer,
                                                                       http: aiohttp.ClientSession) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = compressor.compress(b"\0" * (64 * 1024 * 1024)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    sent = 0
    never = asyncio.Event()

    async def body():  # type: ignore[no-untyped-def]
        nonlocal sent
        sent += len(chunk)
        yield chunk
        await never.wait()
        yield compressor.flush()

    async with http.post(small_mw.url + "/v1/traces", data=body(), headers=headers(gzip_body=True)) as resp:
        assert resp.status == 413
    assert sent == len(chunk) and len(chunk) < 1024 * 1024
