"""Seeded defects of the reference gateway, for ``testbed selftest`` only (RUN-05).

Each switch breaks one rule on purpose so that one check can prove it catches the break. They are
off by default and can only be turned on by name: the config key ``defects: [names]`` or the
variable ``TESTBED_GATEWAY_DEFECTS`` (comma-separated; both are merged). A name outside
:data:`GATEWAY_DEFECTS` is a :class:`~testbed.errors.ConfigError` naming the key path, so a typo
never starts a silently clean gateway. A gateway with any defect on logs one warning at start
(``seeded defects active: ...``) and carries the resource attribute ``testbed.defects``, so its
telemetry cannot pass for a real run.

=============================  =====================================================  =============
switch                         what breaks                                            caught by
=============================  =====================================================  =============
leak_content_when_excluded     content captured and published although excluded        redaction
publish_in_request_path        the response waits on a synchronous OTLP export         isolation
stall_request_path             each response waits 5 ms before it is written           latency
drop_stream_usage              streamed attempts lose their usage                      streaming
end_span_at_headers            streamed attempts end at the first chunk                streaming
wrong_usage                    output tokens off by one                                semconv-values
drop_traceparent               no ``traceparent``/``tracestate`` sent upstream         propagation
new_trace_always               the inbound ``traceparent`` is ignored: a new trace     propagation
wrong_client_usage             the client's ``completion_tokens`` are one too many     client-view
leak_content_at_ingest         (gateway half) the prompt rides gzip-compressed in      redaction
                               the resource, invisible on the bus; the exporter
                               half expands it into ``gen_ai.input.messages``
raw_header_text                undecodable header bytes go to the bus as lone          hostile
                               surrogates, not U+FFFD, so the exporter cannot encode
                               those SERVER spans
=============================  =====================================================  =============

Graded switches (RUN-07): ``wrong_usage@1/N`` and ``leak_content_at_ingest@1/N`` break 1 request in
N; ``stall_request_path@Xms`` stalls X ms; ``publish_in_request_path@Xms`` gives up the blocking
export after X ms, so the request path is blocked at most X ms while the ingest is slow.

Every defect is a substitute put in place once, by :func:`install` (called from ``create_app``), and
only when a switch is on: a wrapper around one of the request path's steps held in
:class:`~testbed.gateway.state.GatewayState` (``new_record``, ``captures_content``, ``build_event``,
``deliver``) or around the upstream client. With no switch on, :func:`install` returns the state it
was given, so the gateway runs the production steps and nothing on the request path tests a switch.
:func:`corrupt_event` (the event-level defects) is pure; :func:`before_delivery` is the one I/O
hook, awaited before a whole response is written.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Final

from testbed.defect_switches import GradeKind, announce, grade_of, parse_defects, tag_resource, tally_of
from testbed.gateway.tracecontext import decide
from testbed.trace_event import Attempt, TraceEvent, Usage

if TYPE_CHECKING:
    from aiohttp import web

    from testbed.gateway.config import ApiKeyConfig
    from testbed.gateway.events import RequestRecord
    from testbed.gateway.providers import UpstreamRequest
    from testbed.gateway.state import BuildEvent, Deliver, GatewayState, NewRecord, Upstream
    from testbed.gateway.upstream import UpstreamResponse


LEAK_CONTENT_WHEN_EXCLUDED: Final = "leak_content_when_excluded"
PUBLISH_IN_REQUEST_PATH: Final = "publish_in_request_path"
STALL_REQUEST_PATH: Final = "stall_request_path"
DROP_STREAM_USAGE: Final = "drop_stream_usage"
END_SPAN_AT_HEADERS: Final = "end_span_at_headers"
WRONG_USAGE: Final = "wrong_usage"
DROP_TRACEPARENT: Final = "drop_traceparent"
NEW_TRACE_ALWAYS: Final = "new_trace_always"
LEAK_CONTENT_AT_INGEST: Final = "leak_content_at_ingest"
RAW_HEADER_TEXT: Final = "raw_header_text"
WRONG_CLIENT_USAGE: Final = "wrong_client_usage"

GATEWAY_DEFECTS: Final = frozenset({
    LEAK_CONTENT_WHEN_EXCLUDED, PUBLISH_IN_REQUEST_PATH, STALL_REQUEST_PATH, DROP_STREAM_USAGE,
    END_SPAN_AT_HEADERS, WRONG_USAGE, DROP_TRACEPARENT, NEW_TRACE_ALWAYS, LEAK_CONTENT_AT_INGEST,
    RAW_HEADER_TEXT,
    WRONG_CLIENT_USAGE,
})
"""The closed set of gateway defect switches."""

GATEWAY_GRADED: Final[dict[str, GradeKind]] = {
    WRONG_USAGE: "rarity", LEAK_CONTENT_AT_INGEST: "rarity",
    STALL_REQUEST_PATH: "duration", PUBLISH_IN_REQUEST_PATH: "duration",
}
"""The switches that take a grade (``name@1/N`` or ``name@Xms``, RUN-07), and its kind."""

PAYLOAD_ATTRIBUTE: Final = "testbed.defect_payload"
"""Resource key of ``leak_content_at_ingest``'s gzip+base64 prompt (no canary byte on the bus)."""

