"""Gateway span structure and resource check (SPEC 3.1): GW-01, GW-02, GW-05, GW-06.

GW-01 judges SERVER spans by the HTTP conventions; it applies when the gateway profile declares SERVER
spans (``expects_server_span``). GW-02 judges upstream CLIENT spans; the ``gw.*`` attributes are
our reference gateway's and are only required of it. GW-05/06 judge every span's resource.
"""

from __future__ import annotations

from collections import defaultdict

from testbed.checks.correlate import KIND_CLIENT, KIND_SERVER, genai_client_spans, spans_by_trace
from testbed.checks.evidence import Evidence, SpanView
from testbed.checks.result import CheckResult, FindingSink, conclude

NAME = "gateway-spans"
SPEC_IDS = ("GW-01", "GW-02", "GW-05", "GW-06")
_SERVER_REQUIRED = ("http.request.method", "url.path", "url.scheme")
_SERVER_CR = ("http.route", "http.response.status_code")
_SERVER_REC = ("server.address", "server.port", "network.protocol.version", "user_agent.original", "client.address")
_RESOURCE_REC = ("service.version", "service.instance.id", "host.name")


class GatewaySpansCheck:
    name = NAME
    spec_ids = SPEC_IDS

    def run(self, evidence: Evidence) -> CheckResult:
        st = evidence.settings
        sink = FindingSink(NAME, st.convention, st.name)
        if not evidence.spans:
            return conclude(NAME, SPEC_IDS, [], judged={"spans": 0}, inconclusive="no span reached the ingest")
        if st.expects_server_span:
            for trace in spans_by_trace(evidence.spans).values():
                for server in (s for s in trace if s.kind == KIND_SERVER):
                    check_server(server, [s for s in trace if s.kind == KIND_CLIENT], sink)
        clients = genai_client_spans(evidence.spans)
        for span in clients:
            check_client(span, st.reference_gateway, sink)
        check_resources(evidence.spans, st.in_kubernetes, st.exporter_service_names, sink)
        judged = {"spans": len(evidence.spans), "client_spans": len(clients)}
        return conclude(NAME, SPEC_IDS, sink.findings, judged=judged, details=judged)


def check_server(span: SpanView, clients: list[SpanView], sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    for name in _SERVER_REQUIRED + _SERVER_CR:
        if name not in span.attributes:
            sink.add("GW-01", "violation", "missing", f"SERVER span lacks {name}", attribute=name, **ids)
    for name in _SERVER_REC:
        if name not in span.attributes:
            sink.add("GW-01", "warning", "missing", f"SERVER span lacks recommended {name}", attribute=name, **ids)
    status = span.value("http.response.status_code")
    if isinstance(status, int) and status >= 500 and span.status_code != 2:
        sink.add("GW-01", "violation", "value", "a 5xx SERVER span must have status ERROR",
                 expected=2, actual=span.status_code, **ids)
    if isinstance(status, int) and 400 <= status < 500 and span.status_code != 0:
        sink.add("GW-01", "violation", "value", "a 4xx SERVER span must keep status UNSET",
                 expected=0, actual=span.status_code, **ids)
    for name in span.attributes:
        if name.startswith("gen_ai."):
            sink.add("GW-01", "violation", "value", "gen_ai.* attribute on the SERVER span", attribute=name, **ids)
    mine = [c for c in clients if c.parent_span_id == span.span_id]
    last = max(mine, key=lambda c: c.start_ns, default=None)
    last_status = last.value("http.response.status_code") if last is not None else None
    if isinstance(last_status, int) and last_status < 400 and span.status_code == 2:
        sink.add("GW-02", "violation", "value",
                 "the SERVER span is ERROR although a later attempt succeeded", **ids)


def check_client(span: SpanView, reference: bool, sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    status = span.attributes.get("http.response.status_code")
    if status is None:
        sink.add("GW-02", "warning", "missing", "CLIENT span lacks http.response.status_code",
                 attribute="http.response.status_code", **ids)
    elif status.type == "int" and status.value >= 400:
        if "error.type" not in span.attributes:
            sink.add("GW-02", "violation", "missing", "a failed attempt lacks error.type", attribute="error.type", **ids)
        if span.status_code != 2:
            sink.add("GW-02", "warning", "value", "a failed attempt does not have status ERROR",
                     expected=2, actual=span.status_code, **ids)
    resend = span.attributes.get("http.request.resend_count")
    if resend is not None and (resend.type != "int" or resend.value < 1):
        sink.add("GW-02", "violation", "value", "http.request.resend_count must be an int >= 1",
                 attribute="http.request.resend_count", actual=resend.plain(), **ids)
    if reference:
        for name in ("gw.attempt", "gw.target"):
            if name not in span.attributes:
                sink.add("GW-02", "violation", "missing", f"reference CLIENT span lacks {name}", attribute=name, **ids)


def check_resources(spans: tuple[SpanView, ...], in_k8s: bool, exporter_names: tuple[str, ...],
                    sink: FindingSink) -> None:
    """GW-05 once per distinct resource; GW-06 across spans of one process (instance id)."""
    seen: set[tuple] = set()
    by_instance: dict[str, set[tuple]] = defaultdict(set)
    for span in spans:
        key = tuple(sorted((k, repr(v)) for k, v in span.resource.items()))
        inst = span.resource.get("service.instance.id")
        if inst is not None:
            by_instance[str(inst.plain())].add(key)
        if key in seen:
            continue
        seen.add(key)
        _resource(span, in_k8s, exporter_names, sink)
    for inst, keys in by_instance.items():
        if len(keys) > 1:
            sink.add("GW-06", "violation", "value", "one process reports different resources on its spans",
                     attribute="service.instance.id", actual=inst)


def _resource(span: SpanView, in_k8s: bool, exporter_names: tuple[str, ...], sink: FindingSink) -> None:
    ids = {"trace_id": span.trace_id, "span_id": span.span_id}
    svc = span.resource.get("service.name")
    name = svc.plain() if svc is not None else None
    if not name:
        sink.add("GW-05", "violation", "missing", "resource lacks service.name", attribute="service.name", **ids)
    elif str(name).startswith("unknown_service"):
        sink.add("GW-05", "warning", "value", "service.name is the SDK fallback", attribute="service.name",
                 actual=name, **ids)
    elif name in exporter_names:
        sink.add("GW-06", "violation", "value", "the resource describes the exporter, not the gateway",
                 attribute="service.name", actual=name, **ids)
    for attr in _RESOURCE_REC:
        if attr not in span.resource:
            sink.add("GW-05", "warning", "missing", f"resource lacks {attr}", attribute=attr, **ids)
    if in_k8s:
        for attr in ("k8s.pod.name", "k8s.namespace.name"):
            if attr not in span.resource:
                sink.add("GW-05", "violation", "missing", f"resource lacks {attr} in Kubernetes", attribute=attr, **ids)
