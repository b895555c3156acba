"""Seeded defects of the reference exporter, for ``testbed selftest`` only (RUN-05). Pure.

Off by default; turned on only by name, through the config section ``defects`` (a list of names,
or a mapping ``{name: true}`` so that section overrides merge) or the variable
``TESTBED_EXPORTER_DEFECTS`` (comma-separated; merged with the config). A name outside
:data:`EXPORTER_DEFECTS` is a :class:`~testbed.errors.ConfigError` naming the key path. With any
defect on, the exporter logs one warning at start and every span's resource carries
``testbed.defects`` (joined with the gateway's own, if any).

=============================  =====================================================  =============
switch                         what breaks                                            caught by
=============================  =====================================================  =============
wrong_span_kind                GenAI CLIENT spans exported as INTERNAL                 semconv (W)
deprecated_attribute_names     ``gen_ai.system``, ``gen_ai.usage.prompt_tokens`` ...   semconv
gen_ai_on_server_span          ``gen_ai.request.model`` on the SERVER span             gateway-spans
lose_spans_on_retry            a retryable failure acks the batch as if exported      loss
retry_on_400                   400 treated as retryable                                exporter
ignore_retry_after             ``Retry-After`` ignored, plain backoff used             exporter (W)
wrong_metric_buckets           GenAI histograms with decimal, not semconv, buckets      metrics
drop_host_name                 ``host.name`` removed from every span's resource         signals
leak_content_at_ingest         (exporter half) the gateway's compressed prompt is      redaction
                               expanded into ``gen_ai.input.messages`` after the
                               exclusion strip: content at the ingest, none on the bus
resend_exported_batch          a batch the ingest accepted is sent once more           duplicates
=============================  =====================================================  =============

Graded (RUN-07): ``lose_spans_on_retry@1/N`` loses 1 span in N (counted over every span mapped, never
sent nor counted as dropped) instead of whole batches on a retry.

Every defect is a substitute or a wrapper the service puts in place once, at start, and only when a
switch is on; the production code never tests a switch. :func:`span_mapper` wraps the mapping with
:func:`corrupt_spans`; :func:`retry_decider` wraps :func:`testbed.exporter.retry.decide` for the
trace sender; :func:`metric_instruments` gives the metrics export its instruments;
:func:`wrap_sender` wraps the sender. With no switch on, each returns the production object itself.
The retry defects reach the trace export only; the GenAI metrics export keeps the plain decision.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from testbed.defect_switches import RESOURCE_ATTRIBUTE, GradeKind, grade_of, parse_defects, tally_of
from testbed.exporter.genai_metrics import INSTRUMENTS, Instrument
from testbed.exporter.mapping import map_event
from testbed.exporter.retry import Action, AttemptResult, Decide, Decision, RetryPolicy, decide, retry_status
from testbed.exporter.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, SpanRecord
from testbed.trace_event import TraceEvent

if TYPE_CHECKING:
    from testbed.exporter.sender import GroupOutcome, Sender


WRONG_SPAN_KIND: Final = "wrong_span_kind"
DEPRECATED_ATTRIBUTE_NAMES: Final = "deprecated_attribute_names"
GEN_AI_ON_SERVER_SPAN: Final = "gen_ai_on_server_span"
LOSE_SPANS_ON_RETRY: Final = "lose_spans_on_retry"
RETRY_ON_400: Final = "retry_on_400"
IGNORE_RETRY_AFTER: Final = "ignore_retry_after"
WRONG_METRIC_BUCKETS: Final = "wrong_metric_buckets"
DROP_HOST_NAME: Final = "drop_host_name"
LEAK_CONTENT_AT_INGEST: Final = "leak_content_at_ingest"
RESEND_EXPORTED_BATCH: Final = "resend_exported_batch"

EXPORTER_DEFECTS: Final = frozenset({
    WRONG_SPAN_KIND, DEPRECATED_ATTRIBUTE_NAMES, GEN_AI_ON_SERVER_SPAN, LOSE_SPANS_ON_RETRY, RETRY_ON_400,
    IGNORE_RETRY_AFTER, WRONG_METRIC_BUCKETS, LEAK_CONTENT_AT_INGEST, DROP_HOST_NAME,
    RESEND_EXPORTED_BATCH,
})
"""The closed set of exporter defect switches."""

EXPORTER_GRADED: Final[dict[str, GradeKind]] = {LOSE_SPANS_ON_RETRY: "rarity"}
"""The switches that take a grade (RUN-07), and its kind."""

PAYLOAD_ATTRIBUTE: Final = "testbed.defect_payload"
"""Where the gateway half of ``leak_content_at_ingest`` hides the prompt (gzip, then base64)."""

DEFECTS_ENV: Final = "TESTBED_EXPORTER_DEFECTS"
"""Comma-separated exporter defect names, merged with the config's ``defects``. Default: none."""