DEFECTS_ENV: Final = "TESTBED_GATEWAY_DEFECTS"
"""Comma-separated gateway defect names, merged with the config's ``defects`` list. Default: none."""

STALL_S: Final = 0.005
"""The wait of ``stall_request_path`` before each response: more than twice the shipped 2 ms p99 overhead budget."""


def gateway_defects(config_value: Any, environ: Mapping[str, str]) -> frozenset[str]:
    """The config's ``defects`` merged with :data:`DEFECTS_ENV`; unknown names raise ConfigError."""
    return parse_defects(config_value, environ, DEFECTS_ENV, GATEWAY_DEFECTS, GATEWAY_GRADED)


def _on(active: frozenset[str], name: str) -> bool:
    """Whether ``name`` is switched on, graded or not."""
    return name in active or grade_of(active, name) is not None


@dataclass(frozen=True, slots=True)
class SyncExport:
    """Where ``publish_in_request_path`` sends its blocking OTLP request."""

    endpoint: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout_s: float | None = 10.0


@dataclass(frozen=True, slots=True)
class GatewayDefects:
    """The request-path defects bound to what they need, read by :func:`before_delivery`."""

    active: frozenset[str] = frozenset()
    sync_export: SyncExport | None = None

    @property
    def stalls(self) -> bool:
        """Whether a response must wait on :func:`stall_response`."""
        return self.sync_export is not None or _on(self.active, STALL_REQUEST_PATH)


def resolve(active: frozenset[str], environ: Mapping[str, str]) -> GatewayDefects:
    """Bind the switches to what they need; the OTLP target comes from the standard variables, and
    a graded ``publish_in_request_path@Xms`` gives up the export after X ms."""
    if not _on(active, PUBLISH_IN_REQUEST_PATH):
        return GatewayDefects(active)
    from testbed.exporter.otel_env import OtlpExplicit, resolve_otlp

    otlp = resolve_otlp(OtlpExplicit(), environ)
    grade = grade_of(active, PUBLISH_IN_REQUEST_PATH)
    timeout = grade.seconds if grade is not None else otlp.timeout_s
    return GatewayDefects(active, SyncExport(otlp.endpoint, otlp.headers, timeout))


def builds_with_content(active: frozenset[str]) -> bool:
    """Whether the event must be built with content although the request is excluded: both leaks
    need the prompt (one publishes it, one hides it compressed in the resource)."""
    return LEAK_CONTENT_WHEN_EXCLUDED in active or _on(active, LEAK_CONTENT_AT_INGEST)


def corrupt_event(event: TraceEvent, active: frozenset[str]) -> TraceEvent:
    """Apply the event-level defects; the identity when none of them is on. Rarity grades count
    requests on the switches' tally."""
    if RAW_HEADER_TEXT in active:
        event = raw_header_text(event)
    if _on(active, LEAK_CONTENT_AT_INGEST):
        event = _hide_prompt(event, tally_of(active).hit(LEAK_CONTENT_AT_INGEST, grade_of(active, LEAK_CONTENT_AT_INGEST)))
    wrong = _on(active, WRONG_USAGE) and tally_of(active).hit(WRONG_USAGE, grade_of(active, WRONG_USAGE))
    if not (wrong or active & {DROP_STREAM_USAGE, END_SPAN_AT_HEADERS}):
        return event
    attempts = [_corrupt_attempt(a, event.request.stream, active, wrong) for a in event.attempts]
    return replace(event, attempts=attempts)


