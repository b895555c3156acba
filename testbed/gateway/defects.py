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
stall_request_path             the response waits 50 ms on a blocking call             latency
drop_stream_usage              streamed attempts lose their usage                      streaming
end_span_at_headers            streamed attempts end at the first chunk                streaming
wrong_usage                    output tokens off by one                                semconv-values
drop_traceparent               no ``traceparent``/``tracestate`` sent upstream         propagation
new_trace_always               the inbound ``traceparent`` is ignored: a new trace     propagation
=============================  =====================================================  =============

:func:`corrupt_event` (the event-level defects) is pure; :func:`stall_response` is the one I/O
hook, awaited before a whole response is written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from testbed.defect_switches import parse_defects
from testbed.trace_event import Attempt, TraceEvent, Usage

if TYPE_CHECKING:
    from testbed.gateway.upstream import UpstreamClient


LEAK_CONTENT_WHEN_EXCLUDED: Final = "leak_content_when_excluded"
PUBLISH_IN_REQUEST_PATH: Final = "publish_in_request_path"
STALL_REQUEST_PATH: Final = "stall_request_path"
DROP_STREAM_USAGE: Final = "drop_stream_usage"
END_SPAN_AT_HEADERS: Final = "end_span_at_headers"
WRONG_USAGE: Final = "wrong_usage"
DROP_TRACEPARENT: Final = "drop_traceparent"
NEW_TRACE_ALWAYS: Final = "new_trace_always"

GATEWAY_DEFECTS: Final = frozenset({
    LEAK_CONTENT_WHEN_EXCLUDED, PUBLISH_IN_REQUEST_PATH, STALL_REQUEST_PATH, DROP_STREAM_USAGE,
    END_SPAN_AT_HEADERS, WRONG_USAGE, DROP_TRACEPARENT, NEW_TRACE_ALWAYS,
})
"""The closed set of gateway defect switches."""

DEFECTS_ENV: Final = "TESTBED_GATEWAY_DEFECTS"
"""Comma-separated gateway defect names, merged with the config's ``defects`` list. Default: none."""

STALL_S: Final = 0.05
"""The blocking call of ``stall_request_path``: twice the shipped 25 ms p99 overhead budget."""


def gateway_defects(config_value: Any, environ: Mapping[str, str]) -> frozenset[str]:
    """The config's ``defects`` merged with :data:`DEFECTS_ENV`; unknown names raise ConfigError."""
    return parse_defects(config_value, environ, DEFECTS_ENV, GATEWAY_DEFECTS)


@dataclass(frozen=True, slots=True)
class SyncExport:
    """Where ``publish_in_request_path`` sends its blocking OTLP request."""

    endpoint: str
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout_s: float | None = 10.0


@dataclass(frozen=True, slots=True)
class GatewayDefects:
    active: frozenset[str] = frozenset()
    sync_export: SyncExport | None = None

    def __contains__(self, name: object) -> bool:
        return name in self.active

    @property
    def stalls(self) -> bool:
        """Whether a response must wait on :func:`stall_response`."""
        return self.sync_export is not None or STALL_REQUEST_PATH in self.active


def resolve(active: frozenset[str], environ: Mapping[str, str]) -> GatewayDefects:
    """Bind the switches to what they need; the OTLP target comes from the standard variables."""
    if PUBLISH_IN_REQUEST_PATH not in active:
        return GatewayDefects(active)
    from testbed.settings import OtlpExplicit, resolve_otlp

    otlp = resolve_otlp(OtlpExplicit(), environ)
    return GatewayDefects(active, SyncExport(otlp.endpoint, otlp.headers, otlp.timeout_s))


def corrupt_event(event: TraceEvent, active: frozenset[str]) -> TraceEvent:
    """Apply the event-level defects; the identity when none of them is on."""
    if not active & {DROP_STREAM_USAGE, END_SPAN_AT_HEADERS, WRONG_USAGE}:
        return event
    attempts = [_corrupt_attempt(a, event.request.stream, active) for a in event.attempts]
    return replace(event, attempts=attempts)


def _corrupt_attempt(a: Attempt, stream: bool, active: frozenset[str]) -> Attempt:
    response = a.response
    if WRONG_USAGE in active and response.usage.output is not None:
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


async def stall_response(defects: GatewayDefects, upstream: UpstreamClient) -> None:
    """The request-path defects, awaited before a whole response is written."""
    if STALL_REQUEST_PATH in defects.active:
        await asyncio.sleep(STALL_S)
    if defects.sync_export is not None:
        await _export_now(defects.sync_export, upstream)


async def _export_now(target: SyncExport, upstream: UpstreamClient) -> None:
    """An empty OTLP export (valid, zero spans) awaited like a blocking span processor would be;
    its outcome is ignored, only its duration matters."""
    from testbed.gateway.providers.base import UpstreamRequest

    headers = {**dict(target.headers), "Content-Type": "application/x-protobuf"}
    request = UpstreamRequest(url=target.endpoint, headers=headers, body=b"")
    with contextlib.suppress(Exception):
        async with upstream.open(request, headers, target.timeout_s or 3600.0, stream=False) as resp:
            await resp.read()