DEPRECATED_NAMES: Final = {
    "gen_ai.provider.name": "gen_ai.system",
    "gen_ai.usage.input_tokens": "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.output_tokens": "gen_ai.usage.completion_tokens",
}
"""Current name -> the deprecated name ``deprecated_attribute_names`` writes instead (SPEC 2.6)."""


def exporter_defects(config_value: Any, environ: Mapping[str, str]) -> frozenset[str]:
    """The config's ``defects`` merged with :data:`DEFECTS_ENV`; unknown names raise ConfigError."""
    return parse_defects(config_value, environ, DEFECTS_ENV, EXPORTER_DEFECTS, EXPORTER_GRADED)


MapSpans = Callable[[TraceEvent, str], list[SpanRecord]]
"""The shape of :func:`~testbed.exporter.mapping.map_event`, the service's mapping step."""


def span_mapper(active: frozenset[str]) -> MapSpans:
    """The service's mapping step: ``map_event`` itself with no switch on, else ``map_event``
    followed by :func:`corrupt_spans` (which also tags every span with the switches)."""
    if not active:
        return map_event

    def map_and_corrupt(event: TraceEvent, scope_version: str = "") -> list[SpanRecord]:
        return corrupt_spans(map_event(event, scope_version), active)

    return map_and_corrupt


def corrupt_spans(spans: list[SpanRecord], active: frozenset[str]) -> list[SpanRecord]:
    """Apply the span defects and the ``testbed.defects`` resource tag; the identity when none is on."""
    if not active:
        return spans
    loss = grade_of(active, LOSE_SPANS_ON_RETRY)
    if loss is not None:
        tally = tally_of(active)
        spans = [s for s in spans if not tally.hit(LOSE_SPANS_ON_RETRY, loss)]
    if LEAK_CONTENT_AT_INGEST in active:
        spans = [_expand_payload(s) for s in spans]
    return [_corrupt(s, active) for s in spans]


def _expand_payload(span: SpanRecord) -> SpanRecord:
    """``leak_content_at_ingest`` (exporter half): runs after the exclusion strip, so the prompt
    the gateway hid in the resource reaches the ingest as ``gen_ai.input.messages``."""
    payload = span.resource.get(PAYLOAD_ATTRIBUTE)
    if not isinstance(payload, str):
        return span
    resource = {k: v for k, v in span.resource.items() if k != PAYLOAD_ATTRIBUTE}
    attrs = dict(span.attributes)
    if span.kind == KIND_CLIENT and "gen_ai.operation.name" in attrs:
        attrs["gen_ai.input.messages"] = gzip.decompress(base64.b64decode(payload)).decode()
    return dataclasses.replace(span, attributes=attrs, resource=resource)


def _corrupt(span: SpanRecord, active: frozenset[str]) -> SpanRecord:
    attrs = dict(span.attributes)
    kind = span.kind
    genai = "gen_ai.operation.name" in attrs
    if genai and span.kind == KIND_CLIENT and WRONG_SPAN_KIND in active:
        kind = KIND_INTERNAL
    if genai and DEPRECATED_ATTRIBUTE_NAMES in active:
        attrs = {DEPRECATED_NAMES.get(k, k): v for k, v in attrs.items()}
    if span.kind == KIND_SERVER and GEN_AI_ON_SERVER_SPAN in active and "gw.requested_model" in attrs:
        attrs["gen_ai.request.model"] = attrs["gw.requested_model"]
    tagged = set(active)
    prior = span.resource.get(RESOURCE_ATTRIBUTE)
    if isinstance(prior, str) and prior:
        tagged |= set(prior.split(","))
    resource = {**span.resource, RESOURCE_ATTRIBUTE: ",".join(sorted(tagged))}
    if DROP_HOST_NAME in active:  # the backend can no longer tie the span to its host (SIG-02)
        resource.pop("host.name", None)
    return dataclasses.replace(span, kind=kind, attributes=attrs, resource=resource)