class _RawTextEvent(TraceEvent):
    """An event serialised as a gateway that never repairs text would: lone surrogates as JSON escapes."""

    __slots__ = ()

    def to_json(self) -> bytes:
        return json.dumps(json.loads(self.json_text()), separators=(",", ":")).encode()


def raw_header_text(event: TraceEvent) -> TraceEvent:
    """``raw_header_text``: the User-Agent's replacement characters go out as the undecodable byte
    they stand for (0xFF read with ``surrogateescape``), and the event keeps them on the bus."""
    http = event.http
    if http.user_agent and "\ufffd" in http.user_agent:
        http = replace(http, user_agent=http.user_agent.replace("\ufffd", "\udcff"))
    values = {f.name: getattr(event, f.name) for f in fields(event)}
    return _RawTextEvent(**{**values, "http": http})


def _hide_prompt(event: TraceEvent, selected: bool) -> TraceEvent:
    """``leak_content_at_ingest`` (gateway half): the event leaves with no content, as exclusion
    requires; on a selected request the prompt rides gzip-compressed in the resource, where a byte
    scan of the bus cannot see it. Only requests the switch made carry content are touched."""
    content = event.request.content
    if not event.excluded or content is None:
        return event
    resource = dict(event.resource)
    if selected and content.messages:
        raw = gzip.compress(json.dumps(content.messages).encode())
        resource[PAYLOAD_ATTRIBUTE] = base64.b64encode(raw).decode()
    attempts = [replace(a, output_content=None) for a in event.attempts]
    return replace(event, request=replace(event.request, content=None), attempts=attempts, resource=resource)


def _corrupt_attempt(a: Attempt, stream: bool, active: frozenset[str], wrong: bool) -> Attempt:
    response = a.response
    if wrong and response.usage.output is not None:
        response = replace(response, usage=replace(response.usage, output=response.usage.output + 1))
    if stream and DROP_STREAM_USAGE in active:
        response = replace(response, usage=Usage())
    end_ns = a.end_ns
    if stream and END_SPAN_AT_HEADERS in active and a.first_chunk_ns is not None:
        end_ns = a.first_chunk_ns
    return replace(a, response=response, end_ns=end_ns)


def strip_trace_headers(headers: dict[str, str], active: frozenset[str]) -> dict[str, str]:
    """``drop_traceparent``: the upstream request carries no trace context at all."""
    if DROP_TRACEPARENT not in active:
        return headers
    return {k: v for k, v in headers.items() if k.lower() not in ("traceparent", "tracestate")}


async def before_delivery(defects: GatewayDefects, upstream: Upstream, response: web.StreamResponse) -> None:
    """Every request-path defect, awaited before a whole response is written; nothing when none is on."""
    if WRONG_CLIENT_USAGE in defects.active:
        miscount_client_usage(response)
    if defects.stalls:
        await stall_response(defects, upstream)


