"""The seeded-defect catalogue of ``testbed selftest`` (RUN-05). Pure data.

Every check in :data:`testbed.checks.REGISTRY` has at least one defect here that it must catch.
A row names the switch (in ``testbed.gateway.defects`` or ``testbed.exporter.defects``), the check
that must catch it, the SPEC ids one of which the check's finding must cite, the shipped scenario
(``scenarios/<name>.yaml``) whose run exposes it, and the least severity that counts as caught.
That severity is the one the SPEC gives the broken rule: a wrong span kind is a SEM-02 warning and
an early retry after ``Retry-After`` an OTLP-09 warning, so those rows can only be ``warned``, never
caught (RUN-05); every check has a row that must be caught by a violation. A ``both`` row is
switched on in the gateway and the exporter at once (each holds one half of the defect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from testbed.checks.result import Severity

Component = Literal["gateway", "exporter", "both"]


@dataclass(frozen=True, slots=True)
class Defect:
    name: str
    component: Component
    check: str
    spec_ids: tuple[str, ...]
    scenario: str
    description: str
    severity: Severity = "violation"
    """The SPEC severity of the broken rule: ``violation`` rows must be caught, ``warning`` rows warned."""

    def in_component(self, component: str) -> bool:
        return self.component in (component, "both")


CATALOGUE: Final[tuple[Defect, ...]] = (
    Defect("deprecated_attribute_names", "exporter", "semconv", ("SEM-04", "SEM-23"), "baseline",
           "gen_ai.system and gen_ai.usage.prompt_tokens/completion_tokens replace the current names"),
    Defect("wrong_span_kind", "exporter", "semconv", ("SEM-02",), "baseline",
           "GenAI CLIENT spans are exported as INTERNAL although they call a remote provider", "warning"),
    Defect("wrong_usage", "gateway", "semconv-values", ("SEM-09",), "baseline",
           "output tokens are one more than the provider reported"),
    Defect("wrong_client_usage", "gateway", "client-view", ("FRONT-02",), "baseline",
           "the client's completion_tokens are one more than the provider's; the span keeps the right count"),
    Defect("gen_ai_on_server_span", "exporter", "gateway-spans", ("GW-01",), "baseline",
           "the SERVER span carries gen_ai.request.model"),
    Defect("drop_stream_usage", "gateway", "streaming", ("SEM-15",), "streaming",
           "streamed attempts lose the usage the provider sent"),
    Defect("end_span_at_headers", "gateway", "streaming", ("SEM-17",), "streaming",
           "streamed attempts end at the first chunk instead of the last"),
    Defect("drop_traceparent", "gateway", "propagation", ("PROP-03",), "trace-propagation",
           "upstream requests carry no traceparent (nor tracestate)"),
    Defect("new_trace_always", "gateway", "propagation", ("PROP-01", "PROP-02"), "trace-propagation",
           "the inbound traceparent is ignored: every request starts a new trace"),
    Defect("leak_content_when_excluded", "gateway", "redaction", ("RED-06", "RED-01", "RED-03"), "redaction-on",
           "request and output content are published on the bus although Exclude Request Data is on"),
    Defect("leak_content_at_ingest", "both", "redaction", ("RED-01",), "redaction-on",
           "the prompt reaches the ingest as gen_ai.input.messages while the bus stays clean"),
    Defect("lose_spans_on_retry", "exporter", "loss", ("LOSS-01", "LOSS-02"), "otlp-5xx-burst",
           "a retryable export failure acks the batch as exported instead of retrying it"),
    Defect("retry_on_400", "exporter", "exporter", ("OTLP-08",), "otlp-permanent-400",
           "a 400 from the ingest is retried"),
    Defect("ignore_retry_after", "exporter", "exporter", ("OTLP-09",), "otlp-throttled",
           "Retry-After is ignored and plain backoff decides the retry time", "warning"),
    Defect("wrong_metric_buckets", "exporter", "metrics", ("MET-01", "MET-02"), "genai-metrics",
           "the GenAI histograms use decimal buckets instead of the semconv boundaries"),
    Defect("drop_host_name", "exporter", "signals", ("SIG-02",), "signal-healthy",
           "host.name is removed from every span's resource, so spans cannot be found by host"),
    Defect("publish_in_request_path", "gateway", "isolation", ("ISO-01", "ISO-02"), "isolation",
           "each response waits on a synchronous OTLP export, so ingest trouble slows inference"),
    Defect("stall_request_path", "gateway", "latency", ("LAT-07",), "latency-budget-250rps",
           "each response waits 5 ms before it is written, more than twice the declared 2 ms p99 overhead budget"),
    Defect("raw_header_text", "gateway", "hostile", ("GW-01", "LOSS-01"), "hostile-input",
           "undecodable header bytes reach the bus as lone surrogates, so their SERVER spans cannot be encoded"),
    Defect("resend_exported_batch", "exporter", "duplicates", ("OTLP-05",), "otlp-down-long",
           "a batch the ingest accepted is sent once more, so its spans arrive twice with no kill to excuse it"),
)


def by_name(names: list[str] | tuple[str, ...] | None = None) -> tuple[Defect, ...]:
    """The named defects in catalogue order (all when ``names`` is empty); KeyError on an unknown name."""
    if not names:
        return CATALOGUE
    known = {d.name: d for d in CATALOGUE}
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(missing[0])
    return tuple(d for d in CATALOGUE if d.name in set(names))