def retry_decider(active: frozenset[str]) -> Decide:
    """The trace sender's retry decision: :func:`~testbed.exporter.retry.decide` itself unless a
    retry defect is on, else ``decide`` wrapped by each one (the graded ``lose_spans_on_retry@1/N``
    is a span defect and leaves the decision alone)."""
    decider: Decide = decide
    if RETRY_ON_400 in active:
        decider = _retrying_400(decider)
    if IGNORE_RETRY_AFTER in active:
        decider = _ignoring_retry_after(decider)
    if LOSE_SPANS_ON_RETRY in active:
        decider = _acking_retries(decider)
    return decider


def _retrying_400(inner: Decide) -> Decide:
    """``retry_on_400``: a 400 is retried like a 503 (OTLP-08 says drop it)."""

    def decider(result: AttemptResult, retry_index: int, remaining_s: float, policy: RetryPolicy,
                rng: random.Random, now_epoch_s: float) -> Decision:
        if result.error is None and not result.response_too_large and result.status == 400:
            return retry_status(400, result.retry_after, retry_index, remaining_s, policy, rng, now_epoch_s)
        return inner(result, retry_index, remaining_s, policy, rng, now_epoch_s)

    return decider


def _ignoring_retry_after(inner: Decide) -> Decide:
    """``ignore_retry_after``: the decision never sees a ``Retry-After``, so backoff decides (OTLP-09)."""

    def decider(result: AttemptResult, retry_index: int, remaining_s: float, policy: RetryPolicy,
                rng: random.Random, now_epoch_s: float) -> Decision:
        return inner(dataclasses.replace(result, retry_after=None), retry_index, remaining_s, policy, rng,
                     now_epoch_s)

    return decider


def _acking_retries(inner: Decide) -> Decide:
    """``lose_spans_on_retry``: a retry or a NAK becomes "exported", so the batch is acked unsent."""

    def decider(result: AttemptResult, retry_index: int, remaining_s: float, policy: RetryPolicy,
                rng: random.Random, now_epoch_s: float) -> Decision:
        decision = inner(result, retry_index, remaining_s, policy, rng, now_epoch_s)
        return Decision(Action.EXPORTED) if decision.action in (Action.RETRY, Action.NAK) else decision

    return decider


DECIMAL_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
"""What ``wrong_metric_buckets`` uses instead: a common default that is not the semconv's (MET-01..02)."""


def metric_instruments(active: frozenset[str]) -> dict[str, Instrument]:
    """The GenAI instruments the metrics export uses; ``wrong_metric_buckets`` swaps every boundary list."""
    if WRONG_METRIC_BUCKETS not in active:
        return dict(INSTRUMENTS)
    return {name: dataclasses.replace(i, boundaries=DECIMAL_BUCKETS) for name, i in INSTRUMENTS.items()}


class _ResendingSender:
    """``resend_exported_batch``: a batch of which the ingest accepted spans is sent once more, so
    those spans arrive twice although nothing was killed (OTLP-05)."""

    def __init__(self, inner: Sender) -> None:
        self._inner = inner

    async def export(self, groups: Sequence[Sequence[SpanRecord]]) -> list[GroupOutcome]:
        outcomes = await self._inner.export(groups)
        if any(o.exported for o in outcomes):
            await self._inner.export(groups)
        return outcomes

    def shutdown(self) -> None:
        self._inner.shutdown()


def wrap_sender(sender: Sender, active: frozenset[str]) -> Sender:
    """The sender the service uses: ``sender`` itself unless ``resend_exported_batch`` is on."""
    return _ResendingSender(sender) if RESEND_EXPORTED_BATCH in active else sender  # type: ignore[return-value]