def miscount_client_usage(response: web.StreamResponse) -> None:
    """``wrong_client_usage``: the JSON answer's ``completion_tokens`` gain one; the span keeps the
    provider's count, so only a check that reads the answer sees it (FRONT-02)."""
    body = getattr(response, "body", None)
    if not isinstance(body, bytes):
        return
    try:
        doc = json.loads(body)
    except ValueError:
        return
    usage = doc.get("usage") if isinstance(doc, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        usage["completion_tokens"] += 1
        response.body = json.dumps(doc).encode()  # type: ignore[attr-defined]


async def stall_response(defects: GatewayDefects, upstream: Upstream) -> None:
    """The request-path defects, awaited before a whole response is written."""
    if _on(defects.active, STALL_REQUEST_PATH):
        grade = grade_of(defects.active, STALL_REQUEST_PATH)
        await asyncio.sleep(grade.seconds if grade is not None else STALL_S)
    if defects.sync_export is not None:
        await _export_now(defects.sync_export, upstream)


async def _export_now(target: SyncExport, upstream: Upstream) -> None:
    """An empty OTLP export (valid, zero spans) awaited like a blocking span processor would be;
    its outcome is ignored, only its duration matters."""
    from testbed.gateway.providers.base import UpstreamRequest

    headers = {**dict(target.headers), "Content-Type": "application/x-protobuf"}
    request = UpstreamRequest(url=target.endpoint, headers=headers, body=b"")
    with contextlib.suppress(Exception):
        async with upstream.open(request, headers, target.timeout_s or 3600.0, stream=False) as resp:
            await resp.read()


_EVENT_DEFECTS: Final = (RAW_HEADER_TEXT, LEAK_CONTENT_AT_INGEST, WRONG_USAGE, DROP_STREAM_USAGE, END_SPAN_AT_HEADERS)
"""The switches :func:`corrupt_event` acts on."""


def install(state: GatewayState, environ: Mapping[str, str]) -> GatewayState:
    """The gateway's state with every switched-on defect in place, announced in the log and named
    in the resource; ``state`` itself when none is on. Called once, at start, by ``create_app``."""
    active = state.config.defects
    if not active:
        return state
    announce(active, "gateway")
    upstream = _UntracedUpstream(state.upstream) if DROP_TRACEPARENT in active else state.upstream
    new_record = _new_trace(state.new_record) if NEW_TRACE_ALWAYS in active else state.new_record
    captures = _captures_excluded_too if LEAK_CONTENT_WHEN_EXCLUDED in active else state.captures_content
    build = _built_with_content(state.build_event) if builds_with_content(active) else state.build_event
    if any(_on(active, name) for name in _EVENT_DEFECTS):
        build = _corrupting(build, active)
    defects = resolve(active, environ)
    deliver = state.deliver
    if WRONG_CLIENT_USAGE in active or defects.stalls:
        deliver = _delivering_after(deliver, defects, upstream)
    return replace(state, resource=tag_resource(state.resource, active), upstream=upstream, new_record=new_record,
                   captures_content=captures, build_event=build, deliver=deliver)


class _UntracedUpstream:
    """``drop_traceparent``: the upstream link, with every request's trace context removed."""

    def __init__(self, inner: Upstream) -> None:
        self._inner = inner

    async def start(self) -> None:
        await self._inner.start()

    async def close(self) -> None:
        await self._inner.close()

    def open(self, request: UpstreamRequest, headers: dict[str, str], timeout_s: float,
             stream: bool) -> AbstractAsyncContextManager[UpstreamResponse]:
        return self._inner.open(request, strip_trace_headers(headers, frozenset({DROP_TRACEPARENT})), timeout_s,
                                stream)


def _new_trace(inner: NewRecord) -> NewRecord:
    """``new_trace_always``: the record's trace is decided as if no ``traceparent`` had come in."""

    def new_record(request: web.Request, state: GatewayState, operation: str, route: str,
                   key: ApiKeyConfig | None) -> RequestRecord:
        record = inner(request, state, operation, route, key)
        record.trace = decide(None, [], random_bytes=state.random_bytes)
        return record

    return new_record


def _captures_excluded_too(state: GatewayState, record: RequestRecord) -> bool:
    """``leak_content_when_excluded``: output content is captured whatever the exclusion says."""
    return state.config.capture_content


def _built_with_content(inner: BuildEvent) -> BuildEvent:
    """Both leaks: the event is built as if the request were not excluded, then labelled excluded."""

    def build(state: GatewayState, record: RequestRecord) -> TraceEvent:
        event = inner(state, replace(record, exclude=False))
        return replace(event, excluded=record.exclude)

    return build


def _corrupting(inner: BuildEvent, active: frozenset[str]) -> BuildEvent:
    def build(state: GatewayState, record: RequestRecord) -> TraceEvent:
        return corrupt_event(inner(state, record), active)

    return build


def _delivering_after(inner: Deliver, defects: GatewayDefects, upstream: Upstream) -> Deliver:
    async def deliver(request: web.Request, response: web.StreamResponse, record: RequestRecord) -> web.StreamResponse:
        await before_delivery(defects, upstream, response)
        return await inner(request, response, record)

    return deliver
