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
=============================  =====================================================  =============

The span defects are applied by :func:`corrupt_spans` after mapping; the retry defects by
:func:`testbed.exporter.retry.decide` through ``RetryPolicy.defects``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from testbed.defect_switches import RESOURCE_ATTRIBUTE, parse_defects
from testbed.exporter.spans import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, SpanRecord


WRONG_SPAN_KIND: Final = "wrong_span_kind"
DEPRECATED_ATTRIBUTE_NAMES: Final = "deprecated_attribute_names"
GEN_AI_ON_SERVER_SPAN: Final = "gen_ai_on_server_span"
LOSE_SPANS_ON_RETRY: Final = "lose_spans_on_retry"
RETRY_ON_400: Final = "retry_on_400"
IGNORE_RETRY_AFTER: Final = "ignore_retry_after"

EXPORTER_DEFECTS: Final = frozenset({
    WRONG_SPAN_KIND, DEPRECATED_ATTRIBUTE_NAMES, GEN_AI_ON_SERVER_SPAN, LOSE_SPANS_ON_RETRY, RETRY_ON_400,
    IGNORE_RETRY_AFTER,
})
"""The closed set of exporter defect switches."""

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
    return parse_defects(config_value, environ, DEFECTS_ENV, EXPORTER_DEFECTS)


def corrupt_spans(spans: list[SpanRecord], active: frozenset[str]) -> list[SpanRecord]:
    """Apply the span defects and the ``testbed.defects`` resource tag; the identity when none is on."""
    if not active:
        return spans
    return [_corrupt(s, active) for s in spans]


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
    return dataclasses.replace(span, kind=kind, attributes=attrs, resource=resource)
